"""The SQL store and its unit of work: one connection and one transaction per use.

Everything a sync writes for a school (roster, run record, status, outbox) goes through one
``SqlUnitOfWork`` and becomes visible at once on ``commit``; leaving the ``with`` block
without committing rolls it all back. The repositories do the SQL; this class only holds the
connection and hands each port method to the repository that owns the tables.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, Engine

from rostersync.domain.changes import ChangeSet
from rostersync.domain.records import SchoolRecord
from rostersync.domain.roster import SchoolRoster
from rostersync.domain.state import SchoolStatus
from rostersync.service.model import (
    Admin,
    AdminAction,
    DistrictConfig,
    OutboxMessage,
    RunRecord,
    SchoolRow,
)
from rostersync.service.ports import Checkpoint
from rostersync.storage.admins_repo import AdminsRepo
from rostersync.storage.districts_repo import DistrictsRepo
from rostersync.storage.engine import create_store_engine
from rostersync.storage.outbox_repo import OutboxRepo
from rostersync.storage.roster_repo import RosterRepo
from rostersync.storage.runs_repo import RunsRepo


class SqlStore:
    """The ``Store`` port on SQLite (``sqlite:///path.db``) or PostgreSQL
    (``postgresql+psycopg://...``). Create the schema first with ``upgrade_database``."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.engine: Engine = create_store_engine(url, echo=echo)

    def unit_of_work(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine)

    def dispose(self) -> None:
        """Close the pooled connections (at shutdown, or before deleting a SQLite file)."""
        self.engine.dispose()


class _Repos:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.districts = DistrictsRepo(conn)
        self.roster = RosterRepo(conn)
        self.runs = RunsRepo(conn)
        self.admins = AdminsRepo(conn)
        self.outbox = OutboxRepo(conn)


class SqlUnitOfWork:
    """The ``UnitOfWork`` port: ``with store.unit_of_work() as uow: ...; uow.commit()``.

    After ``commit`` the unit of work may go on; later writes need another ``commit``.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._repos: _Repos | None = None

    def __enter__(self) -> SqlUnitOfWork:
        if self._repos is not None:
            raise RuntimeError(
                "This unit of work is already open; open a new one with store.unit_of_work()."
            )
        self._repos = _Repos(self._engine.connect())
        return self

    def __exit__(self, *exc: object) -> None:
        repos, self._repos = self._repos, None
        if repos is None:
            return
        try:
            if repos.conn.in_transaction():
                repos.conn.rollback()
        finally:
            repos.conn.close()

    @property
    def _open(self) -> _Repos:
        if self._repos is None:
            raise RuntimeError(
                "The unit of work is not open. Use it in a `with store.unit_of_work() as uow:` "
                "block and call its methods inside the block."
            )
        return self._repos

    @property
    def connection(self) -> Connection:
        """The unit of work's connection, for read-side queries that need plain SQL."""
        return self._open.conn

    def commit(self) -> None:
        self._open.conn.commit()

    def rollback(self) -> None:
        self._open.conn.rollback()

    # districts
    def add_district(self, config: DistrictConfig) -> None:
        self._open.districts.add_district(config)

    def get_district(self, district_id: str) -> DistrictConfig | None:
        return self._open.districts.get_district(district_id)

    def list_districts(self) -> list[DistrictConfig]:
        return self._open.districts.list_districts()

    def update_district(self, config: DistrictConfig) -> None:
        self._open.districts.update_district(config)

    # schools
    def list_schools(self, district_id: str | None = None) -> list[SchoolRow]:
        return self._open.districts.list_schools(district_id)

    def get_school(self, ref: str) -> SchoolRow | None:
        """A school by internal id or by source (Clever) id."""
        return self._open.districts.get_school(ref)

    def upsert_school(self, district_id: str, record: SchoolRecord) -> SchoolRow:
        """Create the school on first sight (never_synced); keep its name current."""
        return self._open.districts.upsert_school(district_id, record)

    def save_status(self, school_id: str, status: SchoolStatus) -> None:
        self._open.districts.save_status(school_id, status)

    def lock_district(self, district_id: str) -> None:
        """Serialise syncs of one district (see ``DistrictsRepo.lock_district``)."""
        self._open.districts.lock_district(district_id)

    # roster
    def load_roster(self, school_id: str) -> SchoolRoster:
        return self._open.roster.load_roster(school_id)

    def apply_changes(
        self, school: SchoolRow, change_set: ChangeSet, checkpoint: Checkpoint | None = None
    ) -> int:
        """Write a change set to the school's roster; bump its roster version."""
        return self._open.roster.apply_changes(school, change_set, checkpoint)

    # runs
    def add_run(self, run: RunRecord, held: ChangeSet | None = None) -> None:
        self._open.runs.add_run(run, held)

    def get_run(self, run_id: str) -> RunRecord | None:
        return self._open.runs.get_run(run_id)

    def list_runs(self, school_id: str, limit: int = 20) -> list[RunRecord]:
        return self._open.runs.list_runs(school_id, limit)

    def held_change_set(self, run_id: str) -> ChangeSet | None:
        return self._open.runs.held_change_set(run_id)

    # people, actions, email
    def add_admin(self, admin: Admin) -> None:
        self._open.admins.add_admin(admin)

    def admins_for_school(self, school_id: str) -> list[Admin]:
        return self._open.admins.admins_for_school(school_id)

    def list_admins(self, district_id: str | None = None) -> list[Admin]:
        return self._open.admins.list_admins(district_id)

    def record_action(self, action: AdminAction) -> None:
        self._open.admins.record_action(action)

    def list_actions(self, school_id: str, limit: int = 50) -> list[AdminAction]:
        return self._open.admins.list_actions(school_id, limit)

    def enqueue_email(self, message: OutboxMessage) -> None:
        self._open.outbox.enqueue_email(message)

    def pending_emails(self, limit: int = 100) -> list[OutboxMessage]:
        return self._open.outbox.pending_emails(limit)

    def mark_email_sent(self, message_id: str, at: datetime) -> None:
        self._open.outbox.mark_email_sent(message_id, at)

    def mark_email_failed(self, message_id: str, error: str) -> None:
        self._open.outbox.mark_email_failed(message_id, error)
