"""A school's applied roster: loading it, and writing a change set to it in bulk.

The SQL apply must end in exactly the state ``domain.changes.apply_changes`` computes, and
it must stay fast for change sets of 100k rows and more (a first load writes every row of
every school), so every group of the change set is one driver-level statement sent with
executemany and plain tuples (``roster_sql``); on PostgreSQL an INSERT takes its rows as one
array per column, or by COPY when large or into a table without rows of the school
(``roster_copy``: psycopg's adaptation of the arrays cost most of a first load's CPU).
Tables holding no row of the school yet get plain INSERTs; the others get upserts. Accounts
are district-wide and never deleted: they are upserted when linked, deactivated when their
last school link goes, and restored when they come back.
"""

from __future__ import annotations

import gc
import json
import sqlite3
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import partial
from typing import Any

from sqlalchemy import (
    Boolean,
    Connection,
    Integer,
    String,
    Update,
    bindparam,
    case,
    null,
    select,
    update,
)

from rostersync.domain.changes import ChangeSet
from rostersync.domain.partial import Scope
from rostersync.domain.roster import Account, ClassInfo, FreshRoster, LinkInfo, SchoolRoster
from rostersync.domain.state import SchoolStatus
from rostersync.errors import NotFoundError
from rostersync.service.model import SchoolRow
from rostersync.service.ports import Checkpoint
from rostersync.storage.districts_repo import STATUS_COLUMNS, status_columns
from rostersync.storage.engine import set_cache
from rostersync.storage.roster_copy import CopyWrite, by_copy
from rostersync.storage.roster_plan import (
    RosterPlan,
    plan_changes,
    plan_fresh,
    plan_roster,
    school_inserts,
)
from rostersync.storage.roster_sql import (
    BUMP_PARTS,
    SCHOOL_TABLES,
    JointWrite,
    Write,
    joined,
    roster_writes,
    sql,
    sqlite_batches,
)
from rostersync.storage.tables import accounts, districts, schools


class RosterRepo:
    """Loads and writes the roster tables of one school at a time, on one connection."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        # Roster rows written per table by the last apply_changes (for the benchmark).
        self.written: dict[str, int] = {}
        # The connection's page cache was grown for whole rosters (``apply_roster``); the
        # unit of work gives it back at the default size.
        self.grown = False

    def load_roster(self, school_id: str) -> SchoolRoster:
        """What is applied for the school now: linked accounts, live classes and links.

        Read with the driver's own cursor, in the connection's transaction: building
        SQLAlchemy rows and mappings for every stored row cost more than the diff."""
        roster = SchoolRoster(school_id=school_id)
        cursor = self._conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        mark = self._mark()
        try:
            cursor.execute(_LINKED.format(mark=mark), (school_id,))
            for role, source_id, roles, *fields in cursor.fetchall():
                account = Account(source_id, tuple(roles.split(",")) if roles else (), *fields)
                roster.accounts[source_id] = account
                roster.links.add((source_id, role))
            cursor.execute(_LIVE.format(mark=mark), (school_id,))
            roster.classes = {row[0]: ClassInfo(*row) for row in cursor.fetchall()}
            cursor.execute(_MEMBERS.format(mark=mark), (school_id,))
            roster.memberships = set(cursor.fetchall())
            cursor.execute(_CONTACTS.format(mark=mark), (school_id,))
            roster.contact_links = {(c, s): LinkInfo(r, t) for c, s, r, t in cursor.fetchall()}
        finally:
            cursor.close()
        return roster

    def load_roster_part(self, school_id: str, scope: Scope) -> SchoolRoster:
        """The rows of ``load_roster`` in ``scope`` (``domain.partial.restrict``)."""
        roster = SchoolRoster(school_id=school_id)
        accounts, classes = sorted(scope.accounts), sorted(scope.classes)
        mark, ids = self._mark(), self._ids()
        cursor = self._conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(
                _LINKED_PART.format(mark=mark, each=self._each()),
                (self._list(accounts), school_id, school_id),
            )
            for role, source_id, roles, *fields in cursor.fetchall():
                account = Account(source_id, tuple(roles.split(",")) if roles else (), *fields)
                roster.accounts[source_id] = account
                roster.links.add((source_id, role))
            if classes:
                cursor.execute(
                    _LIVE_PART.format(mark=mark, ids=ids), (school_id, self._list(classes))
                )
                roster.classes = {row[0]: ClassInfo(*row) for row in cursor.fetchall()}
            cursor.execute(
                _MEMBERS_PART.format(mark=mark, ids=ids),
                (school_id, self._list(classes), self._list(accounts)),
            )
            roster.memberships = set(cursor.fetchall())
            cursor.execute(
                _CONTACTS_PART.format(mark=mark, ids=ids), (school_id, self._list(accounts))
            )
            roster.contact_links = {(c, s): LinkInfo(r, t) for c, s, r, t in cursor.fetchall()}
        finally:
            cursor.close()
        return roster

    def contacts_per_student(self, school_id: str, students: Collection[str]) -> dict[str, int]:
        if not students:
            return {}
        query = _CONTACTS_PER_STUDENT.format(mark=self._mark(), ids=self._ids())
        rows = self._conn.exec_driver_sql(query, (school_id, self._list(sorted(students))))
        return {str(student): int(n) for student, n in rows}

    def linked_accounts(self, school_id: str, ids: Collection[str]) -> dict[str, Account]:
        if not ids:
            return {}
        query = _LINKED_PART.format(mark=self._mark(), each=self._each())
        rows = self._conn.exec_driver_sql(query, (self._list(sorted(ids)), school_id, school_id))
        return {
            source_id: Account(source_id, tuple(roles.split(",")) if roles else (), *fields)
            for _role, source_id, roles, *fields in rows
        }

    def _ids(self) -> str:
        """The SQL for "is in the list bound at ``{mark}``": a JSON array on SQLite, an array
        on PostgreSQL; either way one parameter, however long the list."""
        if self._engine() == "sqlite":
            return "IN (SELECT value FROM json_each(?))"
        return "= ANY(%s)"

    def _each(self) -> str:
        """The SQL of a list bound as one parameter, as rows of one column ``j.value``."""
        if self._engine() == "sqlite":
            return "json_each(?) AS j"
        return "unnest(%s::text[]) AS j(value)"

    def _list(self, values: list[str]) -> Any:
        return json.dumps(values) if self._engine() == "sqlite" else values

    def roster_total(self, district_id: str) -> int:
        """The sum of the district's roster versions (kept by ``apply_changes``)."""
        total = self._conn.execute(_TOTAL, {"b_district_id": district_id}).scalar_one_or_none()
        return int(total or 0)

    def input_check(self, school_id: str) -> tuple[str, int] | None:
        row = self._conn.execute(_INPUT_CHECK, {"b_school_id": school_id}).first()
        if row is None or row.input_digest is None or row.digest_stamp is None:
            return None
        return str(row.input_digest), int(row.digest_stamp)

    def save_input_check(self, school_id: str, digest: str | None, stamp: int) -> None:
        values = {"input_digest": digest, "digest_stamp": stamp if digest is not None else None}
        self._conn.execute(update(schools).where(schools.c.id == school_id).values(values))

    def save_input_checks(self, digests: Mapping[str, str], stamp: int) -> None:
        """``save_input_check`` of each school in ``digests`` (school id to digest), all
        stamped ``stamp``: one statement, however many schools (a resync restamps every
        school it verified)."""
        if digests:
            rows = [{"b_id": i, "b_digest": d, "b_stamp": stamp} for i, d in digests.items()]
            self._conn.execute(_RESTAMP, rows)

    def save_checked_status(self, school_id: str, status: SchoolStatus, digest: str | None) -> int:
        """``save_status`` and ``save_input_check`` in one statement, the stamp being the
        district's roster total as this transaction leaves it (or none, forgetting the
        digest, with ``digest`` ``None``); that total, read in the same statement."""
        params = {f"b_{k}": v for k, v in status_columns(status).items()}
        params.update(b_id=school_id, b_input_digest=digest, b_keep=digest is not None)
        total = self._conn.execute(_SAVE_CHECKED, params).first()
        if total is None:
            raise NotFoundError(
                f"There is no school with id {school_id!r}; its status was not saved. "
                "Create the school with upsert_school first."
            )
        return int(total[1] or 0)

    def apply_changes(
        self, school: SchoolRow, change_set: ChangeSet, checkpoint: Checkpoint | None = None
    ) -> int:
        """Write the change set; return the roster rows inserted, updated and deleted.

        The rows per table are kept in ``written`` until the next apply."""
        plan = None if change_set.is_empty() else partial(plan_changes, change_set)
        return self._apply(school, plan, checkpoint)

    def apply_roster(
        self,
        school: SchoolRow,
        roster: SchoolRoster | FreshRoster,
        checkpoint: Checkpoint | None = None,
    ) -> int:
        """``apply_changes(school, diff(load_roster(school.id), roster))`` for a school that
        holds no row yet (its first load), without the change set: every row of ``roster``
        is written as added, in the same order, to the same end state."""
        plan: Callable[[], RosterPlan] | None = None
        if isinstance(roster, FreshRoster):
            plan = None if roster.is_empty() else partial(plan_fresh, roster)
        elif not roster.is_empty():
            plan = partial(plan_roster, roster)
        if plan is not None and not self.grown and self._engine() == "sqlite":
            # Whole rosters: the larger page cache, until the unit of work ends.
            set_cache(self._conn.connection.dbapi_connection, bulk=True)
            self.grown = True
        return self._apply(school, plan, checkpoint)

    def _apply(
        self,
        school: SchoolRow,
        plan: Callable[[], RosterPlan] | None,
        checkpoint: Checkpoint | None,
    ) -> int:
        """Write the plan (made with the collector paused; ``None``: nothing to write), bump
        the school's roster version and the district's total; the rows written."""
        self.written = {}
        if plan is None:
            return 0
        with _collector_paused():
            bumped = self._write(school, plan(), checkpoint)
        if not bumped:  # (on PostgreSQL a joint write bumps them itself)
            self._bump(school)
        return sum(self.written.values())

    def _bump(self, school: SchoolRow) -> None:
        """Bump the school's roster version and its district's total."""
        if self._engine() == "postgresql":  # one round trip (SQLite has no UPDATE in WITH)
            self._conn.exec_driver_sql(_BUMP_BOTH, (school.id, school.district_id))
        else:
            self._conn.execute(_BUMP_SCHOOL, {"b_id": school.id})
            self._conn.execute(_BUMP_TOTAL, {"b_id": school.district_id})

    def _write(self, school: SchoolRow, plan: RosterPlan, checkpoint: Checkpoint | None) -> bool:
        """Send the plan's writes; whether the roster version was bumped with them (on
        PostgreSQL, inside the joint write when there is one)."""
        key = (school.id, school.district_id)
        # Plain INSERTs (and COPY straight into the table on PostgreSQL) pay only for many
        # rows; for a few, the upserts cost as much as asking which tables are empty.
        fresh = self._fresh(school.id) if school_inserts(plan) >= FRESH_MIN_ROWS else frozenset()
        built = roster_writes(plan, key, self._now(), self._engine(), fresh)
        non_empty = [w for w in built if w.rows]
        pg = self._engine() == "postgresql"
        writes: list[Write | CopyWrite | JointWrite]
        writes = joined(by_copy(non_empty), key) if pg else [*non_empty]
        half = (len(writes) + 1) // 2
        for number, write in enumerate(writes, start=1):
            for table, count in self._run(write):
                self.written[table] = self.written.get(table, 0) + count
            if checkpoint is not None and number == half:
                checkpoint("mid_apply")
        return any(isinstance(write, JointWrite) and write.bump for write in writes)

    def _run(self, write: Write | CopyWrite | JointWrite) -> list[tuple[str, int]]:
        """Send one write; the rows it inserted, updated or deleted, by table."""
        if isinstance(write, CopyWrite):
            return [(write.table, write.run(self._conn))]
        # Driver-level SQL, but through SQLAlchemy (no per-row cost there) so the
        # transaction and the cursor events (write counters in tests) still hold.
        if isinstance(write, JointWrite):
            counts = self._conn.exec_driver_sql(write.sql, write.params()).one()
            return [(w.table, int(n)) for w, n in zip(write.writes, counts, strict=True)]
        if self._engine() != "sqlite":
            rows = self._conn.exec_driver_sql(write.sql, (write.json_rows(),)).rowcount
            return [(write.table, rows)]
        count = 0
        for text, params in sqlite_batches(write, self._max_variables()):
            count += self._conn.exec_driver_sql(text, params).rowcount
        return [(write.table, count)]

    def _max_variables(self) -> int:
        """How many values one SQLite statement may bind (32,766 since SQLite 3.32)."""
        dbapi = self._conn.connection.dbapi_connection
        return int(dbapi.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER))  # type: ignore[union-attr]

    def _mark(self) -> str:
        return "?" if self._conn.dialect.paramstyle == "qmark" else "%s"

    def _engine(self) -> str:
        return self._conn.dialect.name

    def _now(self) -> Any:
        """The deactivation time as the driver takes it (SQLite keeps naive UTC text)."""
        now = datetime.now(UTC)
        processor = accounts.c.deactivated_at.type.bind_processor(self._conn.dialect)
        return now if processor is None else processor(now)

    def _fresh(self, school_id: str) -> frozenset[str]:
        """The roster tables holding no row of the school yet (first load: all four), one
        round trip.

        Read in the apply's transaction, after the district lock every apply takes, so no
        other writer adds rows of the school before the plain INSERTs run."""
        query = sql("school_has_rows", self._engine())
        held = self._conn.exec_driver_sql(query, (school_id,) * len(SCHOOL_TABLES)).one()
        return frozenset(t for t, has in zip(SCHOOL_TABLES, held, strict=True) if not has)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while the plan and its rows are built and written.

    They are hundreds of thousands of tuples of strings, which cannot form cycles, yet each
    700 of them start a collection, and every so often one that walks the whole heap (the
    district's rosters): about a fifth of a first load's apply. Paused until they are freed,
    so no collection walks them at all."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


# From how many rows inserted into a school's tables a write asks which of them are empty
# (``RosterRepo._fresh``); below, every INSERT goes as an upsert. A resync touches most
# schools with a few rows each, and the question cost a round trip per school.
FRESH_MIN_ROWS = 500

# Built once: each statement's cache key is then memoized, not walked again per school.
_TOTAL = select(districts.c.roster_total).where(
    districts.c.id == bindparam("b_district_id", type_=String())
)
_INPUT_CHECK = select(schools.c.input_digest, schools.c.digest_stamp).where(
    schools.c.id == bindparam("b_school_id", type_=String())
)
_RESTAMP = (
    update(schools)
    .where(schools.c.id == bindparam("b_id", type_=String()))
    .values(
        input_digest=bindparam("b_digest", type_=String()),
        digest_stamp=bindparam("b_stamp", type_=Integer()),
    )
)
_BUMP_SCHOOL = (
    update(schools)
    .where(schools.c.id == bindparam("b_id", type_=String()))
    .values(roster_version=schools.c.roster_version + 1)
)
_BUMP_TOTAL = (
    update(districts)
    .where(districts.c.id == bindparam("b_id", type_=String()))
    .values(roster_total=districts.c.roster_total + 1)
)

_BUMP_BOTH = f"WITH {BUMP_PARTS} SELECT 1"  # the bump alone, when no joint write took it


def _save_checked() -> Update:
    """The school's status columns (``b_<column>``) and input check: the digest
    ``b_input_digest`` stamped with the district's roster total when ``b_keep``, else none;
    returning the school's id and that total."""
    total = (
        select(districts.c.roster_total)
        .where(districts.c.id == schools.c.district_id)
        .scalar_subquery()
    )
    keep = bindparam("b_keep", type_=Boolean())
    values: dict[str, Any] = {
        name: bindparam(f"b_{name}", type_=schools.c[name].type) for name in STATUS_COLUMNS
    }
    values["input_digest"] = bindparam("b_input_digest", type_=String())
    values["digest_stamp"] = case((keep, total), else_=null())
    return (
        update(schools)
        .where(schools.c.id == bindparam("b_id", type_=String()))
        .values(values)
        .returning(schools.c.id, total)
    )


_SAVE_CHECKED = _save_checked()

# Columns in the order of ``Account`` and ``ClassInfo`` (after the keys), so rows unpack.
_LINKED = (
    "SELECT l.role, a.source_id, a.roles, a.first_name, a.middle_name, a.last_name, a.email,"
    " a.sis_id, a.number, a.grade, a.phone"
    " FROM school_links l JOIN accounts a ON a.id = l.account_id WHERE l.school_id = {mark}"
)
_LIVE = (
    "SELECT source_id, name, subject, period, grade, section_number, sis_id, term, course"
    " FROM classes WHERE school_id = {mark} AND NOT archived"
)
_MEMBERS = (
    "SELECT class_source_id, account_source_id, role FROM memberships WHERE school_id = {mark}"
)
_CONTACTS = (
    "SELECT contact_source_id, student_source_id, relationship, type FROM contact_links"
    " WHERE school_id = {mark}"
)

# The same reads, of the rows in a scope (``{ids}``: see ``RosterRepo._ids``).
# The accounts are found by source id (few), not by scanning the school's links; written
# as CROSS JOINs, which SQLite takes in this order. ``{each}``: the ids as rows ``j.value``.
_LINKED_PART = (
    "SELECT l.role, a.source_id, a.roles, a.first_name, a.middle_name, a.last_name, a.email,"
    " a.sis_id, a.number, a.grade, a.phone"
    " FROM {each} CROSS JOIN accounts a CROSS JOIN school_links l"
    " WHERE a.district_id = (SELECT district_id FROM schools WHERE id = {mark})"
    " AND a.source_id = j.value AND l.account_id = a.id AND l.school_id = {mark}"
)
_LIVE_PART = _LIVE + " AND source_id {ids}"
_MEMBERS_PART = _MEMBERS + " AND (class_source_id {ids} OR account_source_id {ids})"
_CONTACTS_PART = _CONTACTS + " AND contact_source_id {ids}"
_CONTACTS_PER_STUDENT = (
    "SELECT student_source_id, count(*) FROM contact_links"
    " WHERE school_id = {mark} AND student_source_id {ids} GROUP BY student_source_id"
)
