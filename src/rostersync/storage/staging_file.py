"""The staging file as a file: where a district's fetch cache lives, how it is opened,
locked, synced and thrown away, and the statement helpers the staging code runs on it
(``storage.staging`` holds what goes in it and how it is read back).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import tempfile
from itertools import chain
from typing import Any

import xxhash
from sqlalchemy.engine import make_url

from rostersync.storage import staging_sql as q
from rostersync.storage.statements import multi_row_values

# No journal and no syncing (a failed fetch discards the file, see ``storage.staging``); a
# page cache of 8 MiB, so memory does not follow the file; larger pages, since rows carry
# blobs (a staged user about 165 bytes, a section about 800).
PRAGMAS = (
    "page_size=16384",
    "journal_mode=OFF",
    "synchronous=OFF",
    "cache_size=-8192",
    "temp_store=FILE",
)


# Rows are inserted this many to a statement (multi-row ``VALUES``), the rest by
# executemany: row by row, the driver binds, steps and resets the statement for each row,
# which cost more than SQLite's own work (staged users 2.1 -> 1.24 µs a row).
ROWS_PER_INSERT = 256


def insert_rows(
    db: sqlite3.Connection, sql: str, rows: list[tuple[Any, ...]], size: int = ROWS_PER_INSERT
) -> None:
    """``db.executemany(sql, rows)`` for an ``INSERT ... VALUES (?, ...)``, the same rows in
    the same order (so ``OR IGNORE``/``OR REPLACE`` keep their meaning), sent ``size`` to a
    statement."""
    start = 0
    if len(rows) >= size:
        text = multi_row_values(sql, size)
        for start in range(0, len(rows) - size + 1, size):
            db.execute(text, tuple(chain.from_iterable(rows[start : start + size])))
        start += size
    if start < len(rows):
        db.executemany(sql, rows[start:])


def fetch_cache_dir(setting: str | None, database_url: str) -> str | None:
    """Where fetch caches go: the setting; unset, next to a SQLite database file
    (``<file>.fetch``) or in the user's cache directory; ``None`` for "off" (or for an
    in-memory SQLite database, which keeps nothing either)."""
    if setting is not None and setting.strip():
        value = setting.strip()
        return None if value.lower() == "off" else value
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        database = url.database or ""
        if database in ("", ":memory:") or database.startswith("file:"):
            return None
        return database + ".fetch"
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "rostersync", "fetch")


def cache_path(directory: str, store: object, district_id: str) -> str:
    """The cache file of a district of a store (its URL, password hidden), in
    ``directory``: stores sharing a directory never share a file."""
    key = xxhash.xxh3_64_hexdigest(f"{store}|{district_id}".encode())
    readable = "".join(c if c.isalnum() or c in "-_" else "_" for c in district_id)
    return os.path.join(directory, f"{readable}-{key}.db")


def open_users(path: str, keep: bool) -> sqlite3.Connection:
    """The users database: a fresh file, or a cache that is clean and of this version
    (anything else is thrown away). A cache is marked dirty, durably, before use."""
    if keep and state_of(path) != ("clean", q.CACHE_VERSION):
        unlink(path)
    if keep:  # it holds student data: readable by this user only, like a temporary file
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    db = connect(path)
    if keep:
        run(db, q.USER_SCHEMA)
        db.execute("INSERT OR REPLACE INTO meta VALUES ('version', ?)", (q.CACHE_VERSION,))
        db.execute("INSERT OR REPLACE INTO meta VALUES ('state', 'dirty')")
        sync(path)
    else:
        run(db, q.USER_SCHEMA)
    return db


def connect(path: str) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    for pragma in PRAGMAS:
        db.execute(f"PRAGMA {pragma}")
    return db


def state_of(path: str) -> tuple[str, str]:
    """(state, version) of a cache file; empty for a missing, damaged or foreign file."""
    if not os.path.exists(path):
        return ("", "")
    try:
        db = sqlite3.connect(path)
        try:
            rows = dict(db.execute("SELECT key, value FROM meta").fetchall())
        finally:
            db.close()
    except sqlite3.DatabaseError:
        return ("", "")
    return (str(rows.get("state", "")), str(rows.get("version", "")))


def lock(path: str) -> int | None:
    """An exclusive lock on the cache, or ``None`` if another process holds it."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), mode=0o700, exist_ok=True)
    fd = os.open(path + ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def temp_file(directory: str | None) -> str:
    handle, path = tempfile.mkstemp(prefix="rostersync-fetch-", suffix=".db", dir=directory)
    os.close(handle)
    return path


def sync(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def unlink(path: str) -> None:
    for suffix in ("", "-journal", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path + suffix)


def run(db: sqlite3.Connection, script: str) -> None:
    """Each statement of a script, inside the current transaction (``executescript`` would
    commit it)."""
    run_all(db, [s for s in script.split(";") if s.strip()])


def run_all(db: sqlite3.Connection, statements: tuple[str, ...] | list[str]) -> None:
    for statement in statements:
        db.execute(statement)
