"""The Clever Data API v3.0 client: a ``RosterSource`` over HTTP (see docs/clever-client.md)."""

from rostersync.sources.clever.retry import RetryPolicy
from rostersync.sources.clever.source import CleverSource

__all__ = ["CleverSource", "RetryPolicy"]
