"""SmtpMailer against a real SMTP server (aiosmtpd) on loopback: plain, STARTTLS, implicit
TLS, AUTH PLAIN and LOGIN, and the failures that must become a DeliveryError."""

from __future__ import annotations

import email
import email.policy
import socket
import ssl
import time
from urllib.parse import quote

import pytest

from rostersync.notify import DeliveryError, SmtpMailer, message_id_for
from tests.notify.conftest import SMTP_PASSWORD, SMTP_USER, RecordingHandler

SENDER = "rostersync <noreply@example.org>"
CREDENTIALS = f"{quote(SMTP_USER, safe='')}:{quote(SMTP_PASSWORD, safe='')}"


def parsed(content: bytes) -> email.message.EmailMessage:
    message = email.message_from_bytes(content, policy=email.policy.default)
    assert isinstance(message, email.message.EmailMessage)
    return message


def test_delivers_exactly_one_message_to_every_recipient(smtp_server, make_message):
    server = smtp_server()
    mailer = SmtpMailer(f"smtp://127.0.0.1:{server.port}", SENDER, timeout=5)

    mailer.send(make_message())

    assert len(server.received) == 1
    received = server.received[0]
    assert received.mail_from == "noreply@example.org"
    assert received.rcpt_tos == ["admin@lincoln.example.org", "district@example.org"]
    message = parsed(received.content)
    assert message["Subject"] == "Sync on hold for Lincoln Elementary: data removals"
    assert message["Message-ID"] == message_id_for("hold_entered:sch-1:run-42")
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    assert "rostersync hold confirm-removals 5f1a2b3c" in body.get_content()
    assert not received.tls and not received.authenticated


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
def test_starttls_with_auth_delivers_over_tls(smtp_server, make_message, certificate, mechanism):
    other = {"PLAIN": "LOGIN", "LOGIN": "PLAIN"}[mechanism]
    server = smtp_server(
        with_auth=True,
        tls_context=certificate.server_context(),
        require_starttls=True,
        auth_required=True,
        auth_exclude_mechanism=[other],
    )
    url = f"smtp://{CREDENTIALS}@127.0.0.1:{server.port}?starttls=true&verify=false"

    SmtpMailer(url, SENDER, timeout=5).send(make_message())

    assert server.handler.mechanisms == [mechanism]
    assert len(server.received) == 1
    assert server.received[0].tls and server.received[0].authenticated


def test_starttls_verifies_the_certificate_by_default(smtp_server, make_message, certificate):
    server = smtp_server(tls_context=certificate.server_context(), require_starttls=True)
    mailer = SmtpMailer(f"smtp://127.0.0.1:{server.port}?starttls=true", SENDER, timeout=5)

    with pytest.raises(DeliveryError, match="certificate") as caught:
        mailer.send(make_message())

    assert caught.value.retryable is False
    assert server.received == []


def test_starttls_accepts_a_certificate_the_given_context_trusts(
    smtp_server, make_message, certificate
):
    server = smtp_server(tls_context=certificate.server_context(), require_starttls=True)
    context = ssl.create_default_context(cafile=str(certificate.ca_file))
    url = f"smtp://127.0.0.1:{server.port}?starttls=true"

    SmtpMailer(url, SENDER, timeout=5, ssl_context=context).send(make_message())

    assert len(server.received) == 1 and server.received[0].tls


def test_smtps_uses_implicit_tls(smtp_server, make_message, certificate):
    # aiosmtpd only counts STARTTLS as TLS for AUTH; this connection is TLS from the start.
    server = smtp_server(
        with_auth=True, ssl_context=certificate.server_context(), auth_require_tls=False
    )
    url = f"smtps://{CREDENTIALS}@127.0.0.1:{server.port}?verify=false"

    SmtpMailer(url, SENDER, timeout=5).send(make_message())

    assert len(server.received) == 1
    assert server.received[0].tls and server.received[0].authenticated


def test_wrong_password_is_a_delivery_error_that_never_shows_the_password(
    smtp_server, make_message, certificate
):
    server = smtp_server(
        with_auth=True, tls_context=certificate.server_context(), auth_required=True
    )
    wrong = "Wr0ng-Pa55word"
    user = quote(SMTP_USER, safe="")
    url = f"smtp://{user}:{wrong}@127.0.0.1:{server.port}?starttls=true&verify=false"

    with pytest.raises(DeliveryError) as caught:
        SmtpMailer(url, SENDER, timeout=5).send(make_message())

    assert "user name or password" in str(caught.value)
    assert wrong not in str(caught.value)
    assert wrong not in repr(caught.value.args)
    assert caught.value.retryable is False
    assert server.received == []


def test_server_down_is_a_retryable_delivery_error_raised_at_once(make_message):
    with socket.socket() as probe:  # a loopback port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    mailer = SmtpMailer(f"smtp://127.0.0.1:{port}", SENDER, timeout=2)

    started = time.monotonic()
    with pytest.raises(DeliveryError, match=rf"127\.0\.0\.1:{port}") as caught:
        mailer.send(make_message())

    assert time.monotonic() - started < 2
    assert caught.value.retryable is True
    assert "It can be sent again later." in str(caught.value)


def test_server_that_never_answers_times_out_as_configured(make_message):
    with socket.socket() as silent:  # accepts connections (backlog) but never speaks
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        mailer = SmtpMailer(f"smtp://127.0.0.1:{silent.getsockname()[1]}", SENDER, timeout=0.3)

        with pytest.raises(DeliveryError, match="did not answer in time") as caught:
            mailer.send(make_message())

    assert caught.value.retryable is True


class RefusingHandler(RecordingHandler):
    """Refuses recipients in one domain (and its subdomains), as for a missing mailbox."""

    def __init__(self, domain: str) -> None:
        super().__init__()
        self.domain = domain

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.rpartition("@")[2].endswith(self.domain):
            return "550 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"


def test_every_recipient_refused_is_a_delivery_error_not_retried(smtp_server, make_message):
    server = smtp_server(handler=RefusingHandler("example.org"))
    mailer = SmtpMailer(f"smtp://127.0.0.1:{server.port}", SENDER, timeout=5)

    with pytest.raises(DeliveryError, match="refused every recipient") as caught:
        mailer.send(make_message())

    assert "550 No such user here" in str(caught.value)
    assert caught.value.retryable is False
    assert server.received == []


def test_some_recipients_refused_still_delivers_to_the_others(smtp_server, make_message, caplog):
    server = smtp_server(handler=RefusingHandler("lincoln.example.org"))
    mailer = SmtpMailer(f"smtp://127.0.0.1:{server.port}", SENDER, timeout=5)

    mailer.send(make_message())

    assert [r.rcpt_tos for r in server.received] == [["district@example.org"]]
    assert "admin@lincoln.example.org" in caplog.text
