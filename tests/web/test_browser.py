"""The dashboard in a real browser: Playwright driving Debian's Chromium, headless.

Sign-in; each hold kind's panel and its actions through to the end state against the
sandbox; the "Yes, continue" confirmation; the CSV download; a school admin who cannot see
another school; a ``<script>`` name that never runs. Screenshots of the report in each hold
state go to ``test-artifacts/`` (git-ignored).

Chromium comes from Debian (``apt-get install chromium``), not from Playwright's download.
Without it these tests are skipped on a developer's machine and fail under CI.
"""

from __future__ import annotations

import copy
import csv
import io
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright import sync_api as playwright_api

from tests.web.conftest import DISTRICT_ADMIN, PASSWORD, SCHOOL_ADMIN, WebEnv

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
EVIL = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def chromium() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        message = f"{CHROMIUM} is missing; install it with 'apt-get install -y chromium'."
        if os.environ.get("CI"):
            pytest.fail(message + " CI must install it before the tests.")
        pytest.skip(message)
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium, web: WebEnv):  # type: ignore[no-untyped-def]
    context = chromium.new_context(base_url=web.url, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(30_000)
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.dialogs = dialogs
    yield page
    assert dialogs == [], "a script ran in the page"
    context.close()


def sign_in(page, email: str, password: str = PASSWORD, go: bool = True) -> None:  # type: ignore[no-untyped-def]
    if go:
        page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def screenshot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def flash_text(page) -> str:  # type: ignore[no-untyped-def]
    return str(page.locator(".flash").first.inner_text())


def test_sign_in_wrong_then_right_then_out(page, web: WebEnv) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"/schools/{web.own_school.id}")
    assert page.url.endswith(f"/login?next=/schools/{web.own_school.id}")
    sign_in(page, DISTRICT_ADMIN, "not the password", go=False)
    assert page.get_by_role("alert").inner_text().startswith("The email or password is not")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    assert page.title() == f"{web.own_school.name}: SIS sync report · rostersync"
    page.get_by_role("button", name="Sign out").click()
    assert page.title() == "Sign in · rostersync"
    assert "You are signed out." in flash_text(page)


def test_removals_hold_confirm_removals(page, web: WebEnv) -> None:  # type: ignore[no-untyped-def]
    school = web.own_school
    removed = web.state.remove_share_of_students(school.source_id, 0.4)
    web.sync()
    sign_in(page, SCHOOL_ADMIN)
    page.get_by_role("link", name=school.name).click()
    panel = page.locator("section.hold")
    assert panel.get_by_role("heading", level=2).inner_text() == "On hold: data removals"
    assert f"remove {len(removed)} of" in panel.inner_text()
    actions = panel.locator(".actions").get_by_role("button").all_inner_texts()
    links = panel.locator(".actions").get_by_role("link").all_inner_texts()
    assert (links, actions) == (["Check for new Clever data"], ["Confirm removals"])
    screenshot(page, "report-data_removals")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "report-data_removals-phone")
    page.set_viewport_size({"width": 1280, "height": 900})
    panel.get_by_role("button", name="Confirm removals").click()
    assert flash_text(page).startswith("Synced. Applied the reviewed change set")
    assert page.locator("section.hold").count() == 0
    assert page.locator(".meta .badge").first.inner_text() == "Healthy"
    screenshot(page, "report-after-confirm-removals")


def test_check_new_data_asks_yes_continue_and_cancel_changes_nothing(  # type: ignore[no-untyped-def]
    page, web: WebEnv
) -> None:
    school = web.own_school
    web.state.remove_share_of_students(school.source_id, 0.4)
    web.sync()
    sign_in(page, DISTRICT_ADMIN)
    page.goto(f"/schools/{school.id}")
    page.get_by_role("link", name="Check for new Clever data").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Check for new Clever data?"
    screenshot(page, "confirm-check-new-data")
    page.get_by_role("link", name="Cancel").click()
    assert page.locator("section.hold h2").inner_text() == "On hold: data removals"
    with web.store.unit_of_work() as uow:
        assert uow.list_actions(school.id) == []
    page.get_by_role("link", name="Check for new Clever data").click()
    page.get_by_role("button", name="Yes, continue").click()
    assert flash_text(page).startswith("Still on hold. Still on hold (data_removals)")
    assert page.get_by_role("status").count() == 1


def test_configuration_hold_fixed_in_clever_then_checked(page, web: WebEnv) -> None:  # type: ignore[no-untyped-def]
    school = web.own_school
    student = sorted(web.state.users_of_school(school.source_id, "student"))[0]
    record = copy.deepcopy(web.state.require("users", student))
    record["name"] = {"first": EVIL, "last": "Evil"}
    web.state.upsert_user(record)
    added = web.state.add_contacts(student, 6)
    web.sync()
    sign_in(page, DISTRICT_ADMIN)
    page.goto(f"/schools/{school.source_id}")
    panel = page.locator("section.hold")
    assert panel.get_by_role("heading", level=2).inner_text() == "On hold: data configuration"
    assert f"Student {EVIL} Evil ({student}) has" in panel.inner_text()
    assert panel.locator(".actions").get_by_role("button").count() == 0
    assert panel.locator(".actions").get_by_role("link").all_inner_texts() == [
        "Check for new Clever data"
    ]
    panel.locator("summary").first.click()
    assert "Added Contact 6 Evil" in panel.inner_text()
    screenshot(page, "report-data_configuration")

    page.get_by_role("link", name="Check for new Clever data").click()
    page.get_by_role("button", name="Yes, continue").click()
    assert flash_text(page).startswith("Still on hold. Still on hold (data_configuration)")

    for contact in added:
        web.state.delete_user(contact)
    page.get_by_role("link", name="Check for new Clever data").click()
    page.get_by_role("button", name="Yes, continue").click()
    assert flash_text(page).startswith("Synced. The data passed every rule")
    assert page.locator(".meta .badge").first.inner_text() == "Healthy"


def test_disconnected_hold_i_fixed_it(page, web: WebEnv) -> None:  # type: ignore[no-untyped-def]
    school = web.sibling_school
    web.state.unshare_school(school.source_id)
    web.sync()
    sign_in(page, DISTRICT_ADMIN)
    page.goto("/schools?state=on_hold")
    page.get_by_role("link", name=school.name).click()
    panel = page.locator("section.hold")
    assert panel.get_by_role("heading", level=2).inner_text() == "On hold: disconnected"
    assert "no longer in the data shared with this app" in panel.inner_text()
    assert panel.locator(".actions").get_by_role("button").all_inner_texts() == ["I fixed it"]
    screenshot(page, "report-disconnected")

    panel.get_by_role("button", name="I fixed it").click()
    alert = page.get_by_role("alert")
    assert alert.inner_text().startswith("Still disconnected. The sync failed (disconnected)")

    web.state.share_school(school.source_id)
    page.get_by_role("button", name="I fixed it").click()
    assert flash_text(page).startswith("Synced.")
    assert page.locator(".meta .badge").first.inner_text() == "Healthy"


def test_held_changes_download_as_csv(page, web: WebEnv, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    school = web.own_school
    removed = web.state.remove_share_of_students(school.source_id, 0.4)
    web.sync()
    sign_in(page, DISTRICT_ADMIN)
    page.goto(f"/schools/{school.id}/changes")
    page.get_by_label("Records", exact=True).select_option("students")
    page.get_by_label("Change", exact=True).select_option("removed")
    page.get_by_role("button", name="Filter").click()
    assert page.locator("table.cards caption").inner_text() == f"{len(removed)} changes"
    with page.expect_download() as info:
        page.get_by_role("link", name="Download these changes (CSV)").click()
    download = info.value
    assert download.suggested_filename == f"held-changes-{school.source_id}.csv"
    target = tmp_path / "changes.csv"
    download.save_as(str(target))
    rows = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8"))))
    assert sorted(r["key"] for r in rows) == sorted(removed)
    page.goto(f"/schools/{school.id}/runs")
    assert page.locator("svg[role=img]").count() == 2
    screenshot(page, "run-history")


def test_a_school_admin_cannot_see_another_school(page, web: WebEnv) -> None:  # type: ignore[no-untyped-def]
    sign_in(page, SCHOOL_ADMIN)
    names = page.locator("table.cards tbody th").all_inner_texts()
    assert names == [web.own_school.name]
    assert page.get_by_role("link", name="District settings").count() == 0
    response = page.goto(f"/schools/{web.sibling_school.id}")
    assert response is not None and response.status == 404
    assert page.title() == "Not found · rostersync"
    assert web.sibling_school.name not in page.content()
    response = page.goto(f"/districts/{web.district_id}/settings")
    assert response is not None and response.status == 404
