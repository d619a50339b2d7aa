"""``districts.roster_total``: the sum of a district's roster versions, kept by every apply
(``RosterRepo.roster_total`` reads it), and set from the schools by migration 0005."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import text

from rostersync.domain.records import SchoolRecord
from rostersync.storage import SqlStore, upgrade_database
from rostersync.storage.migrate import alembic_config

from .conftest import _district
from .test_store_roster import MakeSchool, roster, student, sync_to


def _sums(store: SqlStore) -> dict[str, tuple[int, int]]:
    """Per district: (roster_total, the sum of its schools' roster versions)."""
    with store.unit_of_work() as uow:
        rows = uow.connection.execute(
            text(
                "SELECT d.id, d.roster_total, (SELECT coalesce(sum(s.roster_version), 0)"
                " FROM schools s WHERE s.district_id = d.id) FROM districts d"
            )
        )
        return {row[0]: (row[1], row[2]) for row in rows}


def _total(store: SqlStore, district_id: str) -> int:
    with store.unit_of_work() as uow:
        return uow.roster_total(district_id)


def test_every_apply_adds_one_to_its_district_total(store: SqlStore, make_school: MakeSchool):
    a, b, other = make_school("a"), make_school("b"), make_school("o", district_id="d2")
    assert _total(store, "d1") == 0

    sync_to(store, a, roster(a, (student("u1"), "student")))
    sync_to(store, b, roster(b, (student("u2"), "student")))
    sync_to(store, a, roster(a, (student("u1", first="Bo"), "student")))
    assert sync_to(store, a, roster(a, (student("u1", first="Bo"), "student"))) == 0  # no-op
    sync_to(store, other, roster(other, (student("u3"), "student")))

    assert _sums(store) == {"d1": (3, 3), "d2": (1, 1)}
    assert (_total(store, "d1"), _total(store, "d2"), _total(store, "none")) == (3, 1, 0)


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    factory: Callable[[], str] = request.getfixturevalue("pg_database_factory")
    yield factory()


def test_the_migration_sets_each_total_from_the_schools(fresh_url: str) -> None:
    upgrade_database(fresh_url)
    store = SqlStore(fresh_url)
    try:
        with store.unit_of_work() as uow:
            uow.add_district(_district("d1"))
            uow.add_district(_district("d2"))
            a, b = (uow.upsert_school("d1", SchoolRecord(s, s)) for s in ("sA", "sB"))
            uow.commit()
        sync_to(store, a, roster(a, (student("u1"), "student")))
        sync_to(store, a, roster(a, (student("u1", first="Bo"), "student")))
        sync_to(store, b, roster(b, (student("u2"), "student")))
        store.dispose()
        command.downgrade(alembic_config(fresh_url), "0004")
        upgrade_database(fresh_url)
        assert _sums(store) == {"d1": (3, 3), "d2": (0, 0)}
    finally:
        store.dispose()
