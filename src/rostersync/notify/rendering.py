"""Turns an outbox message into an email, from the templates of its kind.

Each message kind has a folder under ``templates/`` with ``subject.txt``, ``body.txt`` and
``body.html``. HTML is autoescaped (names come from the district's data); the subject is
flattened to one line so no value can add a header; the ``Message-ID`` is derived from the
message's dedupe key, so a message sent twice (a retry after a lost reply) can be recognised
downstream. Rendering is pure: the same message always gives the same email.
"""

from __future__ import annotations

import functools
import hashlib
import unicodedata
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

import jinja2
from markupsafe import Markup

from rostersync.notify.errors import RenderError, UnknownMessageKindError
from rostersync.notify.hold_entered import hold_entered_context
from rostersync.service.model import OutboxMessage

ContextBuilder = Callable[[Mapping[str, Any]], dict[str, Any]]

# Every kind the outbox may hold, with what turns its payload into a template context.
KINDS: dict[str, ContextBuilder] = {
    "hold_entered": hold_entered_context,
}
# The sender the local mailers use when none is configured (as ROSTERSYNC_EMAIL_FROM).
DEFAULT_SENDER = "rostersync@localhost"
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def render(message: OutboxMessage, sender: str) -> EmailMessage:
    """The email for an outbox message: multipart/alternative, plain text and HTML."""
    context = _context(message)
    subject = one_line(_template(message.kind, "subject.txt").render(context))
    text = _template(message.kind, "body.txt").render(context)
    html = _template(message.kind, "body.html").render(context)
    email = EmailMessage()
    try:
        email["Subject"] = subject
        email["From"] = sender
        email["To"] = ", ".join(_recipient(r) for r in message.recipients)
        email["Date"] = format_datetime(_aware(message.created_at))
        email["Message-ID"] = message_id_for(message.dedupe_key)
        email["Auto-Submitted"] = "auto-generated"
    except ValueError as exc:
        raise RenderError(f"Email {message.id} has a header that cannot be sent: {exc}.") from exc
    email.set_content(text)
    email.add_alternative(html, subtype="html")
    # A boundary from the content itself (not random), so rendering stays deterministic.
    email.set_boundary("=_rostersync_" + _digest(text + html))
    return email


def message_id_for(dedupe_key: str) -> str:
    """A ``Message-ID`` that is the same for every send of the same outbox message."""
    return f"<{_digest(dedupe_key)}@rostersync>"


def one_line(text: str) -> str:
    """Text fit for a header: control characters and line breaks become spaces."""
    kept = "".join(" " if _is_control(ch) else ch for ch in text)
    return " ".join(kept.split())


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def _context(message: OutboxMessage) -> dict[str, Any]:
    builder = KINDS.get(message.kind)
    if builder is None:
        known = ", ".join(sorted(KINDS))
        raise UnknownMessageKindError(
            f"Email {message.id} is of kind {message.kind!r}, which has no templates; "
            f"known kinds are: {known}."
        )
    if not message.recipients:
        raise RenderError(f"Email {message.id} has no recipients; add at least one address.")
    return builder(message.payload)


def _template(kind: str, name: str) -> jinja2.Template:
    try:
        return _environment().get_template(f"{kind}/{name}")
    except jinja2.TemplateNotFound:
        raise UnknownMessageKindError(
            f"The template {kind}/{name} is missing from the rostersync package; "
            "reinstall rostersync."
        ) from None


@functools.cache
def _environment() -> jinja2.Environment:
    """Built on first use, not at import time."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader("rostersync.notify", "templates"),
        autoescape=jinja2.select_autoescape(
            enabled_extensions=("html",), default_for_string=False, default=False
        ),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        finalize=_printable,
    )


def _printable(value: object) -> object:
    """Drop control characters (escape sequences, NUL, CR) from every printed value."""
    if isinstance(value, Markup) or not isinstance(value, str):
        return value
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    return "".join(ch for ch in value if ch in "\n\t" or not _is_control(ch))


def _is_control(ch: str) -> bool:
    return unicodedata.category(ch) in ("Cc", "Zl", "Zp") or ch in _BIDI_CONTROLS


def _recipient(address: str) -> str:
    """A bare address; anything that could smuggle in another recipient is refused."""
    local, at, domain = address.partition("@")
    if (
        not (local and at and domain)
        or "@" in domain
        or any(_is_control(ch) or ch.isspace() or ch in ',;<>"()[]\\' for ch in address)
    ):
        raise RenderError(f"{address!r} is not a plain email address; fix the admin's email.")
    return address


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
