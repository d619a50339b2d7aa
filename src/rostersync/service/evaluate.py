"""Evaluate one school and write the outcome in one transaction.

Roster changes (or none, when held), the run record, the school's new status and the hold
email's outbox row commit together, so a crash leaves either the old state or the new one.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TypeVar

from rostersync.domain.changes import ChangeSet, added_counts
from rostersync.domain.policy import Finding, HoldKind
from rostersync.domain.records import RowProblem
from rostersync.domain.roster import FreshRoster, SchoolRoster
from rostersync.domain.state import (
    Outcome,
    SchoolStatus,
    Transition,
    on_hold,
    on_success,
    on_transient_failure,
)
from rostersync.errors import NotFoundError
from rostersync.service.assess import assess, assess_first
from rostersync.service.context import Services
from rostersync.service.emails import hold_email
from rostersync.service.ids import new_id
from rostersync.service.model import DistrictConfig, RunRecord, SchoolRow
from rostersync.service.ports import UnitOfWork
from rostersync.service.unchanged import HeldUnit, Stamps

# What a school's evaluation returns: its run, or ``None`` when it wrote nothing.
R = TypeVar("R", RunRecord, RunRecord | None)


@dataclass(frozen=True, slots=True)
class InputCheck:
    """The digest of the inputs a school is evaluated from, and the run's stamps."""

    digest: str
    stamps: Stamps


@dataclass(frozen=True, slots=True)
class SchoolVerdict:
    """Who and what a school's evaluation is for."""

    config: DistrictConfig
    school: SchoolRow
    trigger: str
    actor: str = ""
    requests: int = 0
    started_at: datetime | None = None


def fresh_school(uow: UnitOfWork, school_id: str) -> SchoolRow:
    school = uow.get_school(school_id)
    if school is None:
        raise NotFoundError(f"School {school_id} disappeared from the store during the sync.")
    return school


class SchoolBatch:
    """One transaction shared by consecutive schools of a sync.

    A school touched by a resync writes a few dozen rows; a connection, the district lock
    and a commit of its own cost more than its whole evaluation (about a third of it at
    2,000 schools); on a first load, each commit rewrites the index pages of the accounts
    that every school shares. Up to ``size`` schools, or what ``Services.batch_seconds``
    allow (the lock keeps other writers of the district waiting), share one transaction.
    Each school's roster, run, status and email still land together or not at all: a
    crash rolls back the uncommitted schools of the batch, which keep their last good
    state and are evaluated again by the next sync.
    Anything else that writes must ``flush`` the batch first (SQLite has one writer)."""

    def __init__(self, services: Services, district_id: str, size: int = 32) -> None:
        self._services = services
        self._district_id = district_id
        self._size = size
        self._seconds = services.batch_seconds
        # Without SQLite's foreign key checks (about a tenth of a first load's apply): a
        # school's rows name only its school, the district, the accounts it upserts first
        # and its run, which exist and are never deleted (``Store.unit_of_work``).
        self._held = HeldUnit(services, foreign_keys=False)
        self._locked = False  # a transaction holding the district lock is open
        self._pending = 0  # schools written in it
        self._since = 0.0

    def unit_of_work(self) -> UnitOfWork:
        """The batch's unit of work, its transaction holding the district lock."""
        uow = self._held.open()
        if not self._locked:
            uow.lock_district(self._district_id)
            self._locked = True
            self._since = time.monotonic()
        return uow

    def written(self) -> None:
        """A school's outcome was written in the transaction: commit when the batch is full."""
        self._pending += 1
        if self._pending >= self._size or time.monotonic() - self._since >= self._seconds:
            self.flush()

    def flush(self) -> None:
        """Commit the schools written so far and end the transaction (and the lock)."""
        uow = self._held.uow
        if uow is None or not self._locked:
            return
        uow.commit()
        self._locked = False
        written, self._pending = self._pending, 0
        if written:
            self._services.checkpoint("after_commit")

    def close(self) -> None:
        """Give the connection back; what ``flush`` did not commit is rolled back."""
        try:
            self._held.close()
        finally:
            self._locked, self._pending = False, 0


def evaluate_school(
    services: Services,
    verdict: SchoolVerdict,
    desired: SchoolRoster | FreshRoster,
    problems: list[RowProblem],
    check: InputCheck | None = None,
    batch: SchoolBatch | None = None,
) -> RunRecord:
    """Diff, run the policies, then apply or hold: all in one transaction (with ``batch``,
    the batch's). With ``check``, a roster left matching its inputs stores their digest
    (see ``service.unchanged``). ``desired`` may be built for a first load (a
    ``FreshRoster``): if the store holds rows of the school after all, or the first load is
    held, it is diffed as a ``SchoolRoster``."""
    return in_school_transaction(
        services,
        verdict.school.district_id,
        batch,
        lambda uow: _evaluate_in(services, uow, verdict, desired, problems, check),
    )


def in_school_transaction(
    services: Services,
    district_id: str,
    batch: SchoolBatch | None,
    evaluate: Callable[[UnitOfWork], R],
) -> R:
    """Run ``evaluate`` in the batch's transaction (a school written when it returns a run),
    or without ``batch`` in a unit of work of its own that locks the district and commits
    what it returns (a ``None``: nothing written, nothing committed)."""
    if batch is not None:
        run = evaluate(batch.unit_of_work())
        if run is not None:
            batch.written()
        return run
    with services.store.unit_of_work() as uow:
        uow.lock_district(district_id)
        run = evaluate(uow)
        if run is None:
            return run
        uow.commit()
    services.checkpoint("after_commit")
    return run


def _evaluate_in(
    services: Services,
    uow: UnitOfWork,
    verdict: SchoolVerdict,
    desired: SchoolRoster | FreshRoster,
    problems: list[RowProblem],
    check: InputCheck | None,
) -> RunRecord:
    """``evaluate_school`` in the open transaction ``uow`` (the district locked)."""
    now = services.clock.now()
    school = fresh_school(uow, verdict.school.id)
    before = uow.roster_total(school.district_id) if check is not None else 0
    current = uow.load_roster(school.id)
    policy = verdict.config.policy
    judged: Judged | None = None
    if current.is_empty() and not desired.is_empty():
        # A first load: unless it is held, written whole, with no change set to make.
        findings, hold_kind = assess_first(desired, policy)
        if hold_kind is None:
            changes = ChangeSet(school.source_id)
            # Counted once: the run's counts and its changes (``added_counts``) both are them.
            counts = desired.counts()
            judged = Judged(changes, findings, None, current.counts, lambda: counts, desired)
    if judged is None:
        if isinstance(desired, FreshRoster):
            desired = desired.roster()
        assessment = assess(current, desired, policy)
        judged = Judged(
            assessment.change_set,
            assessment.findings,
            assessment.hold_kind,
            current.counts,
            desired.counts,
        )
    services.checkpoint("mid_diff")
    return conclude(services, uow, verdict, school, now, problems, judged, check, before)


@dataclass(frozen=True, slots=True)
class Judged:
    """A school's change set and findings, before anything is written; its counts before
    and after the change set, computed when needed."""

    change_set: ChangeSet
    findings: list[Finding]
    hold_kind: HoldKind | None
    current_counts: Callable[[], dict[str, int]]
    desired_counts: Callable[[], dict[str, int]]
    # A first load not held: the roster to write whole (``UnitOfWork.apply_roster``), its
    # change set left empty (it would be every row of this roster, added).
    fresh: SchoolRoster | FreshRoster | None = None


def conclude(
    services: Services,
    uow: UnitOfWork,
    verdict: SchoolVerdict,
    school: SchoolRow,
    now: datetime,
    problems: list[RowProblem],
    judged: Judged,
    check: InputCheck | None = None,
    before: int = 0,
) -> RunRecord:
    """Hold or apply the judged school in the open transaction: the run, the status, the
    hold email; with ``check``, the input check (``store_check``; ``before``: the roster
    total the transaction found)."""
    change_set = judged.change_set
    base = new_run(verdict, school, now, problems, change_set)
    if judged.fresh is not None:
        base = replace(base, changes=added_counts(judged.fresh, judged.desired_counts()))
    if judged.hold_kind is not None:
        transition = on_hold(school.status, judged.hold_kind, now)
        run = replace(
            base,
            outcome=Outcome.HELD,
            hold_kind=judged.hold_kind,
            findings=tuple(judged.findings),
            counts=judged.current_counts(),
        )
        uow.add_run(run, held=change_set)
    else:
        transition = on_success(school.status, now)
        run = _apply(services, uow, school, base, judged)
    _save(services, uow, school, transition, run, change_set, check, before)
    return run


def _apply(
    services: Services, uow: UnitOfWork, school: SchoolRow, base: RunRecord, judged: Judged
) -> RunRecord:
    """Write the change set (or the first load's roster), if any; the run that records it."""
    fresh = judged.fresh
    if fresh is None and judged.change_set.is_empty():
        run = replace(base, outcome=Outcome.UNCHANGED, counts=judged.current_counts())
    else:
        if fresh is not None:
            rows = uow.apply_roster(school, fresh, services.checkpoint)
        else:
            rows = uow.apply_changes(school, judged.change_set, services.checkpoint)
        run = replace(
            base,
            outcome=Outcome.APPLIED,
            counts=judged.desired_counts(),
            rows_written=rows,
            roster_version=school.roster_version + 1,
        )
    uow.add_run(run)
    return run


def store_check(
    uow: UnitOfWork,
    school: SchoolRow,
    status: SchoolStatus,
    run: RunRecord,
    check: InputCheck,
    before: int,
) -> None:
    """Save the school's status, keeping the digest of a roster that now matches its inputs
    (forgetting it on a hold), in one statement."""
    if run.outcome is Outcome.HELD:
        uow.save_checked_status(school.id, status, None)
        check.stamps.observe(before, before)
        return
    after = uow.save_checked_status(school.id, status, check.digest)
    check.stamps.observe(before, after)
    check.stamps.verified[school.id] = check.digest


def record_failure(
    services: Services, verdict: SchoolVerdict, message: str, *, fatal: bool, rule: str = ""
) -> RunRecord:
    """A fetch or connection failure: nothing applied; failing or a disconnected hold."""
    now = services.clock.now()
    with services.store.unit_of_work() as uow:
        uow.lock_district(verdict.school.district_id)
        school = fresh_school(uow, verdict.school.id)
        if fatal:
            transition = on_hold(school.status, HoldKind.DISCONNECTED, now, error=message)
        else:
            transition = on_transient_failure(
                school.status, now, message, verdict.config.policy.failures_before_disconnect
            )
        held = transition.status.hold_kind
        findings: tuple[Finding, ...] = ()
        if held is HoldKind.DISCONNECTED:
            findings = (Finding(HoldKind.DISCONNECTED, rule or "disconnected", message),)
        run = replace(
            new_run(verdict, school, now, [], ChangeSet(school.source_id)),
            outcome=Outcome.FAILED,
            hold_kind=held,
            error=message,
            findings=findings,
        )
        uow.add_run(run)
        uow.save_input_check(school.id, None, 0)
        _save(services, uow, school, transition, run, None)
        uow.commit()
    return run


def new_run(
    verdict: SchoolVerdict,
    school: SchoolRow,
    now: datetime,
    problems: list[RowProblem],
    change_set: ChangeSet,
) -> RunRecord:
    return RunRecord(
        id=new_id("run"),
        district_id=school.district_id,
        school_id=school.id,
        trigger=verdict.trigger,
        started_at=verdict.started_at or now,
        finished_at=now,
        outcome=Outcome.FAILED,
        changes=change_set.counts(),
        problems=tuple(problems),
        roster_version=school.roster_version,
        requests=verdict.requests,
        actor=verdict.actor,
    )


def _save(
    services: Services,
    uow: UnitOfWork,
    school: SchoolRow,
    transition: Transition,
    run: RunRecord,
    change_set: ChangeSet | None,
    check: InputCheck | None = None,
    before: int = 0,
) -> None:
    if check is None:
        uow.save_status(school.id, transition.status)
    else:
        store_check(uow, school, transition.status, run, check, before)
    if transition.hold_entered and transition.status.hold_kind is not None:
        message = hold_email(
            services, uow, school, transition, run, change_set, previous=school.status.hold_kind
        )
        if message is not None:
            uow.enqueue_email(message)
