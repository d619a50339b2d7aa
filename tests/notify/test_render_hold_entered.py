"""Rendering the ``hold_entered`` email: subject, body per hold kind, escaping, headers."""

from __future__ import annotations

import email
import email.policy
import pickle
from email.message import EmailMessage
from importlib import resources

import pytest

from rostersync.notify import (
    KINDS,
    DeliveryError,
    RenderError,
    UnknownMessageKindError,
    message_id_for,
    render,
)

SENDER = "rostersync <noreply@example.org>"


def text_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def html_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html",))
    assert part is not None
    return str(part.get_content())


def bodies(message: EmailMessage) -> tuple[str, str]:
    """Both bodies with line breaks and runs of spaces made single spaces, as a reader sees."""
    return " ".join(text_of(message).split()), " ".join(html_of(message).split())


def reparsed(message: EmailMessage) -> EmailMessage:
    """The email as a receiving server would parse it from the wire."""
    parsed = email.message_from_bytes(message.as_bytes(), policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


@pytest.mark.parametrize(
    ("hold_kind", "words"),
    [
        ("data_removals", "data removals"),
        ("data_configuration", "data configuration"),
        ("disconnected", "disconnected from Clever"),
    ],
)
def test_subject_names_the_school_and_the_hold_kind_in_words(make_message, hold_kind, words):
    rendered = render(make_message(hold_kind=hold_kind), SENDER)

    assert rendered["Subject"] == f"Sync on hold for Lincoln Elementary: {words}"


def test_email_is_multipart_alternative_with_text_and_html(make_message):
    rendered = reparsed(render(make_message(), SENDER))

    assert rendered.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in rendered.iter_parts()] == ["text/plain", "text/html"]


def test_headers_name_sender_recipients_date_and_a_message_id_from_the_dedupe_key(make_message):
    rendered = reparsed(render(make_message(), SENDER))

    assert rendered["From"] == SENDER
    assert rendered["To"] == "admin@lincoln.example.org, district@example.org"
    assert rendered["Date"] == "Tue, 03 Sep 2024 14:05:00 +0000"
    assert rendered["Message-ID"] == message_id_for("hold_entered:sch-1:run-42")
    assert rendered["Auto-Submitted"] == "auto-generated"


def test_message_id_is_the_same_for_the_same_dedupe_key_and_differs_otherwise(make_message):
    first = render(make_message(message_id="a"), SENDER)
    again = render(make_message(message_id="b"), SENDER)
    other = render(make_message(dedupe_key="hold_entered:sch-2:run-43"), SENDER)

    assert first["Message-ID"] == again["Message-ID"]
    assert first["Message-ID"] != other["Message-ID"]
    assert first["Message-ID"].startswith("<") and first["Message-ID"].endswith("@rostersync>")
    assert len(first["Message-ID"]) == len("<@rostersync>") + 32


def test_rendering_is_deterministic(make_message):
    assert render(make_message(), SENDER).as_bytes() == render(make_message(), SENDER).as_bytes()


def test_data_removals_body_explains_the_removals_and_both_ways_out(make_message):
    rendered = render(make_message(hold_kind="data_removals"), SENDER)

    for body in bodies(rendered):
        assert "would remove a large share" in body
        assert "students: 120" in body
        assert "enrollments: 840" in body
        assert "teachers: 0" not in body
        assert "Check for new Clever data" in body
        assert "Yes, continue" in body
        assert "Confirm removals" in body
        assert "rostersync hold check-new-data 5f1a2b3c" in body
        assert "rostersync hold confirm-removals 5f1a2b3c" in body
        assert "rostersync hold reconnect" not in body
        assert "This sync would remove 120 of 400 students" in body
        assert "Remove student Student 01 (6123abc01)" in body
        assert "Springfield Public Schools" in body
        assert "2024-09-03 14:05 UTC" in body


def test_body_lists_the_counts_of_every_entity_that_changed(make_message):
    text = text_of(render(make_message(), SENDER))

    assert "students: 2 added, 5 updated, 120 removed" in text
    assert "enrollments: 0 added, 0 updated, 840 removed" in text
    assert "teachers:" not in text


def test_data_configuration_body_asks_to_fix_the_share_then_check_for_new_data(make_message):
    finding = {
        "rule": "blocked_contact_type",
        "message": "Contact Rui Lima (c-9) is shared as a Emergency contact of student Ana Lima.",
        "subject": "c-9",
    }
    message = make_message(hold_kind="data_configuration", findings=[finding], counts={})
    rendered = render(message, SENDER)

    for body in bodies(rendered):
        assert "six or more contacts" in body
        assert "Emergency or Secondary" in body
        assert "remove the extra contacts" in body
        assert "Check for new Clever data" in body
        assert "Yes, continue" in body
        assert "rostersync hold check-new-data 5f1a2b3c" in body
        assert "Confirm removals" not in body
        assert "is shared as a Emergency contact of student Ana Lima" in body
        assert "blocked_contact_type" in body


def test_disconnected_body_shows_the_error_and_asks_to_reconnect(make_message):
    message = make_message(
        hold_kind="disconnected",
        error="Clever refused the district token (HTTP 401).",
        counts={},
        findings=[],
        records=[],
        records_total=0,
    )
    rendered = render(message, SENDER)

    for body in bodies(rendered):
        assert "lost its connection to Clever" in body
        assert "Clever refused the district token (HTTP 401)." in body
        assert "reinstall or reauthorise the app" in body
        assert "I fixed it" in body
        assert "rostersync hold reconnect 5f1a2b3c" in body
        assert "Records involved" not in body
        assert "RECORDS INVOLVED" not in body


def test_body_lists_the_first_20_records_then_and_n_more(make_message):
    records = [f"Remove student Student {i:02d} (id{i:02d})" for i in range(1, 26)]
    rendered = render(make_message(records=records, records_total=25), SENDER)

    for body in bodies(rendered):
        assert "Remove student Student 20 (id20)" in body
        assert "Remove student Student 21 (id21)" not in body
        assert "and 5 more" in body


def test_more_counts_records_the_payload_left_out(make_message):
    records = [f"Remove class Math {i}" for i in range(1, 21)]
    rendered = render(make_message(records=records, records_total=1234), SENDER)

    assert "and 1214 more" in text_of(rendered)


def test_no_and_more_line_when_every_record_is_shown(make_message):
    rendered = render(make_message(), SENDER)

    records = text_of(rendered).split("RECORDS INVOLVED")[1].split("FINDINGS")[0]
    assert "Remove student Student 03 (6123abc03)" in records
    assert "more" not in records
    assert " more<" not in html_of(rendered)


def test_html_escapes_names_from_the_data(make_message):
    message = make_message(
        school={"id": "sch-1", "name": "<script>alert(1)</script>", "source_id": "5f1"},
        records=["Remove student <script>alert(2)</script> (x1)"],
        records_total=1,
    )
    rendered = render(message, SENDER)
    html = html_of(rendered)

    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in html
    # Plain text is not HTML: the name reads as it is.
    assert "<script>alert(1)</script>" in text_of(rendered)
    assert rendered["Subject"] == "Sync on hold for <script>alert(1)</script>: data removals"


def test_subject_cannot_inject_headers(make_message):
    name = "Lincoln\r\nBcc: attacker@example.com\nX-Evil: 1"
    message = make_message(school={"id": "sch-1", "name": name, "source_id": "5f1"})
    rendered = render(message, SENDER)
    parsed = reparsed(rendered)

    assert "\r" not in rendered["Subject"] and "\n" not in rendered["Subject"]
    assert rendered["Subject"] == (
        "Sync on hold for Lincoln Bcc: attacker@example.com X-Evil: 1: data removals"
    )
    assert parsed["Bcc"] is None
    assert parsed["X-Evil"] is None


def test_control_characters_are_dropped_from_subject_and_text(make_message):
    name = "Lincoln\x1b[31m\x00 Elementary\u2028\u202e"
    rendered = render(make_message(school={"id": "s", "name": name, "source_id": "5f1"}), SENDER)

    assert rendered["Subject"] == "Sync on hold for Lincoln[31m Elementary: data removals"
    text = text_of(rendered)
    assert "\x1b" not in text and "\x00" not in text
    assert "Lincoln[31m Elementary" in text


def test_dashboard_link_is_shown_when_given(make_message):
    rendered = render(make_message(), SENDER)

    assert "https://rostersync.example.org/schools/sch-1" in text_of(rendered)
    assert '<a href="https://rostersync.example.org/schools/sch-1"' in html_of(rendered)


@pytest.mark.parametrize("url", [None, "javascript:alert(1)"])
def test_dashboard_link_is_left_out_without_a_web_url(make_message, url):
    rendered = render(make_message(dashboard_url=url), SENDER)

    assert "Open the SIS sync report" not in text_of(rendered)
    assert "<a " not in html_of(rendered)
    assert "javascript" not in html_of(rendered)


def test_changed_hold_kind_mentions_the_previous_one(make_message):
    message = make_message(hold_kind="disconnected", previous_kind="data_removals")

    assert "already on hold (data removals); the reason has changed" in text_of(
        render(message, SENDER)
    )


def test_school_without_source_id_is_referred_to_by_its_id(make_message):
    message = make_message(school={"id": "sch-1", "name": "Lincoln", "source_id": ""})

    assert "rostersync hold confirm-removals sch-1" in text_of(render(message, SENDER))


def test_unknown_kind_is_a_clear_error(make_message):
    with pytest.raises(
        UnknownMessageKindError, match=r"'weekly_digest'.*known kinds.*hold_entered"
    ):
        render(make_message(kind="weekly_digest"), SENDER)


def test_unknown_kind_is_a_delivery_error_that_is_not_retried(make_message):
    with pytest.raises(DeliveryError) as caught:
        render(make_message(kind="../../etc/passwd"), SENDER)

    assert caught.value.retryable is False


def test_unknown_hold_kind_is_a_clear_error(make_message):
    with pytest.raises(RenderError, match=r"hold_kind.*expected one of"):
        render(make_message(hold_kind="mystery"), SENDER)


def test_payload_without_a_school_name_is_a_clear_error(make_message):
    with pytest.raises(RenderError, match=r"school\.name"):
        render(make_message(school={"id": "sch-1"}), SENDER)


def test_message_without_recipients_is_refused(make_message):
    with pytest.raises(RenderError, match="no recipients"):
        render(make_message(recipients=()), SENDER)


@pytest.mark.parametrize(
    "recipient", ["a@x.org, b@y.org", "a@x.org\r\nBcc: b@y.org", "not-an-address", "<a@x.org>"]
)
def test_recipient_that_could_add_another_is_refused(make_message, recipient):
    with pytest.raises(RenderError, match="not a plain email address"):
        render(make_message(recipients=(recipient,)), SENDER)


def test_sender_with_a_line_break_is_refused(make_message):
    with pytest.raises(RenderError, match="header"):
        render(make_message(), "noreply@example.org\r\nBcc: b@y.org")


def test_errors_pickle_cleanly():
    error = pickle.loads(pickle.dumps(RenderError("The payload is wrong.")))

    assert isinstance(error, RenderError)
    assert str(error) == "The payload is wrong."
    assert error.retryable is False


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_kind_ships_its_three_templates_as_package_data(kind):
    folder = resources.files("rostersync.notify") / "templates" / kind

    for name in ("subject.txt", "body.txt", "body.html"):
        assert (folder / name).is_file(), f"{kind}/{name} is missing"
