"""Read side: the status table, the SIS sync report and the preview.

These never write. The preview fetches and assesses a school exactly as a sync would,
then stops before the transaction.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field

from rostersync.domain.changes import ENTITIES, Change, ChangeSet
from rostersync.domain.policy import Finding
from rostersync.domain.records import RowProblem
from rostersync.domain.state import Outcome
from rostersync.errors import NotFoundError
from rostersync.service.assess import Assessment, assess
from rostersync.service.context import Services
from rostersync.service.emails import label_of
from rostersync.service.fetch import fetch_district, school_roster
from rostersync.service.holds import allowed_actions, find_school
from rostersync.service.model import AdminAction, DistrictConfig, RunRecord, SchoolRow

COUNT_KEYS = ENTITIES  # the counts a school reports are its entities


@dataclass(frozen=True, slots=True)
class SchoolStatusView:
    school: SchoolRow
    district: DistrictConfig
    latest: RunRecord | None
    counts: dict[str, int]

    @property
    def findings(self) -> tuple[Finding, ...]:
        if self.latest is None or self.school.status.hold_kind is None:
            return ()
        return self.latest.findings


@dataclass(slots=True)
class SchoolReport:
    view: SchoolStatusView
    actions: list[str]
    runs: list[RunRecord]
    held_run: RunRecord | None
    held_changes: ChangeSet | None
    problems: tuple[RowProblem, ...]
    history: list[AdminAction] = field(default_factory=list)


def _counts(run: RunRecord | None) -> dict[str, int]:
    counts = dict.fromkeys(COUNT_KEYS, 0)
    if run is not None:
        counts.update(run.counts)
    return counts


def _latest_with_counts(runs: Iterable[RunRecord]) -> RunRecord | None:
    for run in runs:
        if run.outcome is not Outcome.FAILED:
            return run
    return None


def school_status(services: Services, district_id: str | None = None) -> list[SchoolStatusView]:
    """One entry per school: state, hold, last success and current counts."""
    views: list[SchoolStatusView] = []
    with services.store.unit_of_work() as uow:
        districts = {d.id: d for d in uow.list_districts()}
        for school in uow.list_schools(district_id):
            runs = uow.list_runs(school.id, limit=10)
            latest = runs[0] if runs else None
            counts = _counts(_latest_with_counts(runs))
            views.append(SchoolStatusView(school, districts[school.district_id], latest, counts))
    return views


def school_report(services: Services, school_ref: str, runs: int = 20) -> SchoolReport:
    """Everything the SIS sync report shows for one school."""
    school = find_school(services, school_ref)
    with services.store.unit_of_work() as uow:
        district = uow.get_district(school.district_id)
        if district is None:
            raise NotFoundError(f"The district of school {school.name} is missing.")
        recent = uow.list_runs(school.id, limit=runs)
        latest = recent[0] if recent else None
        held_run = latest if latest and latest.outcome is Outcome.HELD else None
        held = uow.held_change_set(held_run.id) if held_run else None
        history = uow.list_actions(school.id)
    view = SchoolStatusView(school, district, latest, _counts(_latest_with_counts(recent)))
    problems = latest.problems if latest else ()
    return SchoolReport(view, allowed_actions(school), recent, held_run, held, problems, history)


def preview_school(services: Services, school_ref: str) -> tuple[SchoolRow, Assessment]:
    """What the next sync would change for the school and which holds it would hit."""
    school = find_school(services, school_ref)
    with services.store.unit_of_work() as uow:
        config = uow.get_district(school.district_id)
        current = uow.load_roster(school.id)
    if config is None:
        raise NotFoundError(f"The district of school {school.name} is missing.")
    source = services.sources(config.clever_base_url, config.clever_token)
    staging = services.store.staging(school.district_id)
    try:
        try:
            fetched = fetch_district(source, staging)
        finally:
            source.close()
        if school.source_id not in fetched.schools:
            raise NotFoundError(
                f"School {school.name} is not in the data Clever shares with this app any more."
            )
        desired, _ = school_roster(fetched, school.source_id)
    finally:
        staging.close()
    return school, assess(current, desired, config.policy)


FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: str) -> str:
    """A cell a spreadsheet shows as text: a leading quote defuses formula injection."""
    return f"'{value}" if value.startswith(FORMULA_PREFIXES) else value


def changes_csv(changes: Iterable[Change]) -> str:
    """The change list as CSV: entity, operation, key, name."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["entity", "operation", "key", "name"])
    for change in changes:
        value = change.before if change.after is None else change.after
        name = csv_cell(label_of(value, change.key))
        writer.writerow([change.entity, change.op.value, "/".join(change.key), name])
    return out.getvalue()


def problems_csv(problems: Iterable[RowProblem]) -> str:
    """Errors and alerts as CSV."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["severity", "entity", "source_id", "code", "message"])
    for p in problems:
        writer.writerow(
            [p.severity.value, p.entity, csv_cell(p.source_id), p.code, csv_cell(p.message)]
        )
    return out.getvalue()
