"""Administrators, which schools they answer for, and the actions they took on holds.

An admin with no ``admin_schools`` rows is a district admin: they see, and are emailed
about, every school of their district.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Connection, insert, or_, select

from rostersync.service.model import Admin, AdminAction
from rostersync.storage.errors import AlreadyExistsError, NotFoundError
from rostersync.storage.tables import admin_actions, admin_schools, admins, schools


class AdminsRepo:
    """Reads and writes ``admins``, ``admin_schools`` and ``admin_actions``."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def add_admin(self, admin: Admin) -> None:
        exists = select(admins.c.id).where(admins.c.id == admin.id)
        if self._conn.execute(exists).first() is not None:
            raise AlreadyExistsError(
                f"An admin with id {admin.id!r} exists already. Choose another id."
            )
        self._conn.execute(
            insert(admins).values(
                id=admin.id, email=admin.email, district_id=admin.district_id, notify=admin.notify
            )
        )
        if admin.school_ids:
            rows = [{"admin_id": admin.id, "school_id": s} for s in dict.fromkeys(admin.school_ids)]
            self._conn.execute(insert(admin_schools), rows)

    def admins_for_school(self, school_id: str) -> list[Admin]:
        """The school's own admins and its district's district-wide admins."""
        district = select(schools.c.district_id).where(schools.c.id == school_id)
        district_id = self._conn.execute(district).scalar_one_or_none()
        if district_id is None:
            raise NotFoundError(
                f"There is no school with id {school_id!r}, so it has no admins. "
                "Check the school id (get_school accepts the internal or the source id)."
            )
        own = select(admin_schools.c.admin_id).where(admin_schools.c.school_id == school_id)
        any_school = select(admin_schools.c.admin_id).where(admin_schools.c.admin_id == admins.c.id)
        stmt = select(admins).where(
            or_(
                admins.c.id.in_(own),
                (admins.c.district_id == district_id) & ~any_school.exists(),
            )
        )
        return self._admins(stmt)

    def list_admins(self, district_id: str | None = None) -> list[Admin]:
        stmt = select(admins)
        if district_id is not None:
            stmt = stmt.where(admins.c.district_id == district_id)
        return self._admins(stmt)

    def admins_by_email(self, email: str) -> list[Admin]:
        """Every admin row of one person (one per district or set of schools)."""
        return self._admins(select(admins).where(admins.c.email == email))

    def record_action(self, action: AdminAction) -> None:
        self._conn.execute(
            insert(admin_actions).values(
                school_id=action.school_id,
                actor=action.actor,
                action=action.action,
                at=action.at,
                outcome=action.outcome,
                detail=action.detail,
            )
        )

    def list_actions(self, school_id: str, limit: int = 50) -> list[AdminAction]:
        """The school's admin actions, newest first."""
        stmt = (
            select(admin_actions)
            .where(admin_actions.c.school_id == school_id)
            .order_by(admin_actions.c.at.desc(), admin_actions.c.id.desc())
            .limit(limit)
        )
        return [_action_from_row(r._mapping) for r in self._conn.execute(stmt)]

    def _admins(self, stmt: Any) -> list[Admin]:
        """The admins ``stmt`` selects, with their schools, ordered by email then id."""
        rows = [r._mapping for r in self._conn.execute(stmt.order_by(admins.c.email, admins.c.id))]
        school_ids = self._school_ids(r["id"] for r in rows)
        return [
            Admin(
                id=r["id"],
                email=r["email"],
                district_id=r["district_id"],
                school_ids=tuple(school_ids.get(r["id"], ())),
                notify=bool(r["notify"]),
            )
            for r in rows
        ]

    def _school_ids(self, admin_ids: Iterable[str]) -> dict[str, list[str]]:
        ids = list(admin_ids)
        out: dict[str, list[str]] = defaultdict(list)
        if not ids:
            return out
        stmt = (
            select(admin_schools)
            .where(admin_schools.c.admin_id.in_(ids))
            .order_by(admin_schools.c.admin_id, admin_schools.c.school_id)
        )
        for row in self._conn.execute(stmt):
            out[row.admin_id].append(row.school_id)
        return out


def _action_from_row(row: Mapping[Any, Any]) -> AdminAction:
    return AdminAction(
        school_id=row["school_id"],
        actor=row["actor"],
        action=row["action"],
        at=row["at"],
        outcome=row["outcome"],
        detail=row["detail"],
    )
