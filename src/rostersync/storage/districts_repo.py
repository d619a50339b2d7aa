"""Districts and schools: their settings, identities and sync status.

A school gets its internal id here, on first sight (``upsert_school``), so that the rest of
the store can refer to it without caring which source it came from.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, bindparam, select, update

from rostersync.domain.policy import HoldKind
from rostersync.domain.records import SchoolRecord
from rostersync.domain.state import SchoolStatus, SyncState
from rostersync.service.model import DistrictConfig, Plan, SchoolRow
from rostersync.storage.codec import policy_columns, policy_from_row
from rostersync.storage.crypto import TokenCipher
from rostersync.storage.errors import AlreadyExistsError, NotFoundError
from rostersync.storage.statements import upsert_insert
from rostersync.storage.tables import districts, schools


def new_school_id() -> str:
    return "sch_" + secrets.token_hex(6)


class DistrictsRepo:
    """Reads and writes ``districts`` and ``schools`` on one connection."""

    def __init__(self, conn: Connection, cipher: TokenCipher | None = None) -> None:
        self._conn = conn
        self._cipher = cipher

    def _columns(self, config: DistrictConfig) -> dict[str, Any]:
        values = _district_columns(config)
        if self._cipher is not None:
            values["clever_token"] = self._cipher.encrypt(config.clever_token)
        return values

    def _config(self, row: Mapping[Any, Any]) -> DistrictConfig:
        config = _district_from_row(row)
        if self._cipher is None:
            return config
        return replace(config, clever_token=self._cipher.decrypt(config.clever_token))

    def reencrypt_tokens(self) -> int:
        """Re-encrypt every stored token with the current key; returns how many changed."""
        if self._cipher is None:
            return 0
        changed = 0
        for row in self._conn.execute(select(districts.c.id, districts.c.clever_token)):
            fresh = self._cipher.reencrypt(row.clever_token)
            if fresh != row.clever_token:
                stmt = update(districts).where(districts.c.id == row.id)
                self._conn.execute(stmt.values(clever_token=fresh))
                changed += 1
        return changed

    # districts
    def add_district(self, config: DistrictConfig) -> None:
        if self.get_district(config.id) is not None:
            raise AlreadyExistsError(
                f"A district with id {config.id!r} exists already. "
                "Choose another id, or update the existing district instead."
            )
        created = config.created_at or datetime.now(UTC)
        values = {**self._columns(config), "id": config.id, "created_at": created}
        self._conn.execute(districts.insert().values(values))

    def get_district(self, district_id: str) -> DistrictConfig | None:
        row = self._conn.execute(select(districts).where(districts.c.id == district_id)).first()
        return None if row is None else self._config(row._mapping)

    def list_districts(self) -> list[DistrictConfig]:
        rows = self._conn.execute(select(districts).order_by(districts.c.name, districts.c.id))
        return [self._config(r._mapping) for r in rows]

    def update_district(self, config: DistrictConfig) -> None:
        values = self._columns(config)
        if config.created_at is not None:
            values["created_at"] = config.created_at
        stmt = update(districts).where(districts.c.id == config.id).values(values)
        if self._conn.execute(stmt).rowcount == 0:
            raise NotFoundError(
                f"There is no district with id {config.id!r} to update. "
                "Add it first with add_district, or check the id against list_districts."
            )

    def lock_district(self, district_id: str) -> None:
        """Serialise the syncs of one district until this transaction ends.

        PostgreSQL: a row lock on the district (``SELECT ... FOR UPDATE``). SQLite has no
        row locks; it takes the database's write lock with a write that changes nothing,
        which makes other writers wait (busy timeout) until this transaction ends. On
        SQLite call it first in the unit of work: a transaction that has already read
        cannot wait for the write lock and fails at once if another writer got there.
        """
        if self._conn.dialect.name == "postgresql":
            stmt = select(districts.c.id).where(districts.c.id == district_id).with_for_update()
            found = self._conn.execute(stmt).first() is not None
        else:
            touch = update(districts).where(districts.c.id == district_id)
            found = self._conn.execute(touch.values(name=districts.c.name)).rowcount > 0
        if not found:
            raise NotFoundError(
                f"There is no district with id {district_id!r} to lock. "
                "Add the district before syncing it."
            )

    # schools
    def list_schools(self, district_id: str | None = None) -> list[SchoolRow]:
        stmt = select(schools).order_by(schools.c.district_id, schools.c.name, schools.c.id)
        if district_id is not None:
            stmt = stmt.where(schools.c.district_id == district_id)
        return [_school_from_row(r._mapping) for r in self._conn.execute(stmt)]

    def get_school(self, ref: str) -> SchoolRow | None:
        by_id = self._conn.execute(select(schools).where(schools.c.id == ref)).first()
        if by_id is not None:
            return _school_from_row(by_id._mapping)
        stmt = select(schools).where(schools.c.source_id == ref).order_by(schools.c.id).limit(1)
        by_source = self._conn.execute(stmt).first()
        return None if by_source is None else _school_from_row(by_source._mapping)

    def upsert_school(self, district_id: str, record: SchoolRecord) -> SchoolRow:
        insert = upsert_insert(self._conn, schools).values(_new_school(district_id, record))
        self._conn.execute(
            insert.on_conflict_do_nothing(index_elements=["district_id", "source_id"])
        )
        key = (schools.c.district_id == district_id) & (schools.c.source_id == record.source_id)
        rename = update(schools).where(key, schools.c.name != record.name)
        self._conn.execute(rename.values(name=record.name))
        row = self._conn.execute(select(schools).where(key)).one()
        return _school_from_row(row._mapping)

    def upsert_schools(self, district_id: str, records: Sequence[SchoolRecord]) -> None:
        """``upsert_school`` for many schools, in two statements (each an ``executemany``):
        a first sync of a large district registers thousands."""
        if not records:
            return
        new = [_new_school(district_id, record) for record in records]
        insert = upsert_insert(self._conn, schools)
        self._conn.execute(
            insert.on_conflict_do_nothing(index_elements=["district_id", "source_id"]), new
        )
        names = [
            {"b_district_id": district_id, "b_source_id": r.source_id, "b_name": r.name}
            for r in records
        ]
        self._conn.execute(_RENAME, names)

    def save_status(self, school_id: str, status: SchoolStatus) -> None:
        stmt = update(schools).where(schools.c.id == school_id).values(status_columns(status))
        if self._conn.execute(stmt).rowcount == 0:
            raise NotFoundError(
                f"There is no school with id {school_id!r}; its status was not saved. "
                "Create the school with upsert_school first."
            )

    def save_statuses(self, statuses: Sequence[tuple[str, SchoolStatus]]) -> None:
        """``save_status`` for many schools, in one executemany."""
        if not statuses:
            return
        stmt = (
            update(schools)
            .where(schools.c.id == bindparam("b_id"))
            .values({name: bindparam(f"b_{name}") for name in STATUS_COLUMNS})
        )
        rows = [
            {"b_id": school_id, **{f"b_{k}": v for k, v in status_columns(status).items()}}
            for school_id, status in statuses
        ]
        updated = self._conn.execute(stmt, rows).rowcount
        if self._conn.dialect.supports_sane_multi_rowcount and updated != len(rows):
            raise NotFoundError(
                f"Only {updated} of {len(rows)} schools were found; no status was saved. "
                "Create the schools with upsert_school first."
            )


def _district_columns(config: DistrictConfig) -> dict[str, Any]:
    return {
        "name": config.name,
        "clever_token": config.clever_token,
        "clever_base_url": config.clever_base_url,
        **policy_columns(config.policy),
        "interval_s": config.interval_s,
        "plan": config.plan.value,
        "source_district_id": config.source_district_id,
        "timezone": config.timezone,
        "last_sync_at": config.last_sync_at,
    }


def _district_from_row(row: Mapping[Any, Any]) -> DistrictConfig:
    return DistrictConfig(
        id=row["id"],
        name=row["name"],
        clever_token=row["clever_token"],
        clever_base_url=row["clever_base_url"],
        policy=policy_from_row(row),
        interval_s=row["interval_s"],
        plan=Plan(row["plan"]),
        source_district_id=row["source_district_id"],
        timezone=row["timezone"],
        created_at=row["created_at"],
        last_sync_at=row["last_sync_at"],
    )


def _school_from_row(row: Mapping[Any, Any]) -> SchoolRow:
    hold_kind = row["hold_kind"]
    status = SchoolStatus(
        state=SyncState(row["state"]),
        hold_kind=HoldKind(hold_kind) if hold_kind is not None else None,
        hold_since=row["hold_since"],
        consecutive_failures=row["consecutive_failures"],
        last_success_at=row["last_success_at"],
        last_error=row["last_error"],
    )
    return SchoolRow(
        id=row["id"],
        district_id=row["district_id"],
        source_id=row["source_id"],
        name=row["name"],
        status=status,
        roster_version=row["roster_version"],
    )


STATUS_COLUMNS = (
    "state",
    "hold_kind",
    "hold_since",
    "consecutive_failures",
    "last_success_at",
    "last_error",
)


def status_columns(status: SchoolStatus) -> dict[str, Any]:
    return {
        "state": status.state.value,
        "hold_kind": status.hold_kind.value if status.hold_kind is not None else None,
        "hold_since": status.hold_since,
        "consecutive_failures": status.consecutive_failures,
        "last_success_at": status.last_success_at,
        "last_error": status.last_error,
    }


def school_from_row(row: Mapping[Any, Any]) -> SchoolRow:
    """A ``SchoolRow`` from a row holding the ``schools`` columns (for other repositories'
    queries that read schools along with their own tables)."""
    return _school_from_row(row)


def _new_school(district_id: str, record: SchoolRecord) -> dict[str, Any]:
    """The row of a school seen for the first time: a new id, never synced."""
    return {
        "id": new_school_id(),
        "district_id": district_id,
        "source_id": record.source_id,
        "name": record.name,
        "state": SyncState.NEVER_SYNCED.value,
        "consecutive_failures": 0,
        "last_error": "",
        "roster_version": 0,
    }


# A school renamed in the source (``upsert_schools``): only where the name differs.
_RENAME = (
    update(schools)
    .where(
        schools.c.district_id == bindparam("b_district_id"),
        schools.c.source_id == bindparam("b_source_id"),
        schools.c.name != bindparam("b_name"),
    )
    .values(name=bindparam("b_name"))
)
