"""INSERT ... ON CONFLICT for the two engines the store runs on.

SQLite and PostgreSQL spell upserts the same way, but SQLAlchemy builds them from each
dialect's own ``insert``. The repositories ask for one here, so none of them branches on
the dialect.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite


def upsert_insert(conn: Connection, table: Table) -> Any:
    """An ``INSERT`` into ``table`` that supports ``on_conflict_do_*`` on this engine.

    Typed ``Any`` because the two dialects' ``Insert`` classes share no common base that
    declares the ``on_conflict_*`` methods and ``excluded``.
    """
    name = conn.dialect.name
    if name == "postgresql":
        return postgresql.insert(table)
    if name == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(
        f"The store supports SQLite and PostgreSQL, not {name}. "
        "Use a sqlite:/// or postgresql+psycopg:// database URL."
    )


@cache
def multi_row_values(sql: str, rows: int) -> str:
    """An ``INSERT ... VALUES (?, ...)`` with its group of values repeated ``rows`` times
    (one statement for that many rows; kept, so each size is built once)."""
    head, _, group = sql.partition(" VALUES ")
    return f"{head} VALUES {', '.join([group] * rows)}"
