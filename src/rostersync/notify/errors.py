"""Errors of the email adapter.

The outbox dispatcher catches ``DeliveryError`` to mark a message failed and try it again
later; ``retryable`` tells it whether a later attempt can succeed (a server that is down)
or not (a message that cannot be rendered). Like every rostersync error they keep plain
``args`` so they pickle cleanly, and their messages never carry a password.
"""

from __future__ import annotations

from rostersync.errors import RostersyncError


class DeliveryError(RostersyncError):
    """An email could not be handed over to its destination (SMTP server, file, console)."""

    def __init__(self, message: str, retryable: bool = True) -> None:
        super().__init__(message, retryable)
        self.message = message
        self.retryable = retryable

    def __str__(self) -> str:
        return self.message


class RenderError(DeliveryError):
    """An outbox message cannot be turned into an email: its payload is not what its kind
    needs. Sending it again will not help, so it is never retryable."""

    def __init__(self, message: str, retryable: bool = False) -> None:
        super().__init__(message, retryable)


class UnknownMessageKindError(RenderError):
    """An outbox message names a kind that has no templates."""
