"""Chooses the mailer the settings ask for.

The composition root calls ``mailer_from_settings`` with ``ROSTERSYNC_EMAIL_BACKEND``,
``ROSTERSYNC_SMTP_URL``, ``ROSTERSYNC_EMAIL_FROM`` and ``ROSTERSYNC_EMAIL_FILE_DIR``; a
missing or contradictory setting fails here, at start-up, not at the first email.
"""

from __future__ import annotations

from rostersync.errors import ConfigurationError
from rostersync.notify.console_mailer import ConsoleMailer
from rostersync.notify.file_mailer import FileMailer
from rostersync.notify.smtp import SmtpMailer
from rostersync.service.ports import Mailer

BACKENDS: tuple[str, ...] = ("smtp", "file", "console")


def mailer_from_settings(
    backend: str, smtp_url: str | None, sender: str, file_dir: str | None
) -> Mailer:
    """The ``Mailer`` for a backend name: ``smtp``, ``file`` or ``console``."""
    name = backend.strip().lower()
    if name == "smtp":
        if not smtp_url:
            raise ConfigurationError(
                "ROSTERSYNC_EMAIL_BACKEND is smtp but ROSTERSYNC_SMTP_URL is not set; set it "
                "(e.g. smtp://user:password@mail.example.org:587?starttls=true), or set "
                "ROSTERSYNC_EMAIL_BACKEND to file or console."
            )
        return SmtpMailer(smtp_url, sender)
    if name == "file":
        if not file_dir:
            raise ConfigurationError(
                "ROSTERSYNC_EMAIL_BACKEND is file but ROSTERSYNC_EMAIL_FILE_DIR is not set; "
                "set it to the directory the .eml files should go to."
            )
        return FileMailer(file_dir, sender)
    if name == "console":
        return ConsoleMailer(sender=sender)
    raise ConfigurationError(
        f"ROSTERSYNC_EMAIL_BACKEND is {backend!r}; set it to one of: {', '.join(BACKENDS)}."
    )
