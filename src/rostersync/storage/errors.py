"""Errors the store raises on purpose.

They subclass ``RostersyncError`` and a builtin (``LookupError``, ``ValueError``), so the
service layer, which must not import this adapter, can still catch them by builtin class.
"""

from __future__ import annotations

from rostersync.errors import RostersyncError


class StoreError(RostersyncError):
    """Base class of the store's errors."""


class NotFoundError(StoreError, LookupError):
    """A record the call names does not exist."""


class AlreadyExistsError(StoreError, ValueError):
    """A record with the same id exists already."""


class SchemaError(StoreError):
    """The database schema is missing, behind the code, or differs from it."""
