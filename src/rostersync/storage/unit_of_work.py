"""The SQL store and its unit of work: one connection and one transaction per use.

Everything a sync writes for a school (roster, run record, status, outbox) goes through one
``SqlUnitOfWork`` and becomes visible at once on ``commit``; leaving the ``with`` block
without committing rolls it all back. The repositories do the SQL; this class only holds the
connection and hands each port method to the repository that owns the tables.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime

from sqlalchemy import Connection, Engine

from rostersync.domain.changes import Change, ChangeSet
from rostersync.domain.partial import Scope
from rostersync.domain.records import RowProblem, SchoolRecord
from rostersync.domain.roster import Account, FreshRoster, SchoolRoster
from rostersync.domain.state import SchoolStatus
from rostersync.service.admin_model import (
    ApiToken,
    Invite,
    LoginAttempt,
    SettingsChange,
    WebSession,
)
from rostersync.service.model import (
    Admin,
    AdminAction,
    DistrictConfig,
    OutboxMessage,
    RunRecord,
    SchoolRow,
    SkipCheck,
)
from rostersync.service.ports import Checkpoint
from rostersync.storage.access_repo import AccessRepo
from rostersync.storage.admins_repo import AdminsRepo
from rostersync.storage.crypto import TokenCipher
from rostersync.storage.districts_repo import DistrictsRepo
from rostersync.storage.engine import create_store_engine, set_cache
from rostersync.storage.locks import named_lock
from rostersync.storage.outbox_repo import OutboxRepo
from rostersync.storage.review_repo import ReviewRepo
from rostersync.storage.roster_repo import RosterRepo
from rostersync.storage.runs_repo import RunsRepo
from rostersync.storage.staging import SqliteStaging
from rostersync.storage.staging_file import cache_path
from rostersync.storage.staging_pg import PgStaging


class SqlStore:
    """The ``Store`` port on SQLite (``sqlite:///path.db``) or PostgreSQL
    (``postgresql+psycopg://...``). Create the schema first with ``upgrade_database``."""

    def __init__(
        self,
        url: str,
        *,
        echo: bool = False,
        cipher: TokenCipher | None = None,
        fetch_cache_dir: str | None = None,
    ) -> None:
        self.engine: Engine = create_store_engine(url, echo=echo, temp_in_memory=True)
        self.cipher = cipher
        self.fetch_cache_dir = fetch_cache_dir or None

    def unit_of_work(self, *, foreign_keys: bool = True) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine, self.cipher, foreign_keys=foreign_keys)

    def reencrypt_tokens(self) -> int:
        """Encrypt every stored Clever token with the current key (after a rotation, or for
        tokens stored before encryption at rest); returns how many were rewritten."""
        with self.unit_of_work() as uow:
            changed = uow.repos.districts.reencrypt_tokens()
            uow.commit()
        return changed

    def staging(self, district_id: str | None = None) -> SqliteStaging | PgStaging:
        """A staging area for one fetch; close it after use. With a fetch cache directory
        and a district, the district's cache file there (``storage.staging``). Without one,
        a temporary file, or on PostgreSQL temporary tables on the server
        (``storage.staging_pg``), which leave the sync process less to do."""
        if self.fetch_cache_dir is None or district_id is None:
            if self.engine.dialect.name == "postgresql":
                return PgStaging(self.engine)
            return SqliteStaging()
        return SqliteStaging(cache_path(self.fetch_cache_dir, self.engine.url, district_id))

    def named_lock(self, name: str, *, wait_s: float = 0.0) -> AbstractContextManager[None]:
        """A lock across processes, held for a ``with`` block (see ``storage/locks.py``)."""
        return named_lock(self.engine, name, wait_s=wait_s)

    def dispose(self) -> None:
        """Close the pooled connections (at shutdown, or before deleting a SQLite file)."""
        self.engine.dispose()


class _Repos:
    def __init__(self, conn: Connection, cipher: TokenCipher | None = None) -> None:
        self.conn = conn
        self.districts = DistrictsRepo(conn, cipher)
        self.roster = RosterRepo(conn)
        self.runs = RunsRepo(conn)
        self.admins = AdminsRepo(conn)
        self.outbox = OutboxRepo(conn)
        self.access = AccessRepo(conn)
        self.review = ReviewRepo(conn)


def _foreign_keys(conn: Connection, *, on: bool) -> None:
    """Switch SQLite's foreign key checks on the connection, outside any transaction (the
    pragma is a no-op inside one), and make sure it took."""
    dbapi = conn.connection.dbapi_connection
    assert dbapi is not None
    dbapi.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")
    (state,) = dbapi.execute("PRAGMA foreign_keys").fetchone()
    if bool(state) is not on:
        raise RuntimeError(
            "SQLite did not switch its foreign key checks "
            f"{'on' if on else 'off'}: the connection was inside a transaction."
        )


class SqlUnitOfWork:
    """The ``UnitOfWork`` port: ``with store.unit_of_work() as uow: ...; uow.commit()``.

    After ``commit`` the unit of work may go on; later writes need another ``commit``.
    """

    def __init__(
        self, engine: Engine, cipher: TokenCipher | None = None, *, foreign_keys: bool = True
    ) -> None:
        self._engine = engine
        self._cipher = cipher
        # SQLite only: False switches the connection's foreign key checks off for this unit
        # of work (see ``Store.unit_of_work``); they are switched on again before the
        # connection goes back to the pool.
        self._unchecked = not foreign_keys and engine.dialect.name == "sqlite"
        self._repos: _Repos | None = None

    def __enter__(self) -> SqlUnitOfWork:
        if self._repos is not None:
            raise RuntimeError(
                "This unit of work is already open; open a new one with store.unit_of_work()."
            )
        conn = self._engine.connect()
        if self._unchecked:  # before the first statement begins the transaction
            try:
                _foreign_keys(conn, on=False)
            except BaseException:
                conn.close()
                raise
        self._repos = _Repos(conn, self._cipher)
        return self

    def __exit__(self, *exc: object) -> None:
        repos, self._repos = self._repos, None
        if repos is None:
            return
        conn = repos.conn
        try:
            if conn.in_transaction():
                conn.rollback()
            if self._unchecked:
                _foreign_keys(conn, on=True)
            if repos.roster.grown:  # back to the pool with the default page cache
                set_cache(conn.connection.dbapi_connection, bulk=False)
        except BaseException:
            if self._unchecked or repos.roster.grown:  # never back to the pool changed
                conn.invalidate()
            raise
        finally:
            conn.close()

    @property
    def repos(self) -> _Repos:
        """The open repositories (for store-level maintenance such as key rotation)."""
        return self._open

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

    def upsert_schools(self, district_id: str, records: Sequence[SchoolRecord]) -> None:
        self._open.districts.upsert_schools(district_id, records)

    def save_status(self, school_id: str, status: SchoolStatus) -> None:
        self._open.districts.save_status(school_id, status)

    def lock_district(self, district_id: str) -> None:
        """Serialise syncs of one district (see ``DistrictsRepo.lock_district``)."""
        self._open.districts.lock_district(district_id)

    # roster
    def load_roster(self, school_id: str) -> SchoolRoster:
        return self._open.roster.load_roster(school_id)

    def load_roster_part(self, school_id: str, scope: Scope) -> SchoolRoster:
        return self._open.roster.load_roster_part(school_id, scope)

    def contacts_per_student(self, school_id: str, students: Collection[str]) -> dict[str, int]:
        return self._open.roster.contacts_per_student(school_id, students)

    def linked_accounts(self, school_id: str, ids: Collection[str]) -> dict[str, Account]:
        return self._open.roster.linked_accounts(school_id, ids)

    def apply_changes(
        self, school: SchoolRow, change_set: ChangeSet, checkpoint: Checkpoint | None = None
    ) -> int:
        """Write a change set to the school's roster; bump its roster version."""
        return self._open.roster.apply_changes(school, change_set, checkpoint)

    def apply_roster(
        self,
        school: SchoolRow,
        roster: SchoolRoster | FreshRoster,
        checkpoint: Checkpoint | None = None,
    ) -> int:
        """Write a whole roster to a school that holds no row yet; bump its version."""
        return self._open.roster.apply_roster(school, roster, checkpoint)

    def roster_total(self, district_id: str) -> int:
        return self._open.roster.roster_total(district_id)

    def input_check(self, school_id: str) -> tuple[str, int] | None:
        return self._open.roster.input_check(school_id)

    def save_input_check(self, school_id: str, digest: str | None, stamp: int) -> None:
        self._open.roster.save_input_check(school_id, digest, stamp)

    def save_input_checks(self, digests: Mapping[str, str], stamp: int) -> None:
        self._open.roster.save_input_checks(digests, stamp)

    def save_checked_status(self, school_id: str, status: SchoolStatus, digest: str | None) -> int:
        return self._open.roster.save_checked_status(school_id, status, digest)

    def part_check(self, school_id: str) -> tuple[SkipCheck, int] | None:
        return self._open.runs.part_check(school_id)

    # runs
    def add_run(self, run: RunRecord, held: ChangeSet | None = None) -> None:
        self._open.runs.add_run(run, held)

    def get_run(self, run_id: str) -> RunRecord | None:
        return self._open.runs.get_run(run_id)

    def list_runs(self, school_id: str, limit: int = 20) -> list[RunRecord]:
        return self._open.runs.list_runs(school_id, limit)

    def last_run_outline(self, school_id: str) -> RunRecord | None:
        return self._open.runs.last_run_outline(school_id)

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

    def get_email(self, message_id: str) -> OutboxMessage | None:
        return self._open.outbox.get_email(message_id)

    def mark_email_sent(self, message_id: str, at: datetime) -> None:
        self._open.outbox.mark_email_sent(message_id, at)

    def mark_email_failed(self, message_id: str, error: str) -> None:
        self._open.outbox.mark_email_failed(message_id, error)

    # the dashboard: held changes by page, access, settings log
    def held_changes_page(
        self, run_id: str, *, entity: str | None, op: str | None, offset: int, limit: int
    ) -> tuple[int, list[Change]]:
        return self._open.review.held_changes_page(
            run_id, entity=entity, op=op, offset=offset, limit=limit
        )

    def admins_by_email(self, email: str) -> list[Admin]:
        return self._open.admins.admins_by_email(email)

    def password_hash(self, email: str) -> str | None:
        return self._open.access.password_hash(email)

    def set_password_hash(self, email: str, password_hash: str) -> int:
        return self._open.access.set_password_hash(email, password_hash)

    def set_admin_notify(self, admin_id: str, notify: bool) -> None:
        self._open.access.set_admin_notify(admin_id, notify)

    def add_login_attempt(self, attempt: LoginAttempt) -> None:
        self._open.access.add_login_attempt(attempt)

    def count_login_failures(
        self, *, email: str | None, client: str | None, since: datetime
    ) -> int:
        return self._open.access.count_login_failures(email=email, client=client, since=since)

    def add_web_session(self, session: WebSession) -> None:
        self._open.access.add_web_session(session)

    def get_web_session(self, id_hash: str) -> WebSession | None:
        return self._open.access.get_web_session(id_hash)

    def delete_web_session(self, id_hash: str) -> None:
        self._open.access.delete_web_session(id_hash)

    def add_api_token(self, token: ApiToken) -> None:
        self._open.access.add_api_token(token)

    def api_token_by_hash(self, token_hash: str) -> ApiToken | None:
        return self._open.access.api_token_by_hash(token_hash)

    def list_api_tokens(self, email: str) -> list[ApiToken]:
        return self._open.access.list_api_tokens(email)

    def revoke_api_token(self, token_id: str, at: datetime) -> bool:
        return self._open.access.revoke_api_token(token_id, at)

    def touch_api_token(self, token_id: str, at: datetime) -> None:
        self._open.access.touch_api_token(token_id, at)

    def add_invite(self, invite: Invite) -> None:
        self._open.access.add_invite(invite)

    def get_invite(self, token_hash: str) -> Invite | None:
        return self._open.access.get_invite(token_hash)

    def use_invite(self, token_hash: str, at: datetime) -> None:
        self._open.access.use_invite(token_hash, at)

    def add_settings_change(self, change: SettingsChange) -> None:
        self._open.review.add_settings_change(change)

    def list_settings_changes(self, district_id: str, limit: int = 50) -> list[SettingsChange]:
        return self._open.review.list_settings_changes(district_id, limit)

    # unchanged runs in bulk (service.unchanged)
    def skip_checks(self, district_id: str, start: SchoolRow, limit: int) -> list[SkipCheck]:
        return self._open.runs.skip_checks(district_id, start, limit)

    def runs_problems(self, run_ids: Sequence[str]) -> dict[str, tuple[RowProblem, ...]]:
        return self._open.runs.runs_problems(run_ids)

    def add_unchanged_runs(self, runs: Sequence[tuple[RunRecord, str | None]]) -> None:
        self._open.runs.add_unchanged_runs(runs)

    def save_statuses(self, statuses: Sequence[tuple[str, SchoolStatus]]) -> None:
        self._open.districts.save_statuses(statuses)
