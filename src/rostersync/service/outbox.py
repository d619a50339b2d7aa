"""Deliver the outbox: send each pending email after commit, mark it sent, retry later.

At least once: a message is marked sent only after the mailer accepted it. Each message
carries a stable Message-ID (from its dedupe key), so a resend after a crash between the
send and the mark can be recognised downstream.
"""

from __future__ import annotations

from dataclasses import dataclass

from rostersync.errors import RostersyncError
from rostersync.service.context import Services

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
        pending = [m for m in uow.pending_emails(limit) if m.attempts < MAX_ATTEMPTS]
    sent = failed = 0
    for message in pending:
        try:
            mailer.send(message)
        except (RostersyncError, OSError) as exc:
            failed += 1
            with services.store.unit_of_work() as uow:
                uow.mark_email_failed(message.id, str(exc))
                uow.commit()
            continue
        sent += 1
        with services.store.unit_of_work() as uow:
            uow.mark_email_sent(message.id, services.clock.now())
            uow.commit()
    return DeliveryReport(sent, failed)
