"""Fixtures for the sync engine's integration tests: a real sandbox over loopback HTTP and
a real SQLite store (PostgreSQL too, where a test asks for it)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import event

from rostersync.sandbox.district import DistrictData
from rostersync.sandbox.generator import generate_district
from rostersync.sandbox.server import SandboxServer
from rostersync.sandbox.state import SandboxState
from rostersync.service import districts
from rostersync.service.context import Services
from rostersync.service.ports import RosterSource
from rostersync.service.sync import sync_district
from rostersync.sources.clever.retry import RetryPolicy
from rostersync.sources.clever.source import CleverSource
from rostersync.storage import SqlStore
from rostersync.storage.crypto import TokenCipher

TEST_SECRET = "integration-test-secret-" + "x" * 32
ROSTER_TABLES = ("accounts", "school_links", "classes", "memberships", "contact_links")


class RecordingMailer:
    """Collects what would be sent (for tests that do not need a real SMTP server)."""

    def __init__(self) -> None:
        self.sent: list[object] = []

    def send(self, message: object) -> None:
        self.sent.append(message)


class WriteCounter:
    """Counts rows written to the roster tables, from the statements the engine runs."""

    def __init__(self) -> None:
        self.rows = 0
        self.statements: list[str] = []

    def __call__(self, conn, cursor, statement, parameters, context, executemany) -> None:
        verb = statement.lstrip().split(" ", 1)[0].upper()
        if verb not in ("INSERT", "UPDATE", "DELETE", "WITH"):
            return
        lowered = statement.lower()
        if any(
            f" {t} " in lowered or f" {t}(" in lowered or f'"{t}"' in lowered for t in ROSTER_TABLES
        ):
            self.rows += self._changed(cursor) if verb == "WITH" else max(cursor.rowcount, 0)
            self.statements.append(statement)

    @staticmethod
    def _changed(cursor) -> int:
        """A PostgreSQL joint write (``roster_sql.JointWrite``) answers one row: how many
        rows each of its parts changed. Read from the server's answer as it arrived
        (psycopg's ``pgresult``), without taking the row from the store's own read."""
        result = cursor.pgresult
        assert result is not None and result.ntuples == 1, "a joint write answers one row"
        return sum(int(result.get_value(0, i)) for i in range(result.nfields))


@dataclass
class Env:
    services: Services
    server: SandboxServer
    state: SandboxState
    data: DistrictData
    district_id: str
    mailer: RecordingMailer
    store: SqlStore

    def sync(self, **kwargs):
        return sync_district(self.services, self.district_id, **kwargs)

    def school(self, ref: str):
        with self.store.unit_of_work() as uow:
            return uow.get_school(ref)

    def roster(self, ref: str):
        school = self.school(ref)
        with self.store.unit_of_work() as uow:
            return uow.load_roster(school.id)

    def count_writes(self) -> WriteCounter:
        counter = WriteCounter()
        event.listen(self.store.engine, "after_cursor_execute", counter)
        return counter


def fast_sources(base_url: str, token: str) -> RosterSource:
    return CleverSource(
        base_url,
        token,
        retry=RetryPolicy(attempts=2, base_delay=0.0, max_delay=0.0, max_total=5.0),
        timeout=5.0,
    )


@pytest.fixture
def district_data() -> DistrictData:
    """A fresh district per test: the sandbox mutates the data it serves."""
    return generate_district(seed=11, students=900, schools=3)


@pytest.fixture
def env(store_url: str, district_data: DistrictData, tmp_path: Path) -> Iterator[Env]:
    """A sandbox serving a fresh district, and a migrated store (SQLite and PostgreSQL)
    keeping a fetch cache, as deployments do."""
    cache = str(tmp_path / "fetch-cache")
    store = SqlStore(store_url, cipher=TokenCipher(TEST_SECRET), fetch_cache_dir=cache)
    mailer = RecordingMailer()
    state = SandboxState.from_data(district_data)
    with SandboxServer(state) as server:
        services = Services(store=store, sources=fast_sources, mailer=mailer)
        config = districts.add_district(services, "Test district", server.token, server.base_url)
        districts.add_admin(services, "boss@district.example", config.id)
        yield Env(services, server, state, district_data, config.id, mailer, store)
    store.dispose()


def decode_table(data: DistrictData, kind: str) -> list[dict]:
    return [json.loads(blob) for _, blob in data.tables[kind].items()]
