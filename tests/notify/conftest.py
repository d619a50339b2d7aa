"""Fixtures for the email tests: outbox messages, a TLS certificate, a real SMTP server.

The SMTP server is aiosmtpd on loopback, on a port the OS picks; its handler records every
envelope, and its authenticator checks one user name and password.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from rostersync.service.model import OutboxMessage

SMTP_USER = "mailer@example.org"
SMTP_PASSWORD = "s3cret:p@ss/w%rd"


def hold_payload(kind: str = "data_removals", **overrides: Any) -> dict[str, Any]:
    """A ``hold_entered`` payload as the sync service writes it."""
    payload: dict[str, Any] = {
        "school": {"id": "sch-1", "name": "Lincoln Elementary", "source_id": "5f1a2b3c"},
        "district": {"id": "dist-1", "name": "Springfield Public Schools"},
        "hold_kind": kind,
        "previous_kind": None,
        "since": "2024-09-03T14:05:00+00:00",
        "run_id": "run-42",
        "counts": {
            "students": {"added": 2, "updated": 5, "removed": 120},
            "teachers": {"added": 0, "updated": 0, "removed": 0},
            "enrollments": {"added": 0, "updated": 0, "removed": 840},
        },
        "findings": [
            {
                "rule": "removal_share",
                "message": "This sync would remove 120 of 400 students (30 %), more than the "
                "10 % allowed.",
                "subject": "students",
            }
        ],
        "records": [f"Remove student Student {i:02d} (6123abc{i:02d})" for i in range(1, 4)],
        "records_total": 3,
        "error": "",
        "dashboard_url": "https://rostersync.example.org/schools/sch-1",
    }
    payload.update(overrides)
    return payload


MessageFactory = Callable[..., OutboxMessage]


@pytest.fixture
def make_message() -> MessageFactory:
    """Builds an outbox message; keyword arguments override the payload's fields."""

    def make(
        kind: str = "hold_entered",
        hold_kind: str = "data_removals",
        recipients: tuple[str, ...] = ("admin@lincoln.example.org", "district@example.org"),
        message_id: str = "msg-1",
        dedupe_key: str = "hold_entered:sch-1:run-42",
        **overrides: Any,
    ) -> OutboxMessage:
        return OutboxMessage(
            id=message_id,
            kind=kind,
            recipients=recipients,
            payload=hold_payload(hold_kind, **overrides),
            dedupe_key=dedupe_key,
            created_at=dt.datetime(2024, 9, 3, 14, 5, tzinfo=dt.UTC),
        )

    return make


@dataclass(frozen=True)
class Certificate:
    """A certificate for 127.0.0.1 and localhost, signed by a CA made for the test."""

    cert_file: Path
    key_file: Path
    ca_file: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    directory = tmp_path_factory.mktemp("tls")
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "rostersync test CA")])
    ca_cert = (
        _builder(ca_name, ca_name, ca_key.public_key(), now)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    cert = (
        _builder(subject, ca_name, key.public_key(), now)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    files = Certificate(directory / "cert.pem", directory / "key.pem", directory / "ca.pem")
    files.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files.ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    files.key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return files


def _builder(
    subject: x509.Name, issuer: x509.Name, public_key: Any, now: dt.datetime
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
    )


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes
    authenticated: bool
    tls: bool


@dataclass
class RecordingHandler:
    """Keeps every envelope the server accepts, and every AUTH mechanism tried."""

    received: list[Received] = field(default_factory=list)
    mechanisms: list[str] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append(
            Received(
                mail_from=envelope.mail_from,
                rcpt_tos=list(envelope.rcpt_tos),
                content=envelope.original_content or envelope.content,
                authenticated=bool(session.authenticated),
                tls=server.transport.get_extra_info("ssl_object") is not None,
            )
        )
        return "250 Message accepted for delivery"

    def authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        self.mechanisms.append(mechanism)
        ok = isinstance(auth_data, LoginPassword) and (
            auth_data.login.decode() == SMTP_USER and auth_data.password.decode() == SMTP_PASSWORD
        )
        return AuthResult(success=ok, handled=False)


class LoopbackController(Controller):  # type: ignore[misc]
    """An aiosmtpd controller on 127.0.0.1 and a port the OS picks (port 0)."""

    def __init__(self, handler: RecordingHandler, **kwargs: Any) -> None:
        super().__init__(
            handler, hostname="127.0.0.1", port=0, server_hostname="smtp.test", **kwargs
        )

    def _trigger_server(self) -> None:
        # The server is bound by now: learn the port it got before the readiness probe.
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


@dataclass
class SmtpServer:
    controller: LoopbackController
    handler: RecordingHandler

    @property
    def port(self) -> int:
        return int(self.controller.port)

    @property
    def received(self) -> list[Received]:
        return self.handler.received


ServerFactory = Callable[..., SmtpServer]


@pytest.fixture
def smtp_server() -> Iterator[ServerFactory]:
    """Starts aiosmtpd servers (keyword arguments go to aiosmtpd) and stops them after."""
    started: list[SmtpServer] = []

    def start(
        *, handler: RecordingHandler | None = None, with_auth: bool = False, **kwargs: Any
    ) -> SmtpServer:
        handler = handler or RecordingHandler()
        if with_auth:
            kwargs["authenticator"] = handler.authenticate
        controller = LoopbackController(handler, **kwargs)
        controller.start()
        server = SmtpServer(controller, handler)
        started.append(server)
        return server

    yield start
    for server in started:
        server.controller.stop()
