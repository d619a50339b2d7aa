"""A school's applied roster: loading it, and writing a change set to it in bulk.

The SQL apply must end in exactly the state ``domain.changes.apply_changes`` computes, and
it must stay fast for change sets of 100k rows and more, so every group of the change set is
written with one statement sent as executemany (SQLAlchemy batches INSERTs into multi-row
statements). Accounts are district-wide and never deleted: they are upserted when linked,
deactivated when their last school link goes, and restored when they come back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Connection,
    String,
    bindparam,
    delete,
    func,
    literal,
    or_,
    select,
    update,
)

from rostersync.domain.changes import ChangeSet
from rostersync.domain.roster import Account, ClassInfo, LinkInfo, SchoolRoster
from rostersync.service.model import SchoolRow
from rostersync.service.ports import Checkpoint
from rostersync.storage.codec import (
    ACCOUNT_COLUMNS,
    CLASS_COLUMNS,
    account_columns,
    class_columns,
)
from rostersync.storage.roster_plan import RosterPlan, plan_changes
from rostersync.storage.statements import upsert_insert
from rostersync.storage.tables import (
    accounts,
    classes,
    contact_links,
    memberships,
    school_links,
    schools,
)

Params = list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class _Step:
    """One bulk write: a statement and its parameter sets (skipped when there are none)."""

    statement: Callable[[], Any]
    params: Params


class RosterRepo:
    """Loads and writes the roster tables of one school at a time, on one connection."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def load_roster(self, school_id: str) -> SchoolRoster:
        """What is applied for the school now: linked accounts, live classes and links.

        Read with the driver's own cursor, in the connection's transaction: building
        SQLAlchemy rows and mappings for every stored row cost more than the diff."""
        roster = SchoolRoster(school_id=school_id)
        cursor = self._conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        mark = "?" if self._conn.dialect.paramstyle == "qmark" else "%s"
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

    def roster_total(self, district_id: str) -> int:
        total = select(func.coalesce(func.sum(schools.c.roster_version), 0))
        return int(
            self._conn.execute(total.where(schools.c.district_id == district_id)).scalar_one()
        )

    def input_check(self, school_id: str) -> tuple[str, int] | None:
        stmt = select(schools.c.input_digest, schools.c.digest_stamp)
        row = self._conn.execute(stmt.where(schools.c.id == school_id)).first()
        if row is None or row.input_digest is None or row.digest_stamp is None:
            return None
        return str(row.input_digest), int(row.digest_stamp)

    def save_input_check(self, school_id: str, digest: str | None, stamp: int) -> None:
        values = {"input_digest": digest, "digest_stamp": stamp if digest is not None else None}
        self._conn.execute(update(schools).where(schools.c.id == school_id).values(values))

    def apply_changes(
        self, school: SchoolRow, change_set: ChangeSet, checkpoint: Checkpoint | None = None
    ) -> int:
        """Write the change set; return the roster rows inserted, updated and deleted."""
        if change_set.is_empty():
            return 0
        writer = _Writer(self._conn, school)
        steps = [s for s in writer.steps(plan_changes(change_set)) if s.params]
        half = (len(steps) + 1) // 2
        written = 0
        for number, step in enumerate(steps, start=1):
            written += self._conn.execute(step.statement(), step.params).rowcount
            if checkpoint is not None and number == half:
                checkpoint("mid_apply")
        bump = update(schools).where(schools.c.id == school.id)
        self._conn.execute(bump.values(roster_version=schools.c.roster_version + 1))
        return written


_MEMBER_KEYS = ("class_source_id", "account_source_id", "role")
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


def _updated_account_keys(plan: RosterPlan) -> Params:
    return [
        {"p_source_id": source_id, **{f"p_{k}": v for k, v in account_columns(a).items()}}
        for source_id, a in plan.accounts_updated.items()
    ]


def _link_keys(links: list[tuple[str, str]]) -> Params:
    return [{"p_source_id": account_id, "p_role": role} for account_id, role in links]


def _member_keys(items: list[tuple[str, str, str]]) -> Params:
    return [{f"p_{k}": v for k, v in zip(_MEMBER_KEYS, m, strict=True)} for m in items]


def _contact_keys(pairs: list[tuple[str, str]]) -> Params:
    return [{"p_contact": contact, "p_student": student} for contact, student in pairs]


class _Writer:
    """The bulk statements for one school, in an order that keeps the tables consistent:
    accounts before the links that name them, link removals before deactivation."""

    def __init__(self, conn: Connection, school: SchoolRow) -> None:
        self._conn = conn
        self._school = school.id
        self._district = school.district_id

    def steps(self, plan: RosterPlan) -> list[_Step]:
        """Every bulk write of the plan, in order."""
        now = datetime.now(UTC)
        unlinked = [{"p_source_id": a, "p_now": now} for a in plan.unlinked_accounts()]
        return [
            _Step(self._upsert_accounts, self._linked_account_rows(plan)),
            _Step(self._update_accounts, _updated_account_keys(plan)),
            _Step(self._insert_links, _link_keys(plan.links_added)),
            _Step(self._upsert_classes, self._class_rows(plan.classes_put)),
            _Step(self._archive_classes, [{"p_source_id": c} for c in plan.classes_archived]),
            _Step(self._insert_memberships, self._member_rows(plan.memberships_added)),
            _Step(self._delete_memberships, _member_keys(plan.memberships_removed)),
            _Step(self._upsert_contact_links, self._contact_rows(plan.contact_links_put)),
            _Step(self._delete_contact_links, _contact_keys(plan.contact_links_removed)),
            _Step(self._delete_links, _link_keys(plan.links_removed)),
            _Step(self._deactivate_accounts, unlinked),
        ]

    # parameters: full rows for INSERTs, "p_"-prefixed keys and values for UPDATE/DELETE
    def _linked_account_rows(self, plan: RosterPlan) -> Params:
        return [
            {
                "district_id": self._district,
                "source_id": source_id,
                **account_columns(account),
                "active": True,
                "deactivated_at": None,
            }
            for source_id, account in plan.accounts_linked.items()
        ]

    def _class_rows(self, put: dict[str, ClassInfo]) -> Params:
        return [
            {"school_id": self._school, "source_id": class_id, **class_columns(info)}
            | {"archived": False}
            for class_id, info in put.items()
        ]

    def _member_rows(self, items: list[tuple[str, str, str]]) -> Params:
        return [
            {"school_id": self._school, **dict(zip(_MEMBER_KEYS, m, strict=True))} for m in items
        ]

    def _contact_rows(self, put: dict[tuple[str, str], LinkInfo]) -> Params:
        return [
            {
                "school_id": self._school,
                "contact_source_id": contact,
                "student_source_id": student,
                "relationship": link.relationship,
                "type": link.type,
            }
            for (contact, student), link in put.items()
        ]

    # statements
    def _account_key(self) -> Any:
        return (accounts.c.district_id == self._district) & (
            accounts.c.source_id == bindparam("p_source_id", type_=String)
        )

    def _upsert_accounts(self) -> Any:
        insert = upsert_insert(self._conn, accounts)
        new = insert.excluded
        changed = [accounts.c[c] != new[c] for c in ACCOUNT_COLUMNS]
        return insert.on_conflict_do_update(
            index_elements=[accounts.c.district_id, accounts.c.source_id],
            set_={**{c: new[c] for c in ACCOUNT_COLUMNS}, "active": True, "deactivated_at": None},
            where=or_(*changed, accounts.c.active.is_(False)),
        )

    def _update_accounts(self) -> Any:
        changed = [accounts.c[c] != bindparam(f"p_{c}", type_=String) for c in ACCOUNT_COLUMNS]
        return (
            update(accounts)
            .where(self._account_key(), or_(*changed))
            .values({c: bindparam(f"p_{c}", type_=String) for c in ACCOUNT_COLUMNS})
        )

    def _insert_links(self) -> Any:
        account = select(
            literal(self._school, String), accounts.c.id, bindparam("p_role", type_=String)
        ).where(self._account_key())
        insert = upsert_insert(self._conn, school_links)
        return insert.from_select(
            ["school_id", "account_id", "role"], account
        ).on_conflict_do_nothing()

    def _delete_links(self) -> Any:
        account = select(accounts.c.id).where(self._account_key()).scalar_subquery()
        return delete(school_links).where(
            school_links.c.school_id == self._school,
            school_links.c.role == bindparam("p_role", type_=String),
            school_links.c.account_id == account,
        )

    def _deactivate_accounts(self) -> Any:
        still_linked = select(school_links.c.account_id).where(
            school_links.c.account_id == accounts.c.id
        )
        return (
            update(accounts)
            .where(self._account_key(), accounts.c.active.is_(True), ~still_linked.exists())
            .values(active=False, deactivated_at=bindparam("p_now"))
        )

    def _upsert_classes(self) -> Any:
        insert = upsert_insert(self._conn, classes)
        new = insert.excluded
        changed = [classes.c[c] != new[c] for c in CLASS_COLUMNS]
        return insert.on_conflict_do_update(
            index_elements=[classes.c.school_id, classes.c.source_id],
            set_={**{c: new[c] for c in CLASS_COLUMNS}, "archived": False},
            where=or_(*changed, classes.c.archived.is_(True)),
        )

    def _archive_classes(self) -> Any:
        return (
            update(classes)
            .where(
                classes.c.school_id == self._school,
                classes.c.source_id == bindparam("p_source_id", type_=String),
                classes.c.archived.is_(False),
            )
            .values(archived=True)
        )

    def _insert_memberships(self) -> Any:
        return upsert_insert(self._conn, memberships).on_conflict_do_nothing()

    def _delete_memberships(self) -> Any:
        return delete(memberships).where(
            memberships.c.school_id == self._school,
            *(memberships.c[k] == bindparam(f"p_{k}", type_=String) for k in _MEMBER_KEYS),
        )

    def _upsert_contact_links(self) -> Any:
        insert = upsert_insert(self._conn, contact_links)
        new = insert.excluded
        return insert.on_conflict_do_update(
            index_elements=[
                contact_links.c.school_id,
                contact_links.c.contact_source_id,
                contact_links.c.student_source_id,
            ],
            set_={"relationship": new.relationship, "type": new.type},
            where=or_(
                contact_links.c.relationship != new.relationship, contact_links.c.type != new.type
            ),
        )

    def _delete_contact_links(self) -> Any:
        return delete(contact_links).where(
            contact_links.c.school_id == self._school,
            contact_links.c.contact_source_id == bindparam("p_contact", type_=String),
            contact_links.c.student_source_id == bindparam("p_student", type_=String),
        )
