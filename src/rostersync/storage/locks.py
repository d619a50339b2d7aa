"""Named locks that hold across processes and machines: at most one sync of a district.

A unit of work's ``lock_district`` lasts one transaction, but a district sync spans many
(one per school), so workers need a lock that lives as long as the whole sync and dies with
the process that holds it (a worker killed mid-sync must not block the district forever):

- PostgreSQL: a session-level advisory lock (``pg_try_advisory_lock``) on a dedicated
  connection kept for the whole block. A killed process drops its connection and the server
  releases the lock at once.
- SQLite: an exclusive ``flock`` on a file beside the database (SQLite is one machine by
  nature). The kernel releases it when the process dies. An in-memory database is private to
  its process, so a process-local lock is enough there.
"""

from __future__ import annotations

import fcntl
import hashlib
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, text

from rostersync.errors import LockBusyError

POLL_S = 0.1
_local_locks: dict[str, threading.Lock] = {}
_local_guard = threading.Lock()


def lock_key(name: str) -> int:
    """A stable signed 64-bit key for ``name`` (advisory locks are keyed by bigint)."""
    digest = hashlib.blake2b(name.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _busy(name: str, wait_s: float) -> LockBusyError:
    return LockBusyError(
        f"The lock {name!r} is held by another process (waited {wait_s:g} s). "
        "Another sync of the same district is running; try again when it has finished."
    )


@contextmanager
def named_lock(engine: Engine, name: str, *, wait_s: float = 0.0) -> Iterator[None]:
    """Hold the lock ``name`` for the block; raise ``LockBusyError`` after ``wait_s``."""
    if engine.dialect.name == "postgresql":
        with _advisory_lock(engine, name, wait_s):
            yield
        return
    database = engine.url.database
    if not database or database == ":memory:":
        with _process_lock(name, wait_s):
            yield
        return
    with _file_lock(Path(database), name, wait_s):
        yield


@contextmanager
def _advisory_lock(engine: Engine, name: str, wait_s: float) -> Iterator[None]:
    key = lock_key(name)
    conn = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    try:
        deadline = time.monotonic() + wait_s
        while not conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar():
            if time.monotonic() >= deadline:
                raise _busy(name, wait_s)
            time.sleep(POLL_S)
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
    finally:
        conn.close()


@contextmanager
def _file_lock(database: Path, name: str, wait_s: float) -> Iterator[None]:
    folder = database.with_name(database.name + ".locks")
    folder.mkdir(exist_ok=True)
    path = folder / f"{lock_key(name) & 0xFFFFFFFFFFFFFFFF:016x}.lock"
    with path.open("a+b") as handle:
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise _busy(name, wait_s) from None
                time.sleep(POLL_S)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


@contextmanager
def _process_lock(name: str, wait_s: float) -> Iterator[None]:
    with _local_guard:
        lock = _local_locks.setdefault(name, threading.Lock())
    acquired = lock.acquire(timeout=wait_s) if wait_s > 0 else lock.acquire(blocking=False)
    if not acquired:
        raise _busy(name, wait_s)
    try:
        yield
    finally:
        lock.release()
