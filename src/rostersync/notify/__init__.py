"""Email: renders outbox messages from per-kind templates and sends them.

The sync writes an ``OutboxMessage`` in the same transaction as a hold; the dispatcher in
the service layer later hands it to a ``Mailer`` from here (SMTP, ``.eml`` files or the
console) and marks it sent, or failed to retry. See docs/email.md.
"""

from __future__ import annotations

from rostersync.notify.backends import BACKENDS, mailer_from_settings
from rostersync.notify.console_mailer import ConsoleMailer
from rostersync.notify.errors import DeliveryError, RenderError, UnknownMessageKindError
from rostersync.notify.file_mailer import FileMailer
from rostersync.notify.rendering import DEFAULT_SENDER, KINDS, message_id_for, render
from rostersync.notify.smtp import SmtpMailer, SmtpTarget, parse_smtp_url

__all__ = [
    "BACKENDS",
    "DEFAULT_SENDER",
    "KINDS",
    "ConsoleMailer",
    "DeliveryError",
    "FileMailer",
    "RenderError",
    "SmtpMailer",
    "SmtpTarget",
    "UnknownMessageKindError",
    "mailer_from_settings",
    "message_id_for",
    "parse_smtp_url",
    "render",
]
