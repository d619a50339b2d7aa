"""A student named ``<script>alert(1)</script>`` is text everywhere: report, change list,
CSV, API and email."""

from __future__ import annotations

import copy
import csv
import io

from rostersync.notify.rendering import render
from tests.web.conftest import DISTRICT_ADMIN, WebEnv

EVIL = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


def make_evil_student(web: WebEnv) -> str:
    school = web.own_school
    student_id = sorted(web.state.users_of_school(school.source_id, "student"))[0]
    record = copy.deepcopy(web.state.require("users", student_id))
    record["name"] = {"first": EVIL, "last": EVIL}
    web.state.upsert_user(record)
    web.sync()
    return student_id


def test_a_script_name_is_text_in_pages_csv_api_and_email(web: WebEnv) -> None:
    student_id = make_evil_student(web)
    web.state.add_contacts(student_id, 6)  # contacts named "Added Contact N <script>..."
    web.sync()
    school = web.own_school
    browser = web.login(DISTRICT_ADMIN)

    report = browser.get(f"/schools/{school.id}").text
    assert "On hold: data configuration" in report
    assert f"Student {ESCAPED} {ESCAPED} ({student_id}) has " in report
    assert f"<li>Added Contact 6 {ESCAPED} (" in report
    assert "<script" not in report

    changes = browser.get(f"/schools/{school.id}/changes", params={"entity": "contacts"}).text
    assert f"Added Contact 1 {ESCAPED}" in changes
    assert "<script" not in changes

    download = browser.get(f"/schools/{school.id}/changes.csv")
    assert download.headers["content-type"].startswith("text/csv")
    assert download.headers["x-content-type-options"] == "nosniff"
    names = [row["name"] for row in csv.DictReader(io.StringIO(download.text))]
    assert any(name.startswith(f"Added Contact 1 {EVIL}") for name in names)

    api = web.api("district").get(f"/api/v1/schools/{school.id}/report").json()
    messages = [f["message"] for f in api["school"]["hold"]["findings"]]
    assert any(EVIL in m for m in messages)

    (message,) = web.mailer.sent
    email = render(message, "rostersync@localhost")
    html = email.get_body(("html",)).get_content()
    text = email.get_body(("plain",)).get_content()
    assert ESCAPED in html
    assert "<script" not in html
    assert EVIL in text
