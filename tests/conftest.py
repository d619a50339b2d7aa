"""Shared fixtures: a migrated, empty database on each engine (SQLite and PostgreSQL).

``store_url`` is parametrised over both engines. SQLite gets a fresh file per test (a copy
of one migrated template). PostgreSQL gets one fresh database per session, emptied before
each test.

PostgreSQL comes from ``ROSTERSYNC_TEST_PG_URL`` (default: trust auth on 127.0.0.1:5432 as
``postgres``); that URL names the maintenance database used to create and drop test
databases. When it cannot be reached the PostgreSQL variants are skipped, except under CI
(env ``CI`` set), where they fail: CI starts PostgreSQL, so unreachable means broken.
"""

from __future__ import annotations

import os

# The suite runs the plain Python modules, so a test may wrap any function; the compiled
# build (``rostersync.compiled``) is tested by tests/perf/test_compiled.py. Set before
# rostersync is first imported; ROSTERSYNC_PURE_PYTHON=0 runs the suite on the build.
os.environ.setdefault("ROSTERSYNC_PURE_PYTHON", "1")

import secrets
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from rostersync.storage import upgrade_database
from rostersync.storage.tables import metadata

PG_URL_ENV = "ROSTERSYNC_TEST_PG_URL"
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


@contextmanager
def _pg_admin() -> Iterator[Connection]:
    """An AUTOCOMMIT connection to the PostgreSQL maintenance database, or skip/fail."""
    url = os.environ.get(PG_URL_ENV, DEFAULT_PG_URL)
    engine = create_engine(url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5})
    try:
        conn = engine.connect()
    except OperationalError as exc:
        engine.dispose()
        where = make_url(url).render_as_string(hide_password=True)
        message = f"PostgreSQL at {where} is not reachable ({exc.orig}). "
        if os.environ.get("CI"):
            pytest.fail(message + "CI must start PostgreSQL before the tests.")
        pytest.skip(message + f"Start it or set {PG_URL_ENV} to run the PostgreSQL tests.")
    try:
        yield conn
    finally:
        conn.close()
        engine.dispose()


@pytest.fixture(scope="session")
def pg_database_factory() -> Iterator[Callable[[], str]]:
    """Creates fresh, empty PostgreSQL databases; all are dropped at the end of the session."""
    with _pg_admin() as admin:
        created: list[str] = []

        def create() -> str:
            name = f"rostersync_t_{secrets.token_hex(6)}"
            admin.execute(text(f'CREATE DATABASE "{name}"'))
            created.append(name)
            url = make_url(os.environ.get(PG_URL_ENV, DEFAULT_PG_URL)).set(database=name)
            return url.render_as_string(hide_password=False)

        yield create
        for name in created:
            admin.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def pg_database_url(pg_database_factory: Callable[[], str]) -> str:
    """One fresh PostgreSQL database for the session, with the store's schema."""
    url = pg_database_factory()
    upgrade_database(url)
    return url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once; each test copies it."""
    path = tmp_path_factory.mktemp("sqlite-template") / "store.db"
    upgrade_database(f"sqlite:///{path}")
    return path


def _empty_pg(url: str) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database on each engine."""
    if request.param == "sqlite":
        path = tmp_path / "store.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("pg_database_url")
    _empty_pg(url)
    return url
