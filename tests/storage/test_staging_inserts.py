"""The staging file's multi-row INSERTs (``storage.staging_file.insert_rows``) leave exactly what
``executemany`` of the same rows leaves: the same rows, in the same rowid order, with
``OR IGNORE`` keeping the first of a repeated key and ``OR REPLACE`` the last, whatever the
number of rows (under, at and over a statement's worth)."""

from __future__ import annotations

import sqlite3

from hypothesis import given, settings
from hypothesis import strategies as st

from rostersync.storage import staging_file

SCHEMA = "CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER NOT NULL, b BLOB NOT NULL)"
VERBS = ("INSERT OR IGNORE", "INSERT OR REPLACE")


def _table(
    rows: list[tuple[str, int, bytes]], verb: str, size: int | None
) -> list[tuple[object, ...]]:
    db = sqlite3.connect(":memory:")
    db.execute(SCHEMA)
    sql = f"{verb} INTO t VALUES (?, ?, ?)"
    if size is not None:
        staging_file.insert_rows(db, sql, rows, size)
    else:
        db.executemany(sql, rows)
    return db.execute("SELECT rowid, k, v, b FROM t ORDER BY rowid").fetchall()


ROWS = st.lists(
    st.tuples(st.sampled_from("abcdefgh"), st.integers(0, 9), st.binary(max_size=3)),
    max_size=40,
)


@settings(max_examples=200, deadline=None)
@given(rows=ROWS, verb=st.sampled_from(VERBS), size=st.sampled_from([1, 2, 3, 7, 64]))
def test_multi_row_inserts_equal_executemany(
    rows: list[tuple[str, int, bytes]], verb: str, size: int
) -> None:
    assert _table(rows, verb, size) == _table(rows, verb, None)


def test_a_full_statement_and_a_tail_both_land() -> None:
    size = staging_file.ROWS_PER_INSERT
    rows = [(f"k{i:05}", i, b"x") for i in range(2 * size + 3)]
    table = _table(rows, "INSERT OR IGNORE", size)
    assert [row[1:] for row in table] == [(k, v, b) for k, v, b in rows]
