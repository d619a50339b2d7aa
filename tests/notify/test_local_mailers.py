"""FileMailer (one .eml per message) and ConsoleMailer (a readable summary)."""

from __future__ import annotations

import email
import email.policy
import io

import pytest

from rostersync.notify import ConsoleMailer, DeliveryError, FileMailer, message_id_for


def test_file_mailer_writes_one_eml_named_after_the_message(tmp_path, make_message):
    mailer = FileMailer(tmp_path / "outbox", "noreply@example.org")

    mailer.send(make_message(message_id="msg-1"))

    files = list((tmp_path / "outbox").iterdir())
    assert [f.name for f in files] == ["msg-1.eml"]
    parsed = email.message_from_bytes(files[0].read_bytes(), policy=email.policy.default)
    assert parsed["Subject"] == "Sync on hold for Lincoln Elementary: data removals"
    assert parsed["To"] == "admin@lincoln.example.org, district@example.org"
    assert parsed["From"] == "noreply@example.org"
    assert parsed["Message-ID"] == message_id_for("hold_entered:sch-1:run-42")


def test_file_mailer_overwrites_a_message_sent_again(tmp_path, make_message):
    mailer = FileMailer(tmp_path)

    mailer.send(make_message(message_id="msg-1", records_total=3))
    mailer.send(make_message(message_id="msg-1", records_total=99))
    mailer.send(make_message(message_id="msg-2"))

    assert sorted(f.name for f in tmp_path.iterdir()) == ["msg-1.eml", "msg-2.eml"]
    assert b"and 96 more" in (tmp_path / "msg-1.eml").read_bytes()


def test_file_mailer_never_lets_a_message_id_leave_the_directory(tmp_path, make_message):
    mailer = FileMailer(tmp_path / "outbox")
    message = make_message(message_id="../../escape")

    mailer.send(message)

    assert mailer.path_for(message).parent == tmp_path / "outbox"
    assert [f.suffix for f in (tmp_path / "outbox").iterdir()] == [".eml"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["outbox"]


def test_file_mailer_that_cannot_write_raises_delivery_error(tmp_path, make_message):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the directory should be")

    with pytest.raises(DeliveryError, match="Could not write email msg-1"):
        FileMailer(blocker).send(make_message())


def test_console_mailer_prints_headers_and_the_text_body(make_message):
    stream = io.StringIO()

    ConsoleMailer(stream, sender="noreply@example.org").send(make_message())

    out = stream.getvalue()
    assert "From: noreply@example.org" in out
    assert "To: admin@lincoln.example.org, district@example.org" in out
    assert "Subject: Sync on hold for Lincoln Elementary: data removals" in out
    assert "rostersync hold confirm-removals 5f1a2b3c" in out
    assert "<html" not in out


def test_console_mailer_defaults_to_the_current_stdout(make_message, capsys):
    ConsoleMailer().send(make_message())

    assert "Subject: Sync on hold for Lincoln Elementary" in capsys.readouterr().out


def test_console_mailer_on_a_closed_stream_raises_delivery_error(make_message):
    stream = io.StringIO()
    stream.close()

    with pytest.raises(DeliveryError, match="Could not print email msg-1"):
        ConsoleMailer(stream).send(make_message())
