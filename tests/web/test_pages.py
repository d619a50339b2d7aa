"""The dashboard's pages over HTTP: who sees which page, what the pages say, the forms,
the CSV downloads, times in the district's zone, and security headers."""

from __future__ import annotations

import csv
import io
import re

import pytest

from tests.web.conftest import DISTRICT_ADMIN, OTHER_ADMIN, SCHOOL_ADMIN, WebEnv, csrf_of

SCHOOL_PAGES = ["", "/changes", "/runs", "/check-new-data", "/changes.csv", "/problems.csv"]
SEES = {
    DISTRICT_ADMIN: {"own", "sibling"},
    SCHOOL_ADMIN: {"own"},
    OTHER_ADMIN: {"other"},
}


@pytest.mark.parametrize("which", ["own", "sibling", "other"])
@pytest.mark.parametrize("email", [DISTRICT_ADMIN, SCHOOL_ADMIN, OTHER_ADMIN])
def test_school_pages_exist_only_inside_the_admins_scope(
    shared_web: WebEnv, email: str, which: str
) -> None:
    school = {
        "own": shared_web.own_school,
        "sibling": shared_web.sibling_school,
        "other": shared_web.other_school,
    }[which]
    browser = shared_web.login(email)
    for suffix in SCHOOL_PAGES:
        for ref in (school.id, school.source_id):
            answer = browser.get(f"/schools/{ref}{suffix}")
            expected = 200 if which in SEES[email] else 404
            assert answer.status_code == expected, (email, which, suffix)
            if expected == 404:
                assert "<title>Not found · rostersync</title>" in answer.text
                assert school.name not in answer.text
    for suffix in ("/confirm-removals", "/reconnect", "/check-new-data"):
        token = csrf_of(browser.get("/schools").text)
        answer = browser.post(
            f"/schools/{school.id}{suffix}", data={"csrf_token": token, "confirm": "yes"}
        )
        assert answer.status_code == (303 if which in SEES[email] else 404)


@pytest.mark.parametrize("email", [DISTRICT_ADMIN, SCHOOL_ADMIN, OTHER_ADMIN])
def test_settings_pages_only_for_district_admins_of_that_district(
    shared_web: WebEnv, email: str
) -> None:
    browser = shared_web.login(email)
    for district_id, manager in (
        (shared_web.district_id, DISTRICT_ADMIN),
        (shared_web.other_district_id, OTHER_ADMIN),
    ):
        answer = browser.get(f"/districts/{district_id}/settings")
        assert answer.status_code == (200 if email == manager else 404)
        nav_link = f'href="/districts/{district_id}/settings"'
        assert (nav_link in browser.get("/schools").text) == (email == manager)


def test_every_page_has_a_title_a_main_landmark_and_the_security_headers(
    shared_web: WebEnv,
) -> None:
    browser = shared_web.login(DISTRICT_ADMIN)
    school = shared_web.own_school
    pages = [
        "/schools",
        f"/schools/{school.id}",
        f"/schools/{school.id}/changes",
        f"/schools/{school.id}/runs",
        f"/schools/{school.id}/check-new-data",
        f"/districts/{shared_web.district_id}/settings",
        "/account/tokens",
        "/schools/no-such-school",
    ]
    for path in pages:
        answer = browser.get(path)
        title = re.search(r"<title>(.+?) · rostersync</title>", answer.text)
        assert title and title.group(1).strip(), path
        assert '<main id="main">' in answer.text
        assert '<html lang="en">' in answer.text
        assert 'name="viewport"' in answer.text
        assert "<script" not in answer.text
        assert "script-src" not in answer.headers["content-security-policy"]
        assert "default-src 'none'" in answer.headers["content-security-policy"]
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["x-frame-options"] == "DENY"
    assert browser.get("/static/style.css").status_code == 200


def test_schools_page_summarises_and_filters(web: WebEnv) -> None:
    web.state.unshare_school(web.sibling_school.source_id)
    web.sync()
    browser = web.login(DISTRICT_ADMIN)
    page = browser.get("/schools").text
    assert "3 schools:\n    1 on hold (1 disconnected)," in page
    held = browser.get("/schools", params={"state": "on_hold"}).text
    assert web.sibling_school.name in held
    assert web.own_school.name not in held
    assert "1 school on hold" in held


def test_times_show_in_the_districts_time_zone(web: WebEnv) -> None:
    api = web.api("district")
    api.put(f"/api/v1/districts/{web.district_id}/settings", json={"timezone": "Asia/Tokyo"})
    page = web.login(DISTRICT_ADMIN).get(f"/schools/{web.own_school.id}").text
    assert re.search(r'<time datetime="[^"]+\+00:00">\d{4}-\d\d-\d\d \d\d:\d\d JST</time>', page)


def test_report_of_a_removals_hold_lists_counts_findings_and_actions(web: WebEnv) -> None:
    school = web.own_school
    removed = web.state.remove_share_of_students(school.source_id, 0.4)
    web.sync()
    page = web.login(SCHOOL_ADMIN).get(f"/schools/{school.id}").text
    assert "On hold: data removals" in page
    assert f"This sync would remove {len(removed)} of" in page
    assert 'href="/schools/' + school.id + '/check-new-data">Check for new Clever data</a>' in page
    assert ">Confirm removals</button>" in page
    assert "I fixed it" not in page
    assert "Download the held changes (CSV)" in page


def test_change_list_pages_filters_and_downloads(web: WebEnv) -> None:
    school = web.own_school
    removed = web.state.remove_share_of_students(school.source_id, 0.4)
    web.sync()
    browser = web.login(DISTRICT_ADMIN)
    base = f"/schools/{school.id}/changes"
    students = browser.get(base, params={"entity": "students", "op": "removed"}).text
    assert f"{len(removed)} changes" in students
    assert students.count('<span class="op op-removed">removed</span>') == len(removed)
    first = browser.get(base, params={"op": "removed"}).text
    total = int(re.search(r"(\d+) changes, page 1 of (\d+)", first).group(1))
    assert total > 50
    assert "Next page" in first
    assert first.count('<span class="op op-removed">removed</span>') == 50
    last_page = -(-total // 50)
    last = browser.get(base, params={"op": "removed", "page": last_page})
    assert "Previous page" in last.text
    assert "Next page" not in last.text
    assert last.text.count('<span class="op op-removed">removed</span>') == total - 50 * (
        last_page - 1
    )
    download = browser.get(f"{base}.csv", params={"entity": "students", "op": "removed"})
    assert download.headers["content-type"] == "text/csv; charset=utf-8"
    assert download.headers["content-disposition"].startswith("attachment;")
    rows = list(csv.DictReader(io.StringIO(download.text)))
    assert sorted(r["key"] for r in rows) == sorted(removed)
    everything = list(csv.DictReader(io.StringIO(browser.get(f"{base}.csv").text)))
    assert len(everything) > len(rows)


def test_configuration_hold_report_names_the_student_and_their_contacts(web: WebEnv) -> None:
    school = web.own_school
    student = sorted(web.state.users_of_school(school.source_id, "student"))[0]
    web.state.add_contacts(student, 6)
    web.sync()
    page = web.login(DISTRICT_ADMIN).get(f"/schools/{school.id}").text
    assert "On hold: data configuration" in page
    assert f"({student}) has " in page
    assert page.count("Added Contact ") >= 6
    assert ">Confirm removals<" not in page


def test_run_history_draws_both_charts(web: WebEnv) -> None:
    school = web.own_school
    web.state.remove_share_of_sections(school.source_id, 0.05)
    web.sync()
    page = web.login(DISTRICT_ADMIN).get(f"/schools/{school.id}/runs").text
    assert page.count('<svg viewBox="0 0 640 220" role="img"') == 2
    assert '<title id="chart-1-title">Roster size per run</title>' in page
    assert page.count('<circle class="point"') == 2
    assert '<rect class="bar bar-added"' in page
    assert '<rect class="bar bar-removed"' in page


def test_settings_form_shows_each_error_beside_its_field_and_saves_valid_input(
    web: WebEnv,
) -> None:
    browser = web.login(DISTRICT_ADMIN)
    url = f"/districts/{web.district_id}/settings"
    form = browser.get(url).text
    fields = {
        "removal_pct": "150",
        "removal_min": "ten",
        "removal_total": "500",
        "max_contacts": "5",
        "failures_before_disconnect": "3",
        "interval_minutes": "1440",
        "timezone": "UTC",
        "blocked": ["Emergency"],
        "csrf_token": csrf_of(form),
    }
    bad = browser.post(url, data=fields)
    assert bad.status_code == 422
    assert 'id="removal_min-error">Enter a whole number.' in bad.text
    assert 'value="ten"' in bad.text
    fields["removal_min"] = "12"
    bad = browser.post(url, data=fields)
    assert bad.status_code == 422
    assert 'aria-invalid="true"' in bad.text
    assert "The removal share must be 0 to 100 %." in bad.text
    fields["removal_pct"] = "20"
    saved = browser.post(url, data=fields)
    assert saved.status_code == 303
    page = browser.get(url).text
    assert "The settings are saved." in page
    assert "blocked contact types" in page
    assert "Emergency, Secondary" in page  # the old value in the log
    api = web.api("district").get(f"/api/v1/districts/{web.district_id}/settings").json()
    assert api["policy"]["removal_pct"] == 20
    assert api["policy"]["removal_min"] == 12
    assert api["policy"]["blocked_contact_types"] == ["Emergency"]
    assert [n["notify"] for n in api["notify"]] == [False, False]  # no box was ticked
