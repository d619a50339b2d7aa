"""In-process scheduling: sync each district when its interval has passed.

The embedded default. With Celery (scale-out), beat plays this part instead. Each sync
takes the district's lock (``service/jobs.py``); a district whose sync is already running
elsewhere (a worker, another process) is skipped this tick, not synced beside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from rostersync.errors import LockBusyError, RostersyncError
from rostersync.service.context import Services
from rostersync.service.jobs import SCHEDULE, run_sync_job
from rostersync.service.model import DistrictConfig, Plan
from rostersync.service.outbox import deliver_pending
from rostersync.service.sync import SyncResult


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


def run_scheduled_sync(services: Services, district_id: str) -> SyncResult | None:
    """A scheduled sync of one district if it is still due (beat's job on a worker).

    ``None`` when it is not due any more (synced meanwhile). Raises ``LockBusyError`` when
    a sync of the district is running: the caller coalesces with it.
    """
    return run_sync_job(services, district_id, trigger=SCHEDULE, due=is_due)


def run_due(services: Services) -> TickReport:
    """Sync every district that is due, then retry any email still pending."""
    now = services.clock.now()
    with services.store.unit_of_work() as uow:
        due = [d for d in uow.list_districts() if is_due(d, now)]
    synced: list[SyncResult] = []
    errors: list[str] = []
    for config in due:
        try:
            result = run_sync_job(services, config.id, trigger=SCHEDULE, due=is_due)
        except LockBusyError:
            continue  # already running elsewhere: this tick's request coalesces with it
        except RostersyncError as exc:
            errors.append(f"{config.name}: {exc}")
            continue
        if result is not None:
            synced.append(result)
    deliver_pending(services)
    return TickReport(synced, errors)
