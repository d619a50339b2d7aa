"""Evaluate a touched school from the rows its changes reach, not the whole school.

A resync whose fetch merged into the district's fetch cache knows what changed since the
previous fetch: the users changed, added or gone and the sections that changed (the
school's *scope*, ``domain.partial``). When the school's stored roster is exactly the one
built from that previous fetch, the diff of the rows in scope is the diff of the whole
school, and its policies can count from the store. The school's stored roster is that one
when, as for skipping an unchanged school (``service.unchanged``), the school is healthy,
its last run applied or found nothing to change, the input digest stored with its roster
is the one the previous sync found for the previous fetch, nothing outside this run has
applied anywhere in the district since (the stamp), and the district's roster rules
(terms, courses, policy) are the same as then. (The row problems are found whole each
time: those tied to no school may change.) Otherwise the school is
evaluated whole, as always. A property test pins both ways to the same outcome
(``tests/property/test_partial_diff.py``).

The outcome is written exactly as a whole evaluation writes it (``evaluate.conclude``).
"""

from __future__ import annotations

from functools import partial

from rostersync.domain.changes import diff
from rostersync.domain.partial import counts_after, part_configuration_findings
from rostersync.domain.policy import hold_kind_of, removal_findings
from rostersync.domain.records import RowProblem
from rostersync.errors import NotFoundError
from rostersync.service.context import Services
from rostersync.service.evaluate import (
    InputCheck,
    Judged,
    SchoolBatch,
    SchoolVerdict,
    conclude,
    in_school_transaction,
)
from rostersync.service.fetch import FetchedDistrict, SharedProblems, school_roster_part
from rostersync.service.model import RunRecord, SkipCheck
from rostersync.service.ports import UnitOfWork
from rostersync.service.unchanged import verified


def partial_possible(fetched: FetchedDistrict, school_source_id: str, rules: str) -> bool:
    """Whether the fetch knows the school's changes since a previous fetch whose digests
    the last sync kept, with the same roster rules (``rules``: their digest)."""
    staging = fetched.staging
    return (
        staging.previous_check("") == rules and staging.previous_check(school_source_id) is not None
    )


def evaluate_part(
    services: Services,
    verdict: SchoolVerdict,
    fetched: FetchedDistrict,
    staged: list[RowProblem],
    check: InputCheck,
    shared: SharedProblems | None = None,
    batch: SchoolBatch | None = None,
) -> RunRecord | None:
    """Evaluate the school from its scope in one transaction, as ``evaluate_school`` would
    whole; ``None`` (nothing written) if its stored roster is not the previous fetch's.
    ``shared``: the fetch's ``shared_problems``, when the caller split them once. With
    ``batch``, in the batch's transaction (committed with the batch)."""
    return in_school_transaction(
        services,
        verdict.school.district_id,
        batch,
        lambda uow: _evaluate_in(services, uow, verdict, fetched, staged, check, shared),
    )


def _evaluate_in(
    services: Services,
    uow: UnitOfWork,
    verdict: SchoolVerdict,
    fetched: FetchedDistrict,
    staged: list[RowProblem],
    check: InputCheck,
    shared: SharedProblems | None,
) -> RunRecord | None:
    """``evaluate_part`` in the open transaction ``uow`` (the district locked), uncommitted."""
    school = verdict.school
    previous = fetched.staging.previous_check(school.source_id)
    policy = verdict.config.policy
    now = services.clock.now()
    last, before = _part_check(uow, school.id)
    school = last.school
    if previous is None or not verified(last, previous, before, check.stamps):
        return None
    # Built here, once the stored roster is known to be the previous fetch's: a few
    # hundred rows, not worth building for nothing.
    scope = fetched.staging.school_scope(school.source_id)
    desired, problems = school_roster_part(fetched, school.source_id, staged, scope, shared)
    current = uow.load_roster_part(school.id, scope)
    change_set = diff(current, desired)
    # The verified run's counts are the stored roster's: that run wrote or found them.
    counts = last.last_counts
    findings = part_configuration_findings(
        current,
        desired,
        scope,
        partial(uow.contacts_per_student, school.id),
        partial(uow.linked_accounts, school.id),
        policy,
    )
    findings += removal_findings(counts, change_set, policy)
    services.checkpoint("mid_diff")
    judged = Judged(
        change_set,
        findings,
        hold_kind_of(findings),
        lambda: counts,
        lambda: counts_after(counts, change_set),
    )
    return conclude(services, uow, verdict, school, now, problems, judged, check, before)


def _part_check(uow: UnitOfWork, school_id: str) -> tuple[SkipCheck, int]:
    """The school's check (as a skip reads it) and the district's roster total, in one read:
    whether its stored roster is the one its last run verified for the inputs of the
    previous fetch, and nothing outside this run applied since (``unchanged.verified``)."""
    found = uow.part_check(school_id)
    if found is None:
        raise NotFoundError(f"School {school_id} disappeared from the store during the sync.")
    return found
