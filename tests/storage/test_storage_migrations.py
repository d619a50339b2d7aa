"""Alembic migrations: upgrade from empty, no drift from the tables, on both engines."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect, text

from rostersync.storage import check_database, upgrade_database
from rostersync.storage.errors import SchemaError
from rostersync.storage.migrate import alembic_config, current_revision, head_revision
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
