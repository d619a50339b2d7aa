"""Engines for the store, set up the same way for the app, the tests and migrations.

SQLite needs care to behave like a real transactional database: the ``sqlite3`` driver of
Python 3.11 starts transactions only before writes (so reads inside a unit of work would not
share one snapshot) and each connection has to switch on foreign keys and wait for locks
instead of failing at once. WAL journal mode lets readers (the dashboard, the CLI) keep
reading while a sync writes. PostgreSQL needs only JIT compiling off (``_postgresql_session``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event

SQLITE_BUSY_TIMEOUT_MS = 30_000
# The page cache of a connection, in KiB (SQLite's default is 2 MiB), and of one writing
# whole rosters (``set_cache``): a first load maintains the indexes of millions of rows,
# and with a small cache re-reads their pages from the OS (at 50k students, apply 4.5 ->
# 3.6 s CPU with 64 MiB); everything else reads or writes a few pages a school, and a
# cache that size only fills the process (a 1 % resync at R1M: peak RSS 282 -> 222 MiB
# with 8 MiB, at the same CPU). Bounds, not allocations.
SQLITE_CACHE_KIB = 8 * 1024
SQLITE_BULK_CACHE_KIB = 64 * 1024
# The page size of a new store (SQLite's default is 4 KiB; an existing store keeps its own).
# A first load writes each page twice (WAL, then checkpoint), and the commits and WAL
# writes cost per page: R1M first loads, alternating, 110.6 / 116.4 / 122.1 s CPU with
# 4 KiB against 108.3 / 112.2 / 118.7 s with 8 KiB; 16 KiB, run beside 8 KiB at the same
# time, six pairs: 2.8 s less on average (from +1.2 to -4.7), while the 1 % resync, whose
# apply writes a few rows in thousands of pages, took 0.4 s more (its apply 0.1-0.3 s).
# 32 and 64 KiB measured as 16 (docs/performance.md, item 55).
SQLITE_PAGE_SIZE = 16 * 1024


def create_store_engine(
    url: str, *, echo: bool = False, foreign_keys: bool = True, temp_in_memory: bool = False
) -> Engine:
    """An engine for ``url`` with rowcounts kept and, on SQLite, WAL and real transactions.

    ``foreign_keys=False`` is for migrations only: SQLite rebuilds a table to alter it, which
    foreign keys would block. ``temp_in_memory`` (the store's own engine, not migrations,
    which may sort whole tables to build an index) keeps SQLite's temporary files in memory
    (``temp_store=MEMORY``): above all the statement journal that a multi-row INSERT or an
    upsert inside a transaction keeps, so that the statement alone can be undone. It holds
    the pages one statement changes (the largest: one role's links of a school, well under
    a MiB), but past 64 KiB it goes to a temporary file: an R1M first load wrote about 3 GB
    to such files, in 4 KiB writes, for nothing (system time of its evaluation 10.4-12.3 ->
    7.1-7.7 s).
    """
    engine = create_engine(
        url,
        echo=echo,
        # Rows written are counted from rowcounts, also for INSERTs sent in batches.
        execution_options={"preserve_rowcount": True},
    )
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine, foreign_keys=foreign_keys, temp_in_memory=temp_in_memory)
    elif engine.dialect.name == "postgresql":
        event.listen(engine, "connect", _postgresql_session)
    return engine


def _postgresql_session(dbapi_connection: Any, _record: Any) -> None:
    """No JIT compiling in the store's sessions. PostgreSQL compiles a statement whose
    estimated cost passes ``jit_above_cost`` (100,000 by default), which takes it tens of
    milliseconds; the store's statements run in about a millisecond, and an estimate goes
    that high when the tables have no statistics yet (autovacuum off, or a first load just
    written) or a join's input is a function, such as the JSON rows an apply sends
    (``roster_sql``): a 1 % resync at R1M then spent about 40 s more of the server's time."""
    with dbapi_connection.cursor() as cursor:
        cursor.execute("SET jit = off")
    dbapi_connection.commit()


def _configure_sqlite(engine: Engine, *, foreign_keys: bool, temp_in_memory: bool) -> None:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take BEGIN away from the driver (see ``on_begin``); pragmas must run outside one.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            # Before WAL: it takes effect only on a file not written yet.
            cursor.execute(f"PRAGMA page_size={SQLITE_PAGE_SIZE}")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute(f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
            if temp_in_memory:
                cursor.execute("PRAGMA temp_store=MEMORY")
        finally:
            cursor.close()

    def on_begin(connection: Any) -> None:
        # A deferred BEGIN: reads share one snapshot; the write lock is taken on first write.
        connection.exec_driver_sql("BEGIN")

    event.listen(engine, "connect", on_connect)
    event.listen(engine, "begin", on_begin)


def set_cache(dbapi_connection: Any, *, bulk: bool) -> None:
    """Size a SQLite connection's page cache: for writing whole rosters (``bulk``), or back
    to the default (SQLite frees the pages over the bound at once)."""
    kib = SQLITE_BULK_CACHE_KIB if bulk else SQLITE_CACHE_KIB
    dbapi_connection.execute(f"PRAGMA cache_size=-{kib}")
