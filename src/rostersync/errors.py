"""Errors shared by every layer.

They live outside ``domain`` so that adapters can raise them and the service layer can
classify them without importing an adapter. Every error pickles cleanly (plain ``args``),
so it can cross a Celery boundary, and its message is a full sentence that says what to do.
"""

from __future__ import annotations


class RostersyncError(Exception):
    """Base class of every error rostersync raises on purpose."""


class ConfigurationError(RostersyncError):
    """A setting is missing or invalid."""


class SourceError(RostersyncError):
    """The roster source could not deliver a complete, trustworthy answer.

    ``retryable`` tells the caller whether the same request may succeed later
    (rate limits, 5xx, timeouts) or not (bad token, bad request).
    """

    retryable: bool = False

    def __init__(self, message: str, status: int | None = None, path: str | None = None) -> None:
        super().__init__(message, status, path)
        self.message = message
        self.status = status
        self.path = path

    def __str__(self) -> str:
        return self.message


class TransientSourceError(SourceError):
    """Retries were exhausted on a failure that could pass (5xx, 429, timeout, network)."""

    retryable = True


class FatalSourceError(SourceError):
    """A failure that retrying will not fix (400, 413, 501, malformed reply)."""


class TokenInvalidError(FatalSourceError):
    """The district token was refused (HTTP 401): revoked, or the app was uninstalled."""


class NotSharedError(FatalSourceError):
    """A record answered 404: it was unshared from the app or deleted."""


class IncompleteFetchError(FatalSourceError):
    """The page chain was broken (a repeated cursor, a malformed page): the list is not whole."""


class NotFoundError(RostersyncError):
    """A district, school, run or admin that does not exist (or that the caller may not see)."""


class ActionRefusedError(RostersyncError):
    """An admin action the school's current state does not allow, with what to do instead."""


class LockBusyError(RostersyncError):
    """Another process holds the named lock (a sync of the same district, most often)."""
