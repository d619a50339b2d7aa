"""Run a sync: fetch a district once, then evaluate and apply each school on its own.

Per school, the change set and every policy are computed before any write. A held school
writes nothing to its roster; its run, its new status and the hold email (through the
outbox) are written in one transaction. The other schools go on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from rostersync.domain.changes import ChangeSet
from rostersync.domain.records import SchoolRecord
from rostersync.errors import NotFoundError, SourceError, TokenInvalidError
from rostersync.service.collector import sync_collections
from rostersync.service.context import Services
from rostersync.service.evaluate import (
    InputCheck,
    SchoolBatch,
    SchoolVerdict,
    evaluate_school,
    new_run,
    record_failure,
)
from rostersync.service.fetch import (
    FetchedDistrict,
    SharedProblems,
    district_breakage,
    fetch_district,
    fresh_school_roster,
    school_roster,
    shared_problems,
)
from rostersync.service.model import DistrictConfig, Plan, RunRecord, SchoolRow
from rostersync.service.outbox import deliver_pending
from rostersync.service.partial import evaluate_part, partial_possible
from rostersync.service.unchanged import (
    Stamps,
    UnchangedRuns,
    restamp,
    school_digest,
    shared_digest,
)


@dataclass(slots=True)
class SyncResult:
    district_id: str
    runs: list[RunRecord] = field(default_factory=list)
    skipped_reason: str = ""
    error: str = ""
    # Users that differed from the district's last fetch (see ``storage.staging``).
    staged_users: int = 0
    # Pages of users passed over unread: the last fetch staged them, and they came back the same.
    skipped_pages: int = 0
    # Sections mapped and staged (not passed over), and pages of sections passed over unread.
    staged_sections: int = 0
    skipped_section_pages: int = 0
    # Schools evaluated from the rows their changes reach (see ``service.partial``).
    partial: int = 0


def sync_district(
    services: Services,
    district_id: str,
    *,
    school_refs: Sequence[str] | None = None,
    trigger: str = "manual",
    actor: str = "",
    progress: Callable[[str], None] | None = None,
) -> SyncResult:
    """Fetch the district and evaluate its schools (all, or those named)."""
    config = _district(services, district_id)
    if config.plan is Plan.INACTIVE:
        return SyncResult(
            district_id,
            skipped_reason="The district's plan is inactive, so it does not sync. "
            "Its schools keep their last roster; activate the plan to resume.",
        )
    with sync_collections():
        return _sync(services, config, school_refs, trigger, actor, progress)


def _sync(
    services: Services,
    config: DistrictConfig,
    school_refs: Sequence[str] | None,
    trigger: str,
    actor: str,
    progress: Callable[[str], None] | None,
) -> SyncResult:
    started = services.clock.now()
    district_id = config.id
    source = services.sources(config.clever_base_url, config.clever_token)
    staging = services.store.staging(district_id)
    try:
        try:
            fetched = fetch_district(source, staging, progress)
        except SourceError as exc:
            runs = _fail_all(services, config, school_refs, exc, trigger, actor, started)
            _mark_synced(services, config.id, started)
            return _finish(services, SyncResult(district_id, runs, error=str(exc)))
        finally:
            source.close()
        services.checkpoint("after_fetch")
        result = SyncResult(
            district_id,
            staged_users=fetched.staged_users,
            skipped_pages=fetched.skipped_pages,
            staged_sections=fetched.staged_sections,
            skipped_section_pages=fetched.skipped_section_pages,
        )
        _evaluate_all(services, config, fetched, school_refs, trigger, actor, started, result)
    finally:
        staging.close()
    _mark_synced(services, config.id, started)
    return _finish(services, result)


def _finish(services: Services, result: SyncResult) -> SyncResult:
    if services.deliver_after_commit and services.mailer is not None:
        services.checkpoint("before_email")
        deliver_pending(services)
    return result


def _mark_synced(services: Services, district_id: str, at: datetime) -> None:
    with services.store.unit_of_work() as uow:
        uow.lock_district(district_id)  # take the write lock before reading (SQLite)
        config = uow.get_district(district_id)
        if config is not None:
            uow.update_district(replace(config, last_sync_at=at))
            uow.commit()


def _district(services: Services, district_id: str) -> DistrictConfig:
    with services.store.unit_of_work() as uow:
        config = uow.get_district(district_id)
    if config is None:
        raise NotFoundError(
            f"There is no district {district_id!r}. Run 'rostersync district list' to see them."
        )
    return config


def _targets(
    services: Services, config: DistrictConfig, refs: Sequence[str] | None
) -> list[SchoolRow]:
    with services.store.unit_of_work() as uow:
        schools = uow.list_schools(config.id)
    if refs is None:
        return schools
    wanted = set(refs)
    return [s for s in schools if s.id in wanted or s.source_id in wanted]


def _register_schools(
    services: Services, config: DistrictConfig, records: Sequence[SchoolRecord]
) -> None:
    """New schools in the share appear as never_synced; names stay current. Only new and
    renamed schools are written (a large district lists thousands, mostly as they were)."""
    with services.store.unit_of_work() as uow:
        uow.lock_district(config.id)  # take the write lock before reading (SQLite)
        names = {school.source_id: school.name for school in uow.list_schools(config.id)}
        changed = [r for r in records if names.get(r.source_id) != r.name]
        uow.upsert_schools(config.id, changed)
        uow.commit()


def _evaluate_all(
    services: Services,
    config: DistrictConfig,
    fetched: FetchedDistrict,
    refs: Sequence[str] | None,
    trigger: str,
    actor: str,
    started: datetime,
    result: SyncResult,
) -> None:
    """Evaluate the schools into ``result``; then keep the input digests found with the
    fetch cache, for the next sync's per-record evaluations."""
    _register_schools(services, config, list(fetched.schools.values()))
    shared = shared_digest(
        fetched.terms, fetched.courses, [*fetched.unknown, *fetched.unplaced], config.policy
    )
    stamps = Stamps()
    skips = UnchangedRuns(services, config.id, stamps)
    batch = SchoolBatch(services, config.id)
    # What shapes rosters district-wide (row problems aside): a per-record evaluation
    # needs it unchanged since the previous fetch.
    rules = shared_digest(fetched.terms, fetched.courses, [], config.policy)
    digests: dict[str, str] = {}
    try:
        _evaluate_targets(
            services,
            config,
            fetched,
            refs,
            Inputs(shared, rules, digests),
            Writers(skips, batch),
            result,
            trigger,
            actor,
            started,
        )
        batch.flush()
        skips.flush()
    finally:
        batch.close()
        skips.close()
    restamp(services, config.id, stamps)
    fetched.staging.remember_checks(rules, digests)


@dataclass(frozen=True, slots=True)
class Writers:
    """The two writers that keep a transaction open across schools: the unchanged runs
    (``service.unchanged``) and the batch of schools evaluated (``SchoolBatch``). At most
    one holds a transaction at a time (SQLite has one writer): ``flush`` ends both."""

    skips: UnchangedRuns
    batch: SchoolBatch

    def flush(self) -> None:
        self.batch.flush()
        self.skips.flush()


@dataclass(frozen=True, slots=True)
class Inputs:
    """The district's shared input digest, that of its roster rules alone (terms, courses,
    policy), and each evaluated school's (by source id)."""

    shared: str
    rules: str
    digests: dict[str, str]


def _evaluate_targets(
    services: Services,
    config: DistrictConfig,
    fetched: FetchedDistrict,
    refs: Sequence[str] | None,
    inputs: Inputs,
    writers: Writers,
    result: SyncResult,
    trigger: str,
    actor: str,
    started: datetime,
) -> None:
    broken = district_breakage(fetched.district)
    runs: dict[str, RunRecord] = {}
    shared = shared_problems(fetched)  # once for every school evaluated in part
    targets = _targets(services, config, refs)
    # In the order of their ids, which lead the keys of the roster tables: a first load
    # then adds each school's rows after the last school's (on a new store, at the end of
    # each table's B-tree, whose last pages stay in the cache), not at a random place
    # (R1M: the roster INSERTs and commits about 3 s less CPU). The runs are listed as the
    # schools are (by name).
    for school in sorted(targets, key=_school_id):
        verdict = SchoolVerdict(
            config=config,
            school=school,
            trigger=trigger,
            actor=actor,
            requests=fetched.requests,
            started_at=started,
        )
        if broken is not None:
            writers.flush()
            runs[school.id] = record_failure(
                services, verdict, broken, fatal=True, rule="district_error"
            )
        elif school.source_id not in fetched.schools:
            writers.flush()
            message = (
                f"School {school.name} is no longer in the data shared with this app. "
                "Reshare it in Clever, then use 'I fixed it'."
            )
            runs[school.id] = record_failure(
                services, verdict, message, fatal=True, rule="school_unshared"
            )
        else:
            runs[school.id] = _evaluate_one(
                services, verdict, fetched, inputs, writers, result, shared
            )
    result.runs += [runs[school.id] for school in targets]


def _school_id(school: SchoolRow) -> str:
    return school.id


def _evaluate_one(
    services: Services,
    verdict: SchoolVerdict,
    fetched: FetchedDistrict,
    inputs: Inputs,
    writers: Writers,
    result: SyncResult,
    shared: SharedProblems,
) -> RunRecord:
    """Skip the school if its inputs did not change since it was verified; else check it:
    from the rows its changes reach when it can (``service.partial``), else whole."""
    school = verdict.school
    staged = fetched.staging.problems(school.source_id)
    digest = school_digest(inputs.shared, fetched.digests.get(school.source_id, ""), staged)
    inputs.digests[school.source_id] = digest
    base = new_run(verdict, school, services.clock.now(), [], ChangeSet(school.source_id))
    # A school whose inputs changed since the last sync (as the fetch cache knows) cannot be
    # skipped: its stored digest is at best that sync's, so the skip's reads are spared.
    previous = fetched.staging.previous_check(school.source_id)
    skips = writers.skips
    # Only a school listed healthy may be skipped: the others (all of them on a first load)
    # stay in the batch's transaction, which a skip's transaction would have to end.
    if (previous is None or previous == digest) and skips.may_skip(school):
        writers.batch.flush()  # the skip's transaction comes next
        skipped = skips.skip(school, digest, base)
        if skipped is not None:
            return skipped
    skips.flush()  # the batch's transaction comes next
    check = InputCheck(digest, skips.stamps)
    if partial_possible(fetched, school.source_id, inputs.rules):
        run = evaluate_part(services, verdict, fetched, staged, check, shared, writers.batch)
        if run is not None:
            result.partial += 1
            return run
    if school.roster_version == 0:  # never applied: the store holds no row of it
        fresh, problems = fresh_school_roster(fetched, school.source_id, staged)
        return evaluate_school(services, verdict, fresh, problems, check, writers.batch)
    desired, problems = school_roster(fetched, school.source_id, staged)
    return evaluate_school(services, verdict, desired, problems, check, writers.batch)


def _fail_all(
    services: Services,
    config: DistrictConfig,
    refs: Sequence[str] | None,
    exc: SourceError,
    trigger: str,
    actor: str,
    started: datetime,
) -> list[RunRecord]:
    fatal = isinstance(exc, TokenInvalidError)
    runs = []
    for school in _targets(services, config, refs):
        verdict = SchoolVerdict(
            config=config, school=school, trigger=trigger, actor=actor, started_at=started
        )
        rule = "token_invalid" if fatal else "persistent_failures"
        runs.append(record_failure(services, verdict, str(exc), fatal=fatal, rule=rule))
    return runs
