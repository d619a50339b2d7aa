"""Alembic migrations: upgrade from empty, no drift from the tables, on both engines."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect, text

from rostersync.domain.changes import diff
from rostersync.domain.records import SchoolRecord
from rostersync.domain.roster import Account, ClassInfo, LinkInfo, SchoolRoster
from rostersync.service.model import DistrictConfig
from rostersync.storage import SqlStore, check_database, upgrade_database
from rostersync.storage.errors import SchemaError
from rostersync.storage.migrate import (
    HEAD_REVISION,
    alembic_config,
    current_revision,
    head_revision,
)
from rostersync.storage.tables import metadata


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database with no tables at all."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'empty.db'}"
    factory: Callable[[], str] = request.getfixturevalue("pg_database_factory")
    return factory()


def table_names(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_upgrade_from_empty_creates_every_table_with_no_drift(empty_url: str) -> None:
    assert current_revision(empty_url) is None
    with pytest.raises(SchemaError, match="upgrade_database"):
        check_database(empty_url)

    upgrade_database(empty_url)

    assert table_names(empty_url) == set(metadata.tables) | {"alembic_version"}
    assert current_revision(empty_url) == head_revision()
    command.check(alembic_config(empty_url))  # raises when autogenerate finds a difference
    check_database(empty_url)
    upgrade_database(empty_url)  # already at head: nothing to do


def test_the_head_revision_constant_is_the_newest_migration() -> None:
    assert head_revision() == HEAD_REVISION


# Whether ``upgrade_database`` loaded Alembic, in a fresh interpreter.
UPGRADE_AND_TELL = (
    "import sys; from rostersync.storage import upgrade_database; "
    "upgrade_database(sys.argv[1]); print('alembic' in sys.modules)"
)


def test_an_upgrade_with_nothing_to_do_does_not_load_alembic(empty_url: str) -> None:
    def upgrade() -> str:
        done = subprocess.run(
            [sys.executable, "-c", UPGRADE_AND_TELL, empty_url],
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout.strip()

    assert upgrade() == "True"  # an empty database: the migrations run
    assert current_revision(empty_url) == HEAD_REVISION
    assert upgrade() == "False"  # at the head: nothing to do
    command.downgrade(alembic_config(empty_url), "0005")
    assert upgrade() == "True"  # one revision behind: upgraded
    assert current_revision(empty_url) == HEAD_REVISION
    check_database(empty_url)


def test_downgrade_to_base_drops_everything_and_upgrade_rebuilds(empty_url: str) -> None:
    upgrade_database(empty_url)
    command.downgrade(alembic_config(empty_url), "base")
    assert table_names(empty_url) == {"alembic_version"}
    upgrade_database(empty_url)
    check_database(empty_url)


def test_check_database_reports_a_schema_changed_by_hand(empty_url: str) -> None:
    upgrade_database(empty_url)
    engine = create_engine(empty_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("DROP INDEX ix_admins_email"))
    finally:
        engine.dispose()
    with pytest.raises(SchemaError, match="differs from the code"):
        check_database(empty_url)


def _plant_dangling_problem(url: str) -> None:
    """A run_problems row naming a run that does not exist (foreign keys off, as SQLite
    allows by default)."""
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO run_problems (run_id, seq, severity, entity, source_id,"
                    " code, message, school_id)"
                    " VALUES ('run_gone', 0, 'error', 'user', 'u', 'c', 'm', '')"
                )
            )
    finally:
        engine.dispose()


def test_an_upgrade_that_runs_checks_sqlite_foreign_keys_and_rolls_back(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fk.db'}"
    upgrade_database(url, "0003")
    _plant_dangling_problem(url)

    with pytest.raises(SchemaError, match="foreign keys point nowhere"):
        upgrade_database(url)
    assert current_revision(url) == "0003"


def test_an_up_to_date_database_is_not_rescanned(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fk.db'}"
    upgrade_database(url)
    _plant_dangling_problem(url)

    upgrade_database(url)  # nothing to upgrade: no full scan of every table

    assert current_revision(url) == head_revision()


T0 = datetime(2024, 9, 2, 7, 30, tzinfo=UTC)
ROSTER_TABLES = ("school_links", "classes", "memberships", "contact_links")


def _roster_state(url: str) -> tuple[dict[str, list[Any]], set[str]]:
    """Every row of the composite-key roster tables, and which of them are WITHOUT ROWID."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = {
                name: sorted(tuple(r) for r in conn.execute(text(f"SELECT * FROM {name}")))
                for name in ROSTER_TABLES
            }
            ddl = conn.execute(
                text("SELECT name, sql FROM sqlite_master WHERE type = 'table'")
            ).all()
    finally:
        engine.dispose()
    return rows, {name for name, sql in ddl if "WITHOUT ROWID" in sql.upper()}


def test_sqlite_roster_tables_become_without_rowid_and_keep_their_rows(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'roster.db'}"
    upgrade_database(url)
    store = SqlStore(url)
    try:
        with store.unit_of_work() as uow:
            uow.add_district(
                DistrictConfig("d1", "D", "t", "http://127.0.0.1:9/v3.0", created_at=T0)
            )
            school = uow.upsert_school("d1", SchoolRecord("s1", "S"))
            roster = SchoolRoster(school_id=school.id)
            for person, role in (("p1", "student"), ("p2", "teacher"), ("p3", "contact")):
                roster.accounts[person] = Account(person, (role,), first_name=person)
                roster.links.add((person, role))
            roster.classes["c1"] = ClassInfo("c1", "Math")
            roster.memberships = {("c1", "p1", "student"), ("c1", "p2", "teacher")}
            roster.contact_links[("p3", "p1")] = LinkInfo("Parent", "Primary")
            uow.apply_changes(school, diff(SchoolRoster(school_id=school.id), roster))
            uow.commit()
    finally:
        store.dispose()
    at_head, clustered = _roster_state(url)
    assert all(at_head.values())
    assert clustered >= set(ROSTER_TABLES)

    command.downgrade(alembic_config(url), "0005")
    assert _roster_state(url) == (at_head, clustered - set(ROSTER_TABLES))

    upgrade_database(url)
    assert _roster_state(url) == (at_head, clustered)
    check_database(url)
