"""Read-side queries the dashboard needs beyond the sync engine's: the held change set a page
at a time (filtered by entity and operation), and the log of district settings changes.

A held change set can hold hundreds of thousands of rows; the change list pages through
``held_changes`` by ``(run_id, seq)`` instead of decoding the whole set for every page.
"""

from __future__ import annotations

from sqlalchemy import Connection, func, insert, select

from rostersync.domain.changes import Change
from rostersync.service.admin_model import SettingsChange
from rostersync.storage.codec import change_from_row
from rostersync.storage.tables import held_changes, settings_changes


class ReviewRepo:
    """Reads ``held_changes`` in pages; reads and writes ``settings_changes``."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def held_changes_page(
        self, run_id: str, *, entity: str | None, op: str | None, offset: int, limit: int
    ) -> tuple[int, list[Change]]:
        where = [held_changes.c.run_id == run_id]
        if entity is not None:
            where.append(held_changes.c.entity == entity)
        if op is not None:
            where.append(held_changes.c.op == op)
        total_stmt = select(func.count()).select_from(held_changes).where(*where)
        total = int(self._conn.execute(total_stmt).scalar_one())
        stmt = (
            select(held_changes)
            .where(*where)
            .order_by(held_changes.c.seq)
            .offset(max(offset, 0))
            .limit(max(limit, 0))
        )
        return total, [change_from_row(r._mapping) for r in self._conn.execute(stmt)]

    def add_settings_change(self, change: SettingsChange) -> None:
        self._conn.execute(
            insert(settings_changes).values(
                district_id=change.district_id,
                actor=change.actor,
                at=change.at,
                field=change.field,
                old_value=change.old_value,
                new_value=change.new_value,
            )
        )

    def list_settings_changes(self, district_id: str, limit: int = 50) -> list[SettingsChange]:
        """The district's settings changes, newest first."""
        stmt = (
            select(settings_changes)
            .where(settings_changes.c.district_id == district_id)
            .order_by(settings_changes.c.at.desc(), settings_changes.c.id.desc())
            .limit(limit)
        )
        return [
            SettingsChange(
                district_id=r.district_id,
                actor=r.actor,
                at=r.at,
                field=r.field,
                old_value=r.old_value,
                new_value=r.new_value,
            )
            for r in self._conn.execute(stmt)
        ]
