"""Hold emails through a real SMTP server on loopback (aiosmtpd): once per hold entry,
to the right people, and delivered after an outage."""

from __future__ import annotations

import socket
from email import message_from_bytes
from email.policy import default

import pytest
from aiosmtpd.controller import Controller

from rostersync.notify import SmtpMailer
from rostersync.service import districts
from rostersync.service.outbox import deliver_pending
from tests.integration.conftest import Env, decode_table


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def smtp(env: Env):
    port = free_port()
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    env.services.mailer = SmtpMailer(f"smtp://127.0.0.1:{port}", "rostersync@test.example")
    yield controller, inbox, port
    if controller._thread is not None:  # the outage test stops it itself
        controller.stop()


def test_one_email_per_hold_entry_to_school_and_district_admins(env: Env, smtp) -> None:
    _, inbox, _ = smtp
    env.sync()
    a, b, _ = (s["id"] for s in decode_table(env.data, "schools"))
    districts.add_admin(env.services, "principal.a@school.example", env.district_id, [a])
    districts.add_admin(env.services, "principal.b@school.example", env.district_id, [b])
    env.state.remove_share_of_students(a, 0.3)
    env.sync()
    env.sync()  # a re-check of the same hold sends nothing new
    assert len(inbox.messages) == 1
    recipients, content = inbox.messages[0]
    assert sorted(recipients) == ["boss@district.example", "principal.a@school.example"]
    message = message_from_bytes(content, policy=default)
    assert env.school(a).name in message["Subject"]
    assert "data removals" in message["Subject"].lower()


def test_an_email_written_while_smtp_is_down_arrives_when_it_is_back(env: Env, smtp) -> None:
    controller, inbox, port = smtp
    env.sync()
    a = decode_table(env.data, "schools")[0]["id"]
    controller.stop()
    env.state.remove_share_of_students(a, 0.3)
    env.sync()
    assert inbox.messages == []
    with env.store.unit_of_work() as uow:
        pending = uow.pending_emails()
    assert len(pending) == 1
    assert pending[0].attempts == 1
    restarted = Controller(inbox, hostname="127.0.0.1", port=port)
    restarted.start()
    try:
        assert deliver_pending(env.services).sent == 1
        assert deliver_pending(env.services).sent == 0
    finally:
        restarted.stop()
    assert len(inbox.messages) == 1
