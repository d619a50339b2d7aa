"""The tasks: ids in, one service call, the outcome recorded in the database by the service.

Retries, and only for what may pass: a retryable ``SourceError`` (429, 5xx, timeouts) with
backoff, and a busy district lock (another sync of the district runs), after a short pause
so the worker is free meanwhile. A scheduled sync that finds its district busy coalesces
with the running one instead. Anything else that is a ``RostersyncError`` has been recorded
by the service (a failed run, a refused action) and is not retried.

Each worker process builds its ``Services`` once, on its first task.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime
from typing import Any

from celery import Celery, Task

from rostersync.bootstrap import build_services
from rostersync.errors import LockBusyError, RostersyncError, SourceError
from rostersync.service.context import Services
from rostersync.service.jobs import SCHEDULE, run_action_job, run_sync_job
from rostersync.service.logs import bind
from rostersync.service.metrics import count_emails, count_job
from rostersync.service.outbox import deliver_pending
from rostersync.service.schedule import run_scheduled_sync
from rostersync.settings import load_settings
from rostersync.worker.app import ACTION_TASK, DELIVER_TASK, SYNC_TASK

log = logging.getLogger("rostersync.worker")

BUSY_RETRY_S = 2.0
SOURCE_RETRIES = 5
_services: Services | None = None
_services_guard = threading.Lock()


def worker_services() -> Services:
    """This process's services (built on first use, after the pool has forked)."""
    global _services
    with _services_guard:
        if _services is None:
            _services = build_services(load_settings(), migrate=False)
        return _services


def sync(
    task: Task,
    district_id: str,
    school_refs: list[str] | None,
    trigger: str,
    actor: str,
    requested_at: str | None,
) -> str:
    """Sync a district; scheduled syncs coalesce with a running one, others wait for it."""
    services = worker_services()
    with bind(job_id=task.request.id, job="sync", district_id=district_id, trigger=trigger):
        try:
            if trigger == SCHEDULE:
                result = run_scheduled_sync(services, district_id)
            else:
                result = run_sync_job(
                    services,
                    district_id,
                    school_refs=school_refs,
                    trigger=trigger,
                    actor=actor,
                    requested_at=_when(requested_at),
                )
        except LockBusyError as exc:
            if trigger == SCHEDULE:
                count_job("sync", "coalesced")
                log.info("A sync of this district is running already; this one coalesces.")
                return "already running"
            count_job("sync", "retried")
            raise task.retry(exc=exc, countdown=BUSY_RETRY_S, max_retries=None) from exc
        except SourceError as exc:
            _retry_source_error(task, exc)
            return "failed"
        except RostersyncError as exc:
            log.warning("The sync ended with an error the service recorded: %s", exc)
            return "failed"
    return "done" if result is not None else "nothing to do"


def action(
    task: Task,
    action_name: str,
    school_id: str,
    actor: str,
    run_id: str | None,
    requested_at: str | None,
) -> str:
    """A confirmed hold action; waits (by retrying) for a running sync of the district."""
    services = worker_services()
    with bind(job_id=task.request.id, job="action", action=action_name, school_id=school_id):
        try:
            result = run_action_job(
                services,
                action_name,
                school_id,
                actor=actor,
                run_id=run_id,
                requested_at=_when(requested_at),
            )
        except LockBusyError as exc:
            count_job("action", "retried")
            raise task.retry(exc=exc, countdown=BUSY_RETRY_S / 2, max_retries=None) from exc
        except SourceError as exc:
            _retry_source_error(task, exc)
            return "failed"
        except RostersyncError as exc:
            log.info("The action was refused or failed, and recorded: %s", exc)
            return "refused"
    return result.outcome if result is not None else "nothing to do"


def deliver_outbox(task: Task) -> str:
    """Send pending email (each message claimed first, so never twice at once)."""
    with bind(job_id=task.request.id, job="deliver_outbox"):
        report = deliver_pending(worker_services())
        count_emails(report.sent, report.failed)
        count_job("deliver_outbox", "done")
    return f"sent {report.sent}, failed {report.failed}"


def _retry_source_error(task: Task, exc: SourceError) -> None:
    if not exc.retryable:
        log.warning("The source refused the request; not retrying: %s", exc)
        return
    countdown = min(300.0, 5.0 * 2**task.request.retries)
    raise task.retry(exc=exc, countdown=countdown, max_retries=SOURCE_RETRIES) from exc


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def register_tasks(app: Celery) -> dict[str, Any]:
    """Register the tasks on ``app`` under stable names (producers send them by name)."""
    return {
        SYNC_TASK: app.task(bind=True, name=SYNC_TASK)(sync),
        ACTION_TASK: app.task(bind=True, name=ACTION_TASK)(action),
        DELIVER_TASK: app.task(bind=True, name=DELIVER_TASK)(deliver_outbox),
    }
