"""What SQL the store sends, for tests that count statements."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from rostersync.storage import SqlStore


@contextmanager
def statements(store: SqlStore) -> Iterator[list[str]]:
    """Every statement the store's engine runs inside the block, in order."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        seen.append(statement)

    event.listen(store.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(store.engine, "before_cursor_execute", record)
