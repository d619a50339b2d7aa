"""In-process scheduling: sync each district when its interval has passed.

The embedded default. With Celery (scale-out), beat plays this part instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from rostersync.errors import RostersyncError
from rostersync.service.context import Services
from rostersync.service.model import DistrictConfig, Plan
from rostersync.service.outbox import deliver_pending
from rostersync.service.sync import SyncResult, sync_district


@dataclass(frozen=True, slots=True)
class TickReport:
    synced: list[SyncResult]
    errors: list[str]


def is_due(config: DistrictConfig, now: datetime) -> bool:
    if config.plan is Plan.INACTIVE:
        return False
    if config.last_sync_at is None:
        return True
    return now - config.last_sync_at >= timedelta(seconds=config.interval_s)


def run_due(services: Services) -> TickReport:
    """Sync every district that is due, then retry any email still pending."""
    now = services.clock.now()
    with services.store.unit_of_work() as uow:
        due = [d for d in uow.list_districts() if is_due(d, now)]
    synced: list[SyncResult] = []
    errors: list[str] = []
    for config in due:
        try:
            synced.append(sync_district(services, config.id, trigger="schedule"))
        except RostersyncError as exc:
            errors.append(f"{config.name}: {exc}")
    deliver_pending(services)
    return TickReport(synced, errors)
