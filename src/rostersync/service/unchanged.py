"""Skip a healthy school whose inputs did not change since its roster was last verified.

Building, loading and diffing a school costs far more than fetching it, and on most resyncs
most schools are unchanged. So a run that applies a school's roster (or finds nothing to
change) stores the digest of the school's inputs: its staged records (users as the source
sent them, so the same items always map to the same records and alerts), its row problems
and those of the district, the terms and courses, the policy. The next run may skip the school,
recording an ``unchanged`` run with the last run's counts and problems, only when

- the school is healthy (a held school must be re-evaluated: it may resume on its own; a
  never-synced or failing one has nothing verified to compare with);
- its last run applied or found nothing to change;
- the digest of this fetch equals the stored one;
- the district's total roster version equals the stamp stored with the digest. Accounts are
  shared between schools, so any apply anywhere in the district (a confirm-removals, another
  run, a partial run) changes the total and forces a full check everywhere.

Within one run, the schools verified before another school applied are restamped at the end
(``Stamps``), but only when every change of the total during the run was one of this run's
own applies: those are made from the same fetch, so they agree with every verified school.
"""

from __future__ import annotations

import hashlib
from contextlib import ExitStack
from dataclasses import dataclass, field, fields, replace

from rostersync.domain.policy import Policy
from rostersync.domain.records import CourseRecord, RowProblem, TermRecord
from rostersync.domain.state import Outcome, SchoolStatus, SyncState, on_success
from rostersync.service.context import Services
from rostersync.service.ids import new_id
from rostersync.service.model import RunRecord, SchoolRow, SkipCheck
from rostersync.service.ports import UnitOfWork

# Bump when the mapping or the roster rules change, so stored digests stop matching.
DIGEST_VERSION = "3"


@dataclass(slots=True)
class Stamps:
    """The district's roster total as this run sees it, and the schools it verified."""

    start: int | None = None
    expected: int | None = None
    foreign: bool = False
    verified: dict[str, str] = field(default_factory=dict)
    applied: bool = False

    def observe(self, before: int, after: int) -> None:
        """Record one of this run's transactions: the total it found and the one it left."""
        if self.start is None:
            self.start = before
        if self.expected is not None and before != self.expected:
            self.foreign = True
        self.expected = after
        self.applied = self.applied or after != before

    def accepts(self, stamp: int, total: int) -> bool:
        """Whether a roster verified at total ``stamp`` still is, the total being ``total``:
        nothing applied since, or only this run's own applies (made from the same fetch)."""
        if stamp == total:
            return True
        own_only = not self.foreign and total == self.expected
        return own_only and stamp == self.start


def shared_digest(
    terms: dict[str, TermRecord],
    courses: dict[str, CourseRecord],
    unknown: list[RowProblem],
    policy: Policy,
) -> str:
    """The part of every school's digest that is the same for the whole district."""
    policy_values = [
        sorted(v) if isinstance(v, frozenset) else v
        for v in (getattr(policy, f.name) for f in fields(policy))
    ]
    text = repr(
        (DIGEST_VERSION, sorted(terms.items()), sorted(courses.items()), unknown, policy_values)
    )
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def school_digest(shared: str, staged: str, problems: list[RowProblem]) -> str:
    """One school's digest: the shared part, its staged records and its row problems."""
    text = repr((shared, staged, problems))
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


class HeldUnit:
    """A unit of work held open across schools: opened when first asked for, given back by
    ``close`` (what was not committed is then rolled back)."""

    def __init__(self, services: Services, *, foreign_keys: bool = True) -> None:
        self._services = services
        self._foreign_keys = foreign_keys  # see ``Store.unit_of_work``
        self._stack: ExitStack | None = None
        self.uow: UnitOfWork | None = None

    def open(self) -> UnitOfWork:
        if self.uow is None:
            self._stack = ExitStack()
            store = self._services.store
            unit = store.unit_of_work(foreign_keys=self._foreign_keys)
            self.uow = self._stack.enter_context(unit)
        return self.uow

    def close(self) -> None:
        try:
            if self._stack is not None:
                self._stack.close()
        finally:
            self._stack = self.uow = None


class UnchangedRuns:
    """Skips schools, recording the ``unchanged`` runs of consecutive skipped schools in one
    transaction (a district of 2,000 schools would otherwise pay 2,000 commits on a resync
    that changes nothing). ``flush`` commits them; call it before any other transaction of
    the run (SQLite has one writer). Leaving without ``flush`` rolls the batch back: those
    schools keep their last run and are checked again next time.

    Reads and writes are in bulk, a few statements for any number of skipped schools. What
    a skip needs (the school's row and input check, its last run's outcome, counts and
    problems) is read within the transaction, for a window of schools in ``list_schools``
    order (the order a sync visits them): the first skip of a transaction reads its school
    alone, each later window is eight times the schools read so far (at most ``WINDOW``).
    A resync that skips every school reads a few windows; one where changed schools end
    transactions often reads at most nine schools per school skipped, never the district
    per transaction. The runs and statuses are written at ``flush``, in a few executemany
    statements, the runs copying their last run's stored problems instead of encoding them."""

    WINDOW = 4096

    def __init__(self, services: Services, district_id: str, stamps: Stamps) -> None:
        self._services = services
        self._district_id = district_id
        self.stamps = stamps
        self._held = HeldUnit(services)
        self._total = 0
        self._checks: dict[str, SkipCheck] = {}
        self._problems: dict[str, tuple[RowProblem, ...]] = {}
        self._runs: list[tuple[RunRecord, str | None]] = []
        self._statuses: list[tuple[str, SchoolStatus]] = []

    def skip(self, school: SchoolRow, digest: str, base: RunRecord) -> RunRecord | None:
        """Record an ``unchanged`` run without building the roster, or ``None`` if the
        school needs a full check. ``base`` is the run to record (ids, trigger, requests)."""
        if not self.may_skip(school):
            return None
        uow = self._transaction()
        total = self._total
        check = self._check(uow, school)
        if check is None or not verified(check, digest, total, self.stamps):
            return None
        now = self._services.clock.now()
        run = replace(
            base,
            id=new_id("run"),
            finished_at=now,
            outcome=Outcome.UNCHANGED,
            problems=self._last_problems(uow, check, total),
            counts=check.last_counts,
            roster_version=check.school.roster_version,
        )
        self._runs.append((run, check.problems_from))
        self._statuses.append((check.school.id, on_success(check.school.status, now).status))
        self.stamps.observe(total, total)
        self.stamps.verified[school.id] = digest
        return run

    @staticmethod
    def may_skip(school: SchoolRow) -> bool:
        """Whether ``skip`` could skip the school as it was listed (healthy): a school
        listed otherwise (never synced, held, failing) gets a full check without the skip's
        transaction. Its status read in the transaction decides the rest (a full check is
        never wrong, only slower)."""
        return school.status.state is SyncState.HEALTHY

    def flush(self) -> None:
        """Write and commit the runs recorded so far."""
        uow = self._held.uow
        if uow is not None:
            uow.add_unchanged_runs(self._runs)
            uow.save_statuses(self._statuses)
            uow.commit()
        self.close()

    def close(self) -> None:
        """End the transaction; what ``flush`` did not commit is rolled back."""
        try:
            self._held.close()
        finally:
            self._checks, self._problems = {}, {}
            self._runs, self._statuses = [], []

    def _transaction(self) -> UnitOfWork:
        uow = self._held.uow
        if uow is None:
            uow = self._held.open()
            uow.lock_district(self._district_id)
            self._total = uow.roster_total(self._district_id)
        return uow

    def _check(self, uow: UnitOfWork, school: SchoolRow) -> SkipCheck | None:
        """The school's check, read with the window of schools that follows it if this
        transaction has not read it yet (``None`` if it is gone)."""
        check = self._checks.get(school.id)
        if check is None:
            limit = min(max(1, 8 * len(self._checks)), self.WINDOW)
            read = uow.skip_checks(self._district_id, school, limit)
            self._checks.update((c.school.id, c) for c in read)
            check = self._checks.get(school.id)
        return check

    def _last_problems(
        self, uow: UnitOfWork, check: SkipCheck, total: int
    ) -> tuple[RowProblem, ...]:
        """The last run's problems, read with those of every other school read in this
        transaction that could be skipped (all but its digest known to match)."""
        run_id = check.last_run_id
        assert run_id is not None  # a verified check has a last run
        if run_id not in self._problems:
            wanted = [
                c.last_run_id
                for c in self._checks.values()
                if c.last_run_id is not None
                and c.last_run_id not in self._problems
                and verified(c, None, total, self.stamps)
            ]
            self._problems.update(uow.runs_problems(wanted))
        return self._problems[run_id]


def verified(check: SkipCheck, digest: str | None, total: int, stamps: Stamps) -> bool:
    """Whether the school's last run verified its roster for exactly these inputs (with
    ``digest`` ``None``: for any digest, whichever it stored), the district's roster total
    being ``total``. Also what ``service.partial`` asks of a stored roster."""
    if check.school.status.state is not SyncState.HEALTHY or check.input_check is None:
        return False
    stored, stamp = check.input_check
    if digest is not None and stored != digest:
        return False
    if not stamps.accepts(stamp, total):
        return False
    return check.last_outcome in (Outcome.APPLIED, Outcome.UNCHANGED)


def restamp(services: Services, district_id: str, stamps: Stamps) -> None:
    """After a run that applied, restamp the schools it verified (see the module notes)."""
    if not stamps.applied or stamps.foreign or not stamps.verified:
        return
    with services.store.unit_of_work() as uow:
        uow.lock_district(district_id)
        total = uow.roster_total(district_id)
        if total != stamps.expected:
            return
        uow.save_input_checks(stamps.verified, total)
        uow.commit()
