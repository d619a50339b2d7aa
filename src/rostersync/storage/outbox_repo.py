"""The email outbox: messages written in the same transaction as the hold they announce.

A sender drains it after commit. The dedupe key makes enqueueing idempotent: a retried
transaction or a second worker cannot queue the same email twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import Connection, select, update

from rostersync.service.model import OutboxMessage
from rostersync.storage.codec import from_json, to_json
from rostersync.storage.errors import NotFoundError
from rostersync.storage.statements import upsert_insert
from rostersync.storage.tables import outbox


class OutboxRepo:
    """Reads and writes ``outbox`` on one connection."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def enqueue_email(self, message: OutboxMessage) -> None:
        """Queue the message; one with the same dedupe key (or id) already queued wins."""
        values = {
            "id": message.id,
            "kind": message.kind,
            "recipients": to_json(list(message.recipients)),
            "payload": to_json(message.payload),
            "dedupe_key": message.dedupe_key,
            "created_at": message.created_at,
            "attempts": message.attempts,
            "sent_at": message.sent_at,
            "last_error": message.last_error,
        }
        stmt = upsert_insert(self._conn, outbox).values(values).on_conflict_do_nothing()
        self._conn.execute(stmt)

    def pending_emails(self, limit: int = 100) -> list[OutboxMessage]:
        """Messages not sent yet, oldest first."""
        stmt = (
            select(outbox)
            .where(outbox.c.sent_at.is_(None))
            .order_by(outbox.c.created_at, outbox.c.id)
            .limit(limit)
        )
        return [_message_from_row(r._mapping) for r in self._conn.execute(stmt)]

    def get_email(self, message_id: str) -> OutboxMessage | None:
        """One message by id, sent or not (a sender re-reads it once it holds its claim)."""
        row = self._conn.execute(select(outbox).where(outbox.c.id == message_id)).first()
        return _message_from_row(row._mapping) if row is not None else None

    def mark_email_sent(self, message_id: str, at: datetime) -> None:
        self._mark(message_id, sent_at=at, last_error="")

    def mark_email_failed(self, message_id: str, error: str) -> None:
        self._mark(message_id, last_error=error)

    def _mark(self, message_id: str, **values: Any) -> None:
        """Record one delivery attempt and its result."""
        stmt = (
            update(outbox)
            .where(outbox.c.id == message_id)
            .values(attempts=outbox.c.attempts + 1, **values)
        )
        if self._conn.execute(stmt).rowcount == 0:
            raise NotFoundError(
                f"There is no outbox message with id {message_id!r}. "
                "Take message ids from pending_emails."
            )


def _message_from_row(row: Mapping[Any, Any]) -> OutboxMessage:
    return OutboxMessage(
        id=row["id"],
        kind=row["kind"],
        recipients=tuple(msgspec.json.decode(row["recipients"], type=list[str])),
        payload=from_json(row["payload"]),
        dedupe_key=row["dedupe_key"],
        created_at=row["created_at"],
        attempts=row["attempts"],
        sent_at=row["sent_at"],
        last_error=row["last_error"],
    )
