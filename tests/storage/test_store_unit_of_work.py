"""Units of work: commit, rollback, isolation, and the SQLite connection settings."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from rostersync.domain.changes import diff
from rostersync.domain.records import SchoolRecord
from rostersync.domain.roster import Account, SchoolRoster
from rostersync.service.model import SchoolRow
from rostersync.storage import SqlStore, upgrade_database
from rostersync.storage.engine import (
    SQLITE_BULK_CACHE_KIB,
    SQLITE_BUSY_TIMEOUT_MS,
    SQLITE_CACHE_KIB,
    SQLITE_PAGE_SIZE,
    create_store_engine,
)
from tests.storage.conftest import _district as district_config


def test_leaving_without_commit_leaves_nothing(
    store: SqlStore, make_school: Callable[..., SchoolRow]
) -> None:
    make_school()
    with store.unit_of_work() as uow:
        uow.upsert_school("d1", SchoolRecord("s2", "Second"))
    with store.unit_of_work() as uow:
        assert [s.source_id for s in uow.list_schools()] == ["s1"]


def test_an_error_inside_the_block_rolls_back(
    store: SqlStore, make_school: Callable[..., SchoolRow]
) -> None:
    make_school()

    def failing_sync() -> None:
        with store.unit_of_work() as uow:
            uow.upsert_school("d1", SchoolRecord("s2", "Second"))
            raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        failing_sync()
    with store.unit_of_work() as uow:
        assert uow.get_school("s2") is None


def test_work_after_a_commit_needs_its_own_commit(
    store: SqlStore, make_school: Callable[..., SchoolRow]
) -> None:
    make_school()
    with store.unit_of_work() as uow:
        uow.upsert_school("d1", SchoolRecord("s2", "Second"))
        uow.commit()
        uow.upsert_school("d1", SchoolRecord("s3", "Third"))
        uow.rollback()
        uow.upsert_school("d1", SchoolRecord("s4", "Fourth"))
    with store.unit_of_work() as uow:
        assert {s.source_id for s in uow.list_schools()} == {"s1", "s2"}


def test_using_a_unit_of_work_outside_its_block_is_refused(store: SqlStore) -> None:
    uow = store.unit_of_work()
    with pytest.raises(RuntimeError, match=r"with store\.unit_of_work"):
        uow.list_districts()


def test_readers_see_the_last_commit_while_a_writer_is_busy(
    store: SqlStore, make_school: Callable[..., SchoolRow]
) -> None:
    make_school()
    with store.unit_of_work() as writer:
        writer.lock_district("d1")
        writer.upsert_school("d1", SchoolRecord("s2", "Second"))
        with store.unit_of_work() as reader:
            assert [s.source_id for s in reader.list_schools()] == ["s1"]
        writer.commit()
    with store.unit_of_work() as reader:
        assert len(reader.list_schools()) == 2


def test_sqlite_runs_in_wal_mode_with_foreign_keys_and_a_busy_timeout(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'pragmas.db'}"
    upgrade_database(url)
    store = SqlStore(url)
    with store.unit_of_work() as uow:
        settings = {
            name: uow.connection.execute(text(f"PRAGMA {name}")).scalar()
            for name in ("journal_mode", "foreign_keys", "busy_timeout", "temp_store")
        }
    store.dispose()
    assert settings == {
        "journal_mode": "wal",
        "foreign_keys": 1,
        "busy_timeout": SQLITE_BUSY_TIMEOUT_MS,
        "temp_store": 2,  # MEMORY: statement journals never go to a file
    }


def test_only_the_store_keeps_sqlite_temporary_files_in_memory(tmp_path: Path) -> None:
    """Migrations, which may sort a whole table to build an index, keep SQLite's default
    (temporary files on disk); the store's own connections keep them in memory."""
    url = f"sqlite:///{tmp_path / 'temp.db'}"
    upgrade_database(url)
    for engine, expected in (
        (create_store_engine(url, foreign_keys=False), 0),
        (create_store_engine(url), 0),
        (create_store_engine(url, temp_in_memory=True), 2),
    ):
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA temp_store").scalar() == expected
        engine.dispose()


def test_postgresql_sessions_of_the_store_never_jit_compile(pg_database_url: str) -> None:
    """Every connection of the pool has JIT compiling off, also after a rollback and when
    the pool hands it out again (PostgreSQL's default is on)."""
    engine = create_store_engine(pg_database_url)
    try:
        for _ in range(2):
            with engine.connect() as conn:
                assert conn.exec_driver_sql("SHOW jit").scalar() == "off"
                conn.rollback()
                assert conn.exec_driver_sql("SHOW jit").scalar() == "off"
        with engine.connect() as first, engine.connect() as second:
            for conn in (first, second):
                assert conn.exec_driver_sql("SHOW jit").scalar() == "off"
    finally:
        engine.dispose()


def test_a_new_sqlite_store_has_16_kib_pages_and_an_old_one_keeps_its_own(
    tmp_path: Path,
) -> None:
    new, old = tmp_path / "new.db", tmp_path / "old.db"
    made = sqlite3.connect(old)  # a store made before: SQLite's default pages
    made.execute("PRAGMA journal_mode=WAL")
    made.execute("CREATE TABLE made_before (a)")
    made.close()
    sizes = {}
    for path in (new, old):
        upgrade_database(f"sqlite:///{path}")
        store = SqlStore(f"sqlite:///{path}")
        with store.unit_of_work() as uow:  # the store works either way
            assert uow.list_districts() == []
            sizes[path.name] = uow.connection.execute(text("PRAGMA page_size")).scalar()
        store.dispose()
    assert sizes == {"new.db": SQLITE_PAGE_SIZE, "old.db": 4096}
    assert SQLITE_PAGE_SIZE == 16384


_ORPHAN = text(
    "INSERT INTO memberships (school_id, class_source_id, account_source_id, role)"
    " VALUES ('no-such-school', 'c1', 'a1', 'student')"
)


def test_a_unit_of_work_without_foreign_keys_on_sqlite_only(store: SqlStore) -> None:
    """``foreign_keys=False`` (the sync's batches) lifts SQLite's checks for that unit of
    work alone: the connection goes back to the pool with them on. PostgreSQL checks all."""
    sqlite = store.engine.dialect.name == "sqlite"
    with store.unit_of_work(foreign_keys=False) as uow:
        if sqlite:
            uow.connection.execute(_ORPHAN)  # not checked
            uow.rollback()
        else:
            with pytest.raises(IntegrityError):
                uow.connection.execute(_ORPHAN)
    for _ in range(3):  # whichever pooled connection comes next
        with store.unit_of_work() as uow:
            if sqlite:
                assert uow.connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            with pytest.raises(IntegrityError):
                uow.connection.execute(_ORPHAN)


def test_foreign_keys_come_back_on_after_a_failure_inside(store: SqlStore) -> None:
    def failing() -> None:
        with store.unit_of_work(foreign_keys=False) as uow:
            uow.connection.execute(text("SELECT 1"))
            raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        failing()
    with store.unit_of_work() as uow, pytest.raises(IntegrityError):
        uow.connection.execute(_ORPHAN)


def _cache_kib(uow: object) -> int:
    conn = uow.connection  # type: ignore[attr-defined]
    return -int(conn.exec_driver_sql("PRAGMA cache_size").scalar())


def _roster(school: SchoolRow, *ids: str) -> SchoolRoster:
    roster = SchoolRoster(school_id=school.source_id)
    for account_id in ids:
        roster.accounts[account_id] = Account(account_id, ("student",), first_name="A")
        roster.links.add((account_id, "student"))
    return roster


def test_sqlite_grows_the_page_cache_for_whole_rosters_only_while_writing_them(
    tmp_path: Path,
) -> None:
    """A first load's unit of work (``apply_roster``) gets the larger page cache; change
    sets keep the default, and every connection goes back to the pool at the default (a
    pool of one connection: the next unit of work is handed the same one)."""
    url = f"sqlite:///{tmp_path / 'cache.db'}"
    upgrade_database(url)
    store = SqlStore(url)
    try:
        with store.unit_of_work() as uow:
            uow.add_district(district_config("d1"))
            school = uow.upsert_school("d1", SchoolRecord("s1", "First"))
            uow.commit()
        with store.unit_of_work() as uow:
            assert _cache_kib(uow) == SQLITE_CACHE_KIB
            uow.apply_changes(school, diff(uow.load_roster(school.id), _roster(school, "a1")))
            assert _cache_kib(uow) == SQLITE_CACHE_KIB
            uow.rollback()
            uow.apply_roster(school, _roster(school, "a1", "a2"))
            assert _cache_kib(uow) == SQLITE_BULK_CACHE_KIB
            uow.commit()
        with store.unit_of_work() as uow:
            assert _cache_kib(uow) == SQLITE_CACHE_KIB
            assert sorted(uow.load_roster(school.id).accounts) == ["a1", "a2"]
    finally:
        store.dispose()
