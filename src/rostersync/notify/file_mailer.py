"""Writes each outbox message to a ``.eml`` file instead of sending it.

For demos, development and tests: every email can be opened in a mail client or read as
text. The file is named after the outbox message id and replaced atomically, so sending the
same message again (a retry) overwrites it rather than leaving a second copy.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

from rostersync.notify.errors import DeliveryError
from rostersync.notify.rendering import DEFAULT_SENDER, render
from rostersync.service.model import OutboxMessage

_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


class FileMailer:
    """A ``Mailer`` that keeps one ``<message id>.eml`` per message in a directory."""

    def __init__(self, directory: str | os.PathLike[str], sender: str = DEFAULT_SENDER) -> None:
        self.directory = Path(directory)
        self.sender = sender

    def __repr__(self) -> str:
        return f"FileMailer({str(self.directory)!r})"

    def path_for(self, message: OutboxMessage) -> Path:
        """Where the message goes; an id unfit for a file name is replaced by its hash."""
        if _SAFE_NAME.fullmatch(message.id):
            name = message.id
        else:
            name = hashlib.sha256(message.id.encode("utf-8")).hexdigest()[:32]
        return self.directory / f"{name}.eml"

    def send(self, message: OutboxMessage) -> None:
        """Write the rendered message, replacing any earlier copy of it."""
        data = render(message, self.sender).as_bytes()
        target = self.path_for(message)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=self.directory, prefix=".", suffix=".tmp")
        except OSError as exc:
            raise DeliveryError(
                f"Could not write email {message.id} to {self.directory}: {exc}. "
                "Check ROSTERSYNC_EMAIL_FILE_DIR names a directory rostersync can write to."
            ) from exc
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(data)
            os.replace(temporary, target)
        except OSError as exc:
            Path(temporary).unlink(missing_ok=True)
            raise DeliveryError(f"Could not write email {message.id} to {target}: {exc}.") from exc
