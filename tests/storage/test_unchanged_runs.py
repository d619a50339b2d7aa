"""Recording ``unchanged`` runs in bulk writes exactly what recording them one school at a
time wrote, in a few statements for any number of schools (SQLite and PostgreSQL).

``OneAtATime`` below is the previous ``UnchangedRuns`` (per school: read the school, its
input check and its last run with its details, write the run and the status), kept as the
reference. Each comparison builds the same district twice, under two tags, runs the
reference on one and ``UnchangedRuns`` on the other, and compares what they return and
every row they leave, with the tags taken out.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, insert, select, update

from rostersync.domain.policy import HoldKind
from rostersync.domain.records import RowProblem, SchoolRecord, Severity
from rostersync.domain.state import Outcome, SchoolStatus, SyncState, on_success
from rostersync.service import unchanged
from rostersync.service.context import Services
from rostersync.service.model import DistrictConfig, RunRecord, SchoolRow
from rostersync.service.ports import UnitOfWork
from rostersync.service.unchanged import Stamps, UnchangedRuns
from rostersync.storage import SqlStore, districts_repo, runs_repo
from rostersync.storage.codec import problem_rows
from rostersync.storage.tables import districts, problem_sets, run_problems, schools, sync_runs

T0 = datetime(2024, 9, 2, 7, 30, tzinfo=UTC)
T1 = datetime(2024, 9, 3, 7, 30, tzinfo=UTC)


class Ids:
    """Run ids the two implementations draw alike: ``<tag>-new-<n>``."""

    def __init__(self) -> None:
        self.tag = ""
        self.counter = itertools.count()

    def start(self, tag: str) -> None:
        self.tag, self.counter = tag, itertools.count()

    def __call__(self, prefix: str) -> str:
        return f"{self.tag}-new-{next(self.counter)}"


class StepClock:
    """One second later at every call, from ``T1``."""

    def __init__(self) -> None:
        self.calls = 0

    def now(self) -> datetime:
        self.calls += 1
        return T1 + timedelta(seconds=self.calls)


@pytest.fixture
def ids(monkeypatch: pytest.MonkeyPatch) -> Ids:
    ids = Ids()
    monkeypatch.setattr(unchanged, "new_id", ids)
    return ids


class OneAtATime:
    """The reference: ``UnchangedRuns`` as it was, one school at a time."""

    def __init__(self, services: Services, district_id: str, stamps: Stamps, ids: Ids) -> None:
        self._services, self._district_id, self.stamps, self._ids = (
            services,
            district_id,
            stamps,
            ids,
        )
        self._open: ExitStack | None = None
        self._uow: UnitOfWork | None = None
        self._total = 0

    def skip(self, school: SchoolRow, digest: str, base: RunRecord) -> RunRecord | None:
        if school.status.state is not SyncState.HEALTHY:
            return None
        uow = self._transaction()
        total = self._total
        current = uow.get_school(school.id)
        if current is None or current.status.state is not SyncState.HEALTHY:
            return None
        check = uow.input_check(school.id)
        if check is None or check[0] != digest or not self.stamps.accepts(check[1], total):
            return None
        runs = uow.list_runs(school.id, limit=1)
        if not runs or runs[0].outcome not in (Outcome.APPLIED, Outcome.UNCHANGED):
            return None
        last = runs[0]
        now = self._services.clock.now()
        run = replace(
            base,
            id=self._ids("run"),
            finished_at=now,
            outcome=Outcome.UNCHANGED,
            problems=last.problems,
            counts=last.counts,
            roster_version=current.roster_version,
        )
        uow.add_run(run)
        uow.save_status(current.id, on_success(current.status, now).status)
        self.stamps.observe(total, total)
        self.stamps.verified[school.id] = digest
        return run

    def flush(self) -> None:
        if self._uow is not None:
            self._uow.commit()
        self.close()

    def close(self) -> None:
        if self._open is not None:
            self._open.close()
        self._open = self._uow = None

    def _transaction(self) -> UnitOfWork:
        if self._uow is None:
            self._open = ExitStack()
            self._uow = self._open.enter_context(self._services.store.unit_of_work())
            self._uow.lock_district(self._district_id)
            self._total = self._uow.roster_total(self._district_id)
        return self._uow


def shared_problems(n: int, prefix: str = "c") -> tuple[RowProblem, ...]:
    return tuple(
        RowProblem(Severity.ERROR, "contact_link", f"{prefix}{i}", "unknown_student", f"#{i}.")
        for i in range(n)
    )


def own_problems(school_id: str, n: int) -> tuple[RowProblem, ...]:
    return tuple(
        RowProblem(Severity.ALERT, "teacher", f"t{i}", "missing_email", "No email.", school_id)
        for i in range(n)
    )


@dataclass
class Case:
    """One school of the scenario, and what the sync would ask of it."""

    digest: str | None = "verified"  # stored input digest (None: none stored)
    asked: str = "verified"  # the digest of this fetch
    stamp_offset: int = 0  # stored stamp minus the district's total
    runs: tuple[tuple[Outcome, int], ...] = ((Outcome.APPLIED, 2),)  # (outcome, own problems)
    shared: tuple[RowProblem, ...] = shared_problems(4)
    old_layout: bool = False  # the last run stored as before migration 0004
    held: bool = False
    held_after_listing: bool = False
    same_start: bool = False  # the runs share one start time (the id breaks the tie)
    last_error: str = ""  # kept in the healthy status before the skip


CASES: tuple[Case, ...] = (
    Case(),
    Case(runs=((Outcome.APPLIED, 1), (Outcome.UNCHANGED, 0))),
    Case(runs=((Outcome.APPLIED, 0),), shared=()),
    Case(old_layout=True, shared=shared_problems(2, "old")),
    Case(runs=((Outcome.APPLIED, 1), (Outcome.FAILED, 0))),  # the last run failed
    Case(asked="changed"),  # ends the transaction
    Case(last_error="A timeout, retried."),
    Case(),
    Case(stamp_offset=-1),  # verified before another apply
    Case(held=True),
    Case(held_after_listing=True),
    Case(digest=None),
    Case(runs=((Outcome.FAILED, 0), (Outcome.APPLIED, 3)), same_start=True),
    Case(runs=((Outcome.HELD, 1), (Outcome.APPLIED, 2), (Outcome.UNCHANGED, 3))),
    Case(runs=()),
    Case(runs=((Outcome.APPLIED, 5),)),
)


def build(store: SqlStore, tag: str, cases: tuple[Case, ...]) -> list[SchoolRow]:
    """The district ``<tag>-d`` with one school per case, listed as a sync lists them."""
    district = f"{tag}-d"
    numbers = itertools.count()
    with store.unit_of_work() as uow:
        uow.add_district(
            DistrictConfig(id=district, name=district, clever_token="t", clever_base_url="x")
        )
        original = districts_repo.new_school_id
        districts_repo.new_school_id = lambda: f"{tag}-sch-{next(numbers):02}"
        try:
            rows = [
                uow.upsert_school(district, SchoolRecord(f"src{i:02}", f"School {i:02}"))
                for i in range(len(cases))
            ]
        finally:
            districts_repo.new_school_id = original
        conn = uow.connection
        conn.execute(
            update(schools).where(schools.c.district_id == district).values(roster_version=2)
        )
        total = 2 * len(cases)
        # as if each school had applied twice (``apply_changes`` keeps the district's total)
        conn.execute(update(districts).where(districts.c.id == district).values(roster_total=total))
        for i, (row, case) in enumerate(zip(rows, cases, strict=True)):
            _add_runs(uow, row, f"{tag}-r{i:02}", case)
            if case.digest is not None:
                uow.save_input_check(row.id, case.digest, total + case.stamp_offset)
            status = SchoolStatus(SyncState.HEALTHY, last_success_at=T0, last_error=case.last_error)
            if case.held:
                status = SchoolStatus(SyncState.ON_HOLD, HoldKind.DATA_REMOVALS, hold_since=T0)
            uow.save_status(row.id, status)
        uow.commit()
        listed = uow.list_schools(district)
    with store.unit_of_work() as uow:
        for row, case in zip(listed, cases, strict=True):
            if case.held_after_listing:
                held = SchoolStatus(SyncState.ON_HOLD, HoldKind.DATA_REMOVALS, hold_since=T0)
                uow.save_status(row.id, held)
        uow.commit()
    return listed


def _add_runs(uow: UnitOfWork, school: SchoolRow, prefix: str, case: Case) -> None:
    for n, (outcome, own) in enumerate(case.runs):
        problems = case.shared + own_problems(school.id, own)
        run = RunRecord(
            id=f"{prefix}-{n}",
            district_id=school.district_id,
            school_id=school.id,
            trigger="schedule",
            started_at=T0 + timedelta(minutes=0 if case.same_start else n),
            finished_at=T0 + timedelta(minutes=n, seconds=30),
            outcome=outcome,
            counts={"students": 10 + n, "teachers": own},
            problems=problems,
            roster_version=2,
        )
        last = n == len(case.runs) - 1
        if last and case.old_layout:
            uow.add_run(replace(run, problems=()))
            uow.connection.execute(insert(run_problems), problem_rows(run.id, problems))
        else:
            uow.add_run(run)


def base_run(school: SchoolRow) -> RunRecord:
    return RunRecord(
        id="base",
        district_id=school.district_id,
        school_id=school.id,
        trigger="schedule",
        started_at=T1,
        finished_at=T1,
        outcome=Outcome.FAILED,
        requests=23,
        roster_version=school.roster_version,
    )


Skipper = Callable[[Services, str, Stamps], Any]


def run_like_a_sync(
    store: SqlStore, skipper: Skipper, listed: list[SchoolRow], cases: tuple[Case, ...]
) -> list[RunRecord | None]:
    """What ``service.sync`` does with the skipper: flush before any school not skipped."""
    services = Services(store=store, sources=None, clock=StepClock())
    skips = skipper(services, listed[0].district_id, Stamps())
    results: list[RunRecord | None] = []
    try:
        for school, case in zip(listed, cases, strict=True):
            result = skips.skip(school, case.asked, base_run(school))
            if result is None:
                skips.flush()
            results.append(result)
        skips.flush()
    finally:
        skips.close()
    return results


def untagged(value: Any, tag: str) -> Any:
    """The value with every id's tag taken out (``A-sch-01`` -> ``?-sch-01``)."""
    if isinstance(value, str):
        return value.replace(f"{tag}-", "?-")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return untagged(dataclasses.astuple(value), tag)
    if isinstance(value, dict):
        return {untagged(k, tag): untagged(v, tag) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(untagged(v, tag) for v in value)
    return value


def district_rows(store: SqlStore, tag: str) -> dict[str, Any]:
    """Every row of the district's schools, runs and run problems, untagged."""
    district = f"{tag}-d"
    with store.unit_of_work() as uow:
        conn = uow.connection
        school_rows = conn.execute(
            select(schools).where(schools.c.district_id == district).order_by(schools.c.id)
        )
        run_rows = conn.execute(
            select(sync_runs).where(sync_runs.c.district_id == district).order_by(sync_runs.c.id)
        )
        problem_rows_ = conn.execute(
            select(run_problems)
            .join(sync_runs, sync_runs.c.id == run_problems.c.run_id)
            .where(sync_runs.c.district_id == district)
            .order_by(run_problems.c.run_id, run_problems.c.seq)
        )
        rows = {
            "schools": [dict(r._mapping) for r in school_rows],
            "sync_runs": [dict(r._mapping) for r in run_rows],
            "run_problems": [dict(r._mapping) for r in problem_rows_],
        }
    return untagged(rows, tag)


def all_problem_sets(store: SqlStore) -> list[tuple[Any, ...]]:
    with store.unit_of_work() as uow:
        query = select(problem_sets).order_by(problem_sets.c.digest, problem_sets.c.seq)
        return [tuple(r) for r in uow.connection.execute(query)]


def test_bulk_skips_return_and_write_what_one_school_at_a_time_did(
    store: SqlStore, ids: Ids
) -> None:
    bulk = build(store, "B", CASES)
    reference = build(store, "A", CASES)
    ids.start("B")
    got = run_like_a_sync(store, UnchangedRuns, bulk, CASES)
    sets_after_bulk = all_problem_sets(store)
    ids.start("A")
    expected = run_like_a_sync(store, lambda s, d, st: OneAtATime(s, d, st, ids), reference, CASES)
    assert untagged(got, "B") == untagged(expected, "A")
    assert [r is not None for r in got] == [
        True, True, True, True, False, False, True, True,
        False, False, False, False, True, True, False, True,
    ]  # fmt: skip
    assert district_rows(store, "B") == district_rows(store, "A")
    assert all_problem_sets(store) == sets_after_bulk  # the bulk path stored every set


def test_a_run_stored_before_problem_sets_is_stored_anew_not_copied(
    store: SqlStore, ids: Ids
) -> None:
    cases = (Case(old_layout=True, shared=shared_problems(3, "old")),)
    listed = build(store, "B", cases)
    ids.start("B")
    (run,) = run_like_a_sync(store, UnchangedRuns, listed, cases)
    assert run is not None and run.problems[:3] == shared_problems(3, "old")
    with store.unit_of_work() as uow:
        stored = uow.connection.execute(
            select(sync_runs.c.shared_problems).where(sync_runs.c.id == run.id)
        ).scalar_one()
        own = uow.connection.execute(
            select(run_problems.c.school_id).where(run_problems.c.run_id == run.id)
        )
        assert stored is not None  # its district-wide problems went to a shared set
        assert list(own.scalars()) == [listed[0].id] * 2
        assert uow.get_run(run.id) == run


class StatementCounter:
    def __init__(self, store: SqlStore) -> None:
        self.statements: list[str] = []
        event.listen(store.engine, "before_cursor_execute", self)

    def __call__(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.strip().upper() != "BEGIN":  # the SQLite store begins explicitly
            self.statements.append(statement)


def skip_all(store: SqlStore, tag: str, n: int) -> tuple[int, int, int]:
    """Skip a district of ``n`` verified schools: (statements while skipping, statements
    of the flush, schools skipped)."""
    cases = tuple(Case(runs=((Outcome.APPLIED, i % 3),)) for i in range(n))
    listed = build(store, tag, cases)
    runs_repo._RECENT_SETS.clear()  # the shared set is read once in each measurement
    counter = StatementCounter(store)
    services = Services(store=store, sources=None, clock=StepClock())
    skips = UnchangedRuns(services, listed[0].district_id, Stamps())
    try:
        skipped = sum(skips.skip(s, "verified", base_run(s)) is not None for s in listed)
        reads = len(counter.statements)
        skips.flush()
    finally:
        skips.close()
        event.remove(store.engine, "before_cursor_execute", counter)
    return reads, len(counter.statements) - reads, skipped


def test_skipping_more_schools_issues_no_more_statements_per_school(
    store: SqlStore, ids: Ids
) -> None:
    ids.start("x")
    few_reads, few_writes, few = skip_all(store, "F", 6)
    many_reads, many_writes, many = skip_all(store, "M", 60)
    assert (few, many) == (6, 60)
    # lock, total; windows of 1 and 8 schools (60: and 72), each read with its problems;
    # the shared set once
    assert few_reads == 2 + 2 * 2 + 1
    assert many_reads == few_reads + 2
    # the runs, their own problems copied, the statuses
    assert few_writes == many_writes == 3


def test_leaving_without_flush_writes_nothing(store: SqlStore, ids: Ids) -> None:
    listed = build(store, "B", CASES)
    before = district_rows(store, "B")
    ids.start("B")
    services = Services(store=store, sources=None, clock=StepClock())
    stamps = Stamps()
    skips = UnchangedRuns(services, listed[0].district_id, stamps)
    skipped = [skips.skip(s, c.asked, base_run(s)) for s, c in zip(listed, CASES, strict=True)]
    assert any(r is not None for r in skipped[:4])
    skips.close()
    assert district_rows(store, "B") == before
    # the next transaction starts afresh and reads the schools again
    again = skips.skip(listed[0], "verified", base_run(listed[0]))
    assert again is not None
    skips.flush()
    with store.unit_of_work() as uow:
        assert uow.list_runs(listed[0].id, limit=1) == [again]
        assert uow.get_school(listed[0].id).status == SchoolStatus(
            SyncState.HEALTHY, last_success_at=again.finished_at
        )


@pytest.fixture
def windows(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many schools each read of skip checks returned."""
    sizes: list[int] = []
    original = runs_repo.RunsRepo.skip_checks

    def counting(self: runs_repo.RunsRepo, *args: Any) -> Any:
        found = original(self, *args)
        sizes.append(len(found))
        return found

    monkeypatch.setattr(runs_repo.RunsRepo, "skip_checks", counting)
    return sizes


def test_short_transactions_read_small_windows(
    store: SqlStore, ids: Ids, windows: list[int]
) -> None:
    """A changed school after every skipped one ends every transaction: each reads its
    first school, then a window of eight, never the whole district."""
    cases = tuple(Case(asked="verified" if i % 2 == 0 else "changed") for i in range(40))
    listed = build(store, "B", cases)
    ids.start("B")
    results = run_like_a_sync(store, UnchangedRuns, listed, cases)
    assert [r is not None for r in results] == [i % 2 == 0 for i in range(40)]
    assert windows[:4] == [1, 8, 1, 8]
    assert max(windows) == 8
    assert sum(windows) <= 9 * 20


def test_a_district_of_many_schools_is_read_in_growing_windows(
    store: SqlStore, ids: Ids, windows: list[int]
) -> None:
    cases = tuple(Case() for _ in range(100))
    listed = build(store, "B", cases)
    ids.start("B")
    results = run_like_a_sync(store, UnchangedRuns, listed, cases)
    assert all(r is not None for r in results)
    assert windows == [1, 8, 72, 19]  # the rest of the district


def test_restamp_stamps_every_verified_school_in_one_statement(store: SqlStore) -> None:
    listed = build(store, "R", CASES)
    district = listed[0].district_id
    with store.unit_of_work() as uow:
        total = uow.roster_total(district)
        before = {s.id: uow.input_check(s.id) for s in listed}
    verified = {s.id: f"digest-{i}" for i, s in enumerate(listed[:5])}
    stamps = Stamps(start=total - 1, expected=total, verified=verified, applied=True)
    counter = StatementCounter(store)
    try:
        unchanged.restamp(Services(store=store, sources=None, clock=StepClock()), district, stamps)
    finally:
        event.remove(store.engine, "before_cursor_execute", counter)
    assert sum("UPDATE schools" in s for s in counter.statements) == 1
    with store.unit_of_work() as uow:
        after = {s.id: uow.input_check(s.id) for s in listed}
    assert after == {**before, **{i: (d, total) for i, d in verified.items()}}
    # Another run's apply since (the total moved): nothing is restamped.
    stale = Stamps(start=0, expected=total + 7, verified={listed[5].id: "x"}, applied=True)
    unchanged.restamp(Services(store=store, sources=None, clock=StepClock()), district, stale)
    with store.unit_of_work() as uow:
        assert uow.input_check(listed[5].id) == before[listed[5].id]
