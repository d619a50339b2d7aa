"""Deliver the outbox: send each pending email after commit, mark it sent, retry later.

At least once: a message is marked sent only after the mailer accepted it. Never twice from
two senders at once: several workers (and the in-process scheduler) drain the same outbox,
so a sender first claims a message with a named lock across processes, then re-reads it and
sends only if it is still unsent; a sender that finds the claim taken skips the message. A
crash between the send and the mark can still resend (at least once); each message carries
a stable Message-ID (from its dedupe key), so such a resend can be recognised downstream.
"""

from __future__ import annotations

from dataclasses import dataclass

from rostersync.errors import LockBusyError, RostersyncError
from rostersync.service.context import Services
from rostersync.service.ports import Mailer

MAX_ATTEMPTS = 50


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    sent: int
    failed: int


def deliver_pending(services: Services, limit: int = 100) -> DeliveryReport:
    """Try every pending message once. Failures stay pending, with the error recorded."""
    mailer = services.mailer
    if mailer is None:
        return DeliveryReport(0, 0)
    with services.store.unit_of_work() as uow:
        pending = [m.id for m in uow.pending_emails(limit) if m.attempts < MAX_ATTEMPTS]
    sent = failed = 0
    for message_id in pending:
        try:
            with services.store.named_lock(f"outbox:{message_id}"):
                result = _deliver_one(services, mailer, message_id)
        except LockBusyError:
            continue  # another sender holds it right now
        sent += result == "sent"
        failed += result == "failed"
    return DeliveryReport(sent, failed)


def _deliver_one(services: Services, mailer: Mailer, message_id: str) -> str:
    """Send one claimed message unless another sender got it out first."""
    with services.store.unit_of_work() as uow:
        message = uow.get_email(message_id)
    if message is None or message.sent_at is not None:
        return "skipped"
    try:
        mailer.send(message)
    except (RostersyncError, OSError) as exc:
        with services.store.unit_of_work() as uow:
            uow.mark_email_failed(message.id, str(exc))
            uow.commit()
        return "failed"
    with services.store.unit_of_work() as uow:
        uow.mark_email_sent(message.id, services.clock.now())
        uow.commit()
    return "sent"
