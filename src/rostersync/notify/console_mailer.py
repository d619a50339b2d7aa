"""Prints each outbox message instead of sending it.

For development and demos without a mail server: the headers a reader checks (From, To,
Subject) and the plain-text body, so the email can be read in a terminal or a log.
"""

from __future__ import annotations

import sys
from typing import TextIO

from rostersync.notify.errors import DeliveryError
from rostersync.notify.rendering import DEFAULT_SENDER, render
from rostersync.service.model import OutboxMessage


class ConsoleMailer:
    """A ``Mailer`` that writes a readable summary of each message to a text stream.

    Without a stream it writes to whatever ``sys.stdout`` is when a message is sent.
    """

    def __init__(self, stream: TextIO | None = None, sender: str = DEFAULT_SENDER) -> None:
        self.stream = stream
        self.sender = sender

    def __repr__(self) -> str:
        return "ConsoleMailer()"

    def send(self, message: OutboxMessage) -> None:
        """Print the message's headers and plain-text body."""
        email = render(message, self.sender)
        body = email.get_body(preferencelist=("plain",))
        text = "" if body is None else str(body.get_content())
        rule = "=" * 20
        lines = [
            f"{rule} email {message.id} {rule}",
            f"Message-ID: {email['Message-ID']}",
            f"From: {email['From']}",
            f"To: {email['To']}",
            f"Subject: {email['Subject']}",
            "",
            text.rstrip("\n"),
            f"{rule} end of email {message.id} {rule}",
            "",
        ]
        stream = self.stream if self.stream is not None else sys.stdout
        try:
            stream.write("\n".join(lines))
            stream.flush()
        except (OSError, ValueError) as exc:
            raise DeliveryError(f"Could not print email {message.id}: {exc}.") from exc
