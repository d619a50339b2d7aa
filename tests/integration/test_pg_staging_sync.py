"""A PostgreSQL store with no fetch cache stages each fetch in the database
(``storage.staging_pg``) and ends with what a sync staging in a file gives: the same rosters,
the same runs (outcome, counts, changes, row problems in the same order) and the same input
digests, bad records included. Only the place of the staging differs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from rostersync.sandbox.generator import generate_district
from rostersync.sandbox.server import SandboxServer
from rostersync.sandbox.state import SandboxState
from rostersync.service import districts
from rostersync.service.context import Services
from rostersync.service.sync import sync_district
from rostersync.storage import SqlStore, upgrade_database
from rostersync.storage.staging import SqliteStaging
from rostersync.storage.staging_pg import PgStaging

from .conftest import fast_sources
from .test_bad_records import plant_bad_records


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    data = generate_district(seed=21, students=600, schools=2)
    plant_bad_records(data)
    with SandboxServer(SandboxState.from_data(data)) as served:
        yield served


def _synced(url: str, server: SandboxServer, cache: str | None, used: list[str]) -> dict[str, Any]:
    """Sync the sandbox's district twice into a new store at ``url``; what it then holds,
    by school (Clever id): roster, last runs, input digest."""
    upgrade_database(url)
    store = SqlStore(url, fetch_cache_dir=cache)
    opened = store.staging

    def staging(district_id: str | None = None) -> SqliteStaging | PgStaging:
        area = opened(district_id)
        used.append(type(area).__name__)
        return area

    store.staging = staging  # type: ignore[method-assign]
    try:
        services = Services(store=store, sources=fast_sources)
        config = districts.add_district(services, "Staged", server.token, server.base_url)
        results = [sync_district(services, config.id) for _ in range(2)]
        assert not any(result.error for result in results)
        held: dict[str, Any] = {}
        written = 0
        with store.unit_of_work() as uow:
            for school in uow.list_schools(config.id):
                # (not the rows each run wrote: an account linked in both schools is
                # written by the first evaluated, in the order of the store's own ids)
                runs = [
                    (run.outcome, run.counts, run.changes, run.problems)
                    for run in uow.list_runs(school.id)
                ]
                written += sum(run.rows_written for run in uow.list_runs(school.id))
                check = uow.input_check(school.id)
                held[school.source_id] = {
                    "roster": replace(uow.load_roster(school.id), school_id=school.source_id),
                    "runs": runs,
                    "digest": None if check is None else check[0],
                }
        held["rows written"] = written
        return held
    finally:
        store.dispose()


def test_a_store_without_a_fetch_cache_stages_in_postgresql_to_the_same_end(
    server: SandboxServer, pg_database_factory: Callable[[], str], tmp_path: Path
) -> None:
    in_file: list[str] = []
    in_database: list[str] = []
    expected = _synced(pg_database_factory(), server, str(tmp_path / "cache"), in_file)
    got = _synced(pg_database_factory(), server, None, in_database)
    assert in_file == ["SqliteStaging"] * 2
    assert in_database == ["PgStaging"] * 2
    assert got == expected
    # the bad records' problems are there, in both
    del got["rows written"]
    problems = {p.code for school in got.values() for run in school["runs"] for p in run[3]}
    assert {"missing_id", "duplicate_id", "unknown_member"} <= problems


def test_a_sqlite_store_without_a_fetch_cache_still_stages_in_a_temporary_file(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    upgrade_database(url)
    store = SqlStore(url)
    try:
        staging = store.staging("any-district")
        try:
            assert isinstance(staging, SqliteStaging)
        finally:
            staging.close()
    finally:
        store.dispose()
