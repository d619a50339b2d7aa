"""Sends outbox messages through an SMTP server, configured by one URL.

``smtp://[user:pass@]host[:port][?starttls=true]`` speaks plain SMTP (port 25), upgraded
with STARTTLS when asked (port 587 then); ``smtps://...`` uses implicit TLS (port 465).
Credentials are percent-decoded, and AUTH is used when they are given. ``verify=false``
turns certificate checks off: it is for tests and self-signed servers only, and unsafe
anywhere else. Every failure becomes a ``DeliveryError`` whose message names the server
but never the password.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import parseaddr
from urllib.parse import parse_qs, unquote, urlsplit

from rostersync.errors import ConfigurationError
from rostersync.notify.errors import DeliveryError
from rostersync.notify.rendering import render
from rostersync.service.model import OutboxMessage

log = logging.getLogger(__name__)

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})
_OPTIONS = frozenset({"starttls", "verify"})


@dataclass(frozen=True, slots=True)
class SmtpTarget:
    """Where and how to reach the SMTP server, parsed from ``ROSTERSYNC_SMTP_URL``."""

    host: str
    port: int
    implicit_tls: bool = False
    starttls: bool = False
    verify: bool = True
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    @property
    def display(self) -> str:
        """The URL without its password, fit for logs and error messages."""
        scheme = "smtps" if self.implicit_tls else "smtp"
        user = f"{self.username}@" if self.username else ""
        host = f"[{self.host}]" if ":" in self.host else self.host
        query = "?starttls=true" if self.starttls else ""
        return f"{scheme}://{user}{host}:{self.port}{query}"


def parse_smtp_url(url: str) -> SmtpTarget:
    """Read an ``smtp://`` or ``smtps://`` URL; a bad one raises ``ConfigurationError``."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("smtp", "smtps"):
        raise ConfigurationError(
            f"The SMTP URL must start with smtp:// or smtps://, not {parts.scheme or 'nothing'}; "
            "set ROSTERSYNC_SMTP_URL to e.g. smtp://user:password@mail.example.org:587?starttls=true."
        )
    if not parts.hostname:
        raise ConfigurationError("The SMTP URL names no host; set ROSTERSYNC_SMTP_URL to one.")
    if parts.path not in ("", "/"):
        raise ConfigurationError("The SMTP URL must not have a path; remove it.")
    options = _options(parts.query)
    implicit_tls = parts.scheme == "smtps"
    starttls = options.get("starttls", False)
    if implicit_tls and starttls:
        raise ConfigurationError(
            "An smtps:// URL already uses TLS; remove starttls=true or use smtp:// instead."
        )
    try:
        port = parts.port
    except ValueError:
        raise ConfigurationError(
            "The SMTP URL has a port that is not a number from 1 to 65535."
        ) from None
    return SmtpTarget(
        host=parts.hostname,
        port=port or (465 if implicit_tls else 587 if starttls else 25),
        implicit_tls=implicit_tls,
        starttls=starttls,
        verify=options.get("verify", True),
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
    )


def _options(query: str) -> dict[str, bool]:
    options: dict[str, bool] = {}
    for name, values in parse_qs(query, keep_blank_values=True).items():
        value = values[-1].strip().lower()
        if name not in _OPTIONS:
            known = ", ".join(sorted(_OPTIONS))
            raise ConfigurationError(
                f"The SMTP URL has an unknown option {name!r}; the options are: {known}."
            )
        if value not in _TRUE | _FALSE:
            raise ConfigurationError(
                f"The SMTP URL option {name} must be true or false, not {value!r}."
            )
        options[name] = value in _TRUE
    return options


class SmtpMailer:
    """A ``Mailer`` that renders each message and hands it to an SMTP server."""

    def __init__(
        self,
        url: str,
        sender: str,
        timeout: float = 10.0,
        *,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        if timeout <= 0:
            raise ConfigurationError("The SMTP timeout must be a positive number of seconds.")
        self.target = parse_smtp_url(url)
        self.sender = sender
        self.timeout = timeout
        self._ssl_context = ssl_context

    def __repr__(self) -> str:
        return f"SmtpMailer({self.target.display!r}, sender={self.sender!r})"

    def send(self, message: OutboxMessage) -> None:
        """Deliver one message, or raise ``DeliveryError`` saying why and whether to retry."""
        email = render(message, self.sender)
        try:
            with self._connect() as smtp:
                self._deliver(smtp, email, message)
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(self._failure(message, exc), retryable=_retryable(exc)) from exc

    def _connect(self) -> smtplib.SMTP:
        target = self.target
        if target.implicit_tls:
            return smtplib.SMTP_SSL(
                target.host, target.port, timeout=self.timeout, context=self._context()
            )
        smtp = smtplib.SMTP(target.host, target.port, timeout=self.timeout)
        if target.starttls:
            try:
                smtp.starttls(context=self._context())
            except BaseException:
                smtp.close()
                raise
        return smtp

    def _deliver(self, smtp: smtplib.SMTP, email: EmailMessage, message: OutboxMessage) -> None:
        if self.target.username:
            smtp.login(self.target.username, self.target.password or "")
        refused = smtp.send_message(
            email, from_addr=parseaddr(self.sender)[1], to_addrs=list(message.recipients)
        )
        if refused:
            # The others got it; sending again would give them a second copy.
            log.warning(
                "Email %s was delivered, but %s refused these recipients: %s.",
                message.id,
                self.target.display,
                ", ".join(sorted(refused)),
            )

    def _context(self) -> ssl.SSLContext:
        if self._ssl_context is None:
            context = ssl.create_default_context()
            if not self.target.verify:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            self._ssl_context = context
        return self._ssl_context

    def _failure(self, message: OutboxMessage, exc: BaseException) -> str:
        text = (
            f"Could not send email {message.id} through {self.target.display}: "
            f"{_describe(exc)}. "
            + (
                "It can be sent again later."
                if _retryable(exc)
                else "Check ROSTERSYNC_SMTP_URL and the recipients before sending it again."
            )
        )
        password = self.target.password
        return text.replace(password, "***") if password else text


def _describe(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        refused = "; ".join(
            f"{rcpt} ({code} {_reply(reply)})" for rcpt, (code, reply) in exc.recipients.items()
        )
        return f"the server refused every recipient: {refused}"
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        reply = f"{exc.smtp_code} {_reply(exc.smtp_error)}"
        return f"the server refused the user name or password ({reply})"
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"the server answered {exc.smtp_code} {_reply(exc.smtp_error)}"
    if isinstance(exc, TimeoutError) or isinstance(exc.__context__, TimeoutError):
        return "the server did not answer in time"
    return str(exc).rstrip(".") or type(exc).__name__


def _reply(raw: bytes | str) -> str:
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    return " ".join(text.split())


def _retryable(exc: BaseException) -> bool:
    """Temporary (4xx replies, network trouble) or not (5xx, bad credentials, bad TLS)."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(400 <= code < 500 for code, _ in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPAuthenticationError | smtplib.SMTPNotSupportedError):
        return False
    if isinstance(exc, smtplib.SMTPResponseException):
        return 400 <= exc.smtp_code < 500
    return not isinstance(exc, ssl.SSLCertVerificationError)
