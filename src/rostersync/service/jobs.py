"""Jobs: how a sync or a hold action gets run, inline or on workers, one district at a time.

The CLI, the web app and the scheduler ask the ``JobRunner`` on ``Services`` to run work.
The default (``InlineJobRunner``) runs it in this process; with a broker configured,
``bootstrap`` installs the Celery runner (``rostersync.worker.runner``), which enqueues the
job and waits for its outcome in the database, where the service records it (runs and admin
actions), never only in a result backend.

Both paths run the work through ``run_sync_job`` / ``run_action_job``, which hold the
district's lock across processes (``Store.named_lock``) for the whole sync, so at most one
sync of a district runs at a time anywhere. A job carries the time it was requested: a job
that finds a sync started after that time already finished (a redelivered or duplicated
message) does nothing, which makes every job idempotent.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol

from rostersync.errors import RostersyncError
from rostersync.service import holds
from rostersync.service.context import Services
from rostersync.service.logs import bind
from rostersync.service.metrics import count_job, observe_runs
from rostersync.service.model import DistrictConfig, RunRecord
from rostersync.service.sync import SyncResult, sync_district

log = logging.getLogger("rostersync.jobs")

SCHEDULE = "schedule"
ACTIONS = (holds.CHECK_NEW_DATA, holds.CONFIRM_REMOVALS, holds.RECONNECT)


class JobTimeoutError(RostersyncError):
    """No worker finished a job within the time the caller was willing to wait."""


class JobRunner(Protocol):
    """Runs syncs and hold actions (in this process, or on workers)."""

    def sync(
        self,
        services: Services,
        district_ids: Sequence[str],
        *,
        school_refs: Sequence[str] | None = None,
        actor: str = "",
    ) -> list[SyncResult]:
        """Manual syncs of the districts (or of the schools named); their outcomes."""
        ...

    def hold_action(
        self,
        services: Services,
        action: str,
        school_ref: str,
        *,
        actor: str,
        confirmed: bool = True,
        run_id: str | None = None,
    ) -> holds.ActionResult:
        """One of the three resolution actions; raises ``ActionRefusedError`` if refused."""
        ...

    def ping(self, timeout_s: float = 1.0) -> list[str] | None:
        """The workers that answer, or ``None`` when jobs run in this process."""
        ...


def district_lock(district_id: str) -> str:
    """The name of the lock that keeps two syncs of one district apart."""
    return f"district:{district_id}"


def run_sync_job(
    services: Services,
    district_id: str,
    *,
    school_refs: Sequence[str] | None = None,
    trigger: str = "manual",
    actor: str = "",
    requested_at: datetime | None = None,
    wait_s: float = 0.0,
    due: Callable[[DistrictConfig, datetime], bool] | None = None,
) -> SyncResult | None:
    """Sync under the district lock; ``None`` if there is nothing left to do.

    Nothing is left when a sync started at/after ``requested_at`` has finished already, or,
    for a scheduled sync, when ``due`` says the district is not due any more (another
    process synced it meanwhile). Raises ``LockBusyError`` when another sync of the district
    holds the lock past ``wait_s``.
    """
    with (
        bind(job="sync", district_id=district_id, trigger=trigger),
        services.store.named_lock(district_lock(district_id), wait_s=wait_s),
    ):
        if _nothing_to_do(services, district_id, school_refs, requested_at, due):
            count_job("sync", "duplicate")
            log.info("A sync started after this request has finished already; nothing to do.")
            return None
        started = time.perf_counter()
        result = sync_district(
            services, district_id, school_refs=school_refs, trigger=trigger, actor=actor
        )
        seconds = time.perf_counter() - started
    observe_runs(result.runs, seconds)
    count_job("sync", "done")
    _log_runs(result.runs, seconds)
    return result


def _nothing_to_do(
    services: Services,
    district_id: str,
    school_refs: Sequence[str] | None,
    requested_at: datetime | None,
    due: Callable[[DistrictConfig, datetime], bool] | None,
) -> bool:
    if requested_at is not None and sync_done_since(
        services, district_id, school_refs, requested_at
    ):
        return True
    if due is None:
        return False
    with services.store.unit_of_work() as uow:
        config = uow.get_district(district_id)
    return config is None or not due(config, services.clock.now())


def _log_runs(runs: Sequence[RunRecord], seconds: float) -> None:
    for run in runs:
        log.info(
            "Run finished.",
            extra={
                "run_id": run.id,
                "school_id": run.school_id,
                "district_id": run.district_id,
                "outcome": run.outcome.value,
                "hold_kind": run.hold_kind.value if run.hold_kind else None,
                "rows_written": run.rows_written,
            },
        )
    log.info("District sync finished.", extra={"duration_s": round(seconds, 3)})


def run_action_job(
    services: Services,
    action: str,
    school_id: str,
    *,
    actor: str,
    run_id: str | None = None,
    requested_at: datetime | None = None,
    wait_s: float = 0.0,
) -> holds.ActionResult | None:
    """A confirmed resolution action under the district lock; ``None`` if done already."""
    school = holds.find_school(services, school_id)
    with (
        bind(job="action", action=action, school_id=school.id, district_id=school.district_id),
        services.store.named_lock(district_lock(school.district_id), wait_s=wait_s),
    ):
        if requested_at is not None and action_outcome(
            services, action, school.id, actor, requested_at
        ):
            count_job("action", "duplicate")
            return None
        result = _dispatch(services, action, school.id, actor, run_id)
    count_job("action", "done")
    log.info("Action finished.", extra={"outcome": result.outcome})
    return result


def _dispatch(
    services: Services, action: str, school_id: str, actor: str, run_id: str | None
) -> holds.ActionResult:
    if action == holds.CHECK_NEW_DATA:
        return holds.check_new_data(services, school_id, actor=actor, confirmed=True)
    if action == holds.CONFIRM_REMOVALS:
        return holds.confirm_removals(services, school_id, actor=actor, run_id=run_id)
    if action == holds.RECONNECT:
        return holds.reconnect(services, school_id, actor=actor)
    raise ValueError(f"Unknown hold action {action!r}; expected one of {', '.join(ACTIONS)}.")


def sync_done_since(
    services: Services, district_id: str, school_refs: Sequence[str] | None, since: datetime
) -> bool:
    """Has a sync of the district (and of the schools named) started at/after ``since`` ended?

    The district's ``last_sync_at`` is the start of its last sync and is written when that
    sync has finished every school, so it marks completion.
    """
    with services.store.unit_of_work() as uow:
        config = uow.get_district(district_id)
        if config is None or config.last_sync_at is None or config.last_sync_at < since:
            return False
        for ref in school_refs or ():
            school = uow.get_school(ref)
            runs = uow.list_runs(school.id, limit=1) if school else []
            if not runs or runs[0].started_at < since:
                return False
    return True


def sync_outcome(
    services: Services, district_id: str, school_refs: Sequence[str] | None, since: datetime
) -> SyncResult:
    """The runs a sync started at/after ``since`` wrote, read back from the store."""
    with services.store.unit_of_work() as uow:
        schools = uow.list_schools(district_id)
        wanted = set(school_refs or ())
        runs: list[RunRecord] = []
        for school in schools:
            if wanted and school.id not in wanted and school.source_id not in wanted:
                continue
            fresh = [r for r in uow.list_runs(school.id, limit=5) if r.started_at >= since]
            if fresh:
                runs.append(fresh[0])
    return SyncResult(district_id, runs)


def action_outcome(
    services: Services, action: str, school_id: str, actor: str, since: datetime
) -> holds.ActionResult | None:
    """The recorded outcome of ``actor``'s ``action`` on the school at/after ``since``."""
    with services.store.unit_of_work() as uow:
        done = [
            a
            for a in uow.list_actions(school_id, limit=50)
            if a.action == action and a.actor == actor and a.at >= since
        ]
        if not done:
            return None
        first = min(done, key=lambda a: a.at)
        latest = uow.list_runs(school_id, limit=1)
    run = latest[0] if latest and latest[0].started_at >= since else None
    return holds.ActionResult(action, school_id, first.outcome, first.detail, run)


class InlineJobRunner:
    """Runs jobs in this process (the embedded default), under the same district lock.

    A manual sync or an action waits up to ``wait_s`` for a sync of the same district that
    is running elsewhere (a worker, the scheduler) to finish, then runs.
    """

    def __init__(self, wait_s: float = 300.0) -> None:
        self.wait_s = wait_s

    def sync(
        self,
        services: Services,
        district_ids: Sequence[str],
        *,
        school_refs: Sequence[str] | None = None,
        actor: str = "",
    ) -> list[SyncResult]:
        results = []
        for district_id in district_ids:
            result = run_sync_job(
                services, district_id, school_refs=school_refs, actor=actor, wait_s=self.wait_s
            )
            assert result is not None  # no requested_at and no due check: it always runs
            results.append(result)
        return results

    def hold_action(
        self,
        services: Services,
        action: str,
        school_ref: str,
        *,
        actor: str,
        confirmed: bool = True,
        run_id: str | None = None,
    ) -> holds.ActionResult:
        if action == holds.CHECK_NEW_DATA and not confirmed:
            return holds.check_new_data(services, school_ref, actor=actor, confirmed=False)
        result = run_action_job(
            services, action, school_ref, actor=actor, run_id=run_id, wait_s=self.wait_s
        )
        assert result is not None
        return result

    def ping(self, timeout_s: float = 1.0) -> list[str] | None:
        return None


def job_runner(services: Services) -> JobRunner:
    """The runner ``bootstrap`` chose, or the inline one."""
    return services.jobs or InlineJobRunner()
