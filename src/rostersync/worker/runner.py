"""The Celery job runner: enqueue a sync or a hold action, then wait for its outcome.

The outcome is read from the database (the runs and admin actions the service records), not
from a result backend, so it is the same record the dashboard and ``report`` show. The
caller waits up to ``timeout_s`` and is told so; past that the job stays queued and runs
when a worker is free.
"""

from __future__ import annotations

import functools
import sys
import time
from collections.abc import Callable, Sequence

from celery import Celery

from rostersync.errors import ActionRefusedError
from rostersync.service import holds
from rostersync.service.context import Services
from rostersync.service.jobs import (
    JobTimeoutError,
    action_outcome,
    sync_done_since,
    sync_outcome,
)
from rostersync.service.model import DistrictConfig, Plan
from rostersync.service.sync import SyncResult, sync_district
from rostersync.worker.app import ACTION_TASK, DEFAULT_QUEUE, SYNC_TASK, URGENT_QUEUE


def _to_stderr(message: str) -> None:
    sys.stderr.write(message + "\n")


class CeleryJobRunner:
    """``JobRunner`` on Celery workers; ``announce`` tells the caller what it waits for."""

    def __init__(
        self,
        app: Celery,
        *,
        timeout_s: float = 600.0,
        poll_s: float = 0.25,
        announce: Callable[[str], None] = _to_stderr,
    ) -> None:
        self.app = app
        self.timeout_s = timeout_s
        self.poll_s = poll_s
        self.announce = announce

    def sync(
        self,
        services: Services,
        district_ids: Sequence[str],
        *,
        school_refs: Sequence[str] | None = None,
        actor: str = "",
    ) -> list[SyncResult]:
        requested_at = services.clock.now()
        queued = []
        for district_id in district_ids:
            config = _config(services, district_id)
            if config is None or config.plan is Plan.INACTIVE:
                continue  # answered at once below, without a worker
            refs = list(school_refs) if school_refs else None
            args = [district_id, refs, "manual", actor, requested_at.isoformat()]
            self.app.send_task(SYNC_TASK, args=args, queue=DEFAULT_QUEUE)
            queued.append(district_id)
        if queued:
            self.announce(
                f"Queued {len(queued)} sync job(s) for the workers; waiting up to "
                f"{self.timeout_s:g} s for their outcome in the database."
            )
        for district_id in queued:
            done = functools.partial(
                sync_done_since, services, district_id, school_refs, requested_at
            )
            self._wait(done, f"the sync of district {district_id}")
        return [
            sync_outcome(services, d, school_refs, requested_at)
            if d in queued
            else sync_district(services, d, school_refs=school_refs, actor=actor)
            for d in district_ids
        ]

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
        school = holds.find_school(services, school_ref)
        if (action == holds.CHECK_NEW_DATA and not confirmed) or action not in (
            holds.allowed_actions(school)
        ):
            # Refused without a sync: answer (and record) it here, at once.
            return _refuse(services, action, school.id, actor, confirmed)
        requested_at = services.clock.now()
        args = [action, school.id, actor, run_id, requested_at.isoformat()]
        self.app.send_task(ACTION_TASK, args=args, queue=URGENT_QUEUE)
        self.announce(
            f"Queued '{holds.WORDS[action]}' for {school.name} on the urgent queue; waiting up "
            f"to {self.timeout_s:g} s for its outcome in the database."
        )
        found: list[holds.ActionResult] = []

        def recorded() -> bool:
            outcome = action_outcome(services, action, school.id, actor, requested_at)
            found.extend([outcome] if outcome else [])
            return outcome is not None

        self._wait(recorded, f"'{holds.WORDS[action]}' for {school.name}")
        if found[0].outcome == "refused":
            raise ActionRefusedError(found[0].message)
        return found[0]

    def ping(self, timeout_s: float = 1.0) -> list[str]:
        return ping_workers(self.app, timeout_s)

    def _wait(self, done: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + self.timeout_s
        while not done():
            if time.monotonic() >= deadline:
                raise JobTimeoutError(
                    f"No worker finished {what} within {self.timeout_s:g} s. The job stays "
                    "queued and runs when a worker is free: check 'rostersync worker health' "
                    "and 'rostersync status' later."
                )
            time.sleep(self.poll_s)


def ping_workers(app: Celery, timeout_s: float = 1.0) -> list[str]:
    """The names of the workers that answered a ping (Celery remote control)."""
    replies = app.control.ping(timeout=timeout_s) or []
    return sorted(str(name) for reply in replies for name in reply)


def _config(services: Services, district_id: str) -> DistrictConfig | None:
    with services.store.unit_of_work() as uow:
        return uow.get_district(district_id)


def _refuse(
    services: Services, action: str, school_id: str, actor: str, confirmed: bool
) -> holds.ActionResult:
    if action == holds.CHECK_NEW_DATA:
        return holds.check_new_data(services, school_id, actor=actor, confirmed=confirmed)
    if action == holds.CONFIRM_REMOVALS:
        return holds.confirm_removals(services, school_id, actor=actor)
    return holds.reconnect(services, school_id, actor=actor)
