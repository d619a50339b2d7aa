"""Reviewing a hold: the held change set a page at a time, and the people each finding is about.

The SIS sync report shows the first changes; an admin deciding on "Confirm removals" needs
to page through all of them, filter by entity and operation, and download them. Findings
name a student or contact by id; this module adds their names and, for a student with too
many contacts, the contacts involved, from the held change set and the applied roster.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from rostersync.domain.changes import ENTITIES, Change, ChangeSet, Op
from rostersync.domain.policy import Finding
from rostersync.domain.roster import Account
from rostersync.domain.state import Outcome
from rostersync.errors import ConfigurationError
from rostersync.service.context import Services
from rostersync.service.emails import label_of
from rostersync.service.model import RunRecord, SchoolRow
from rostersync.service.queries import SchoolReport

MAX_PAGE = 500


@dataclass(frozen=True, slots=True)
class ChangesPage:
    run: RunRecord | None
    total: int
    offset: int
    limit: int
    items: list[Change]


@dataclass(frozen=True, slots=True)
class FindingDetail:
    finding: Finding
    subject: str
    involved: list[str]


def held_run(services: Services, school: SchoolRow) -> RunRecord | None:
    """The school's latest run if it was held (the change set under review), else ``None``."""
    with services.store.unit_of_work() as uow:
        latest = uow.list_runs(school.id, limit=1)
    if latest and latest[0].outcome is Outcome.HELD:
        return latest[0]
    return None


def check_filter(entity: str | None, op: str | None) -> None:
    if entity is not None and entity not in ENTITIES:
        raise ConfigurationError(f"Unknown entity {entity!r}; use one of {', '.join(ENTITIES)}.")
    if op is not None and op not in {o.value for o in Op}:
        raise ConfigurationError(f"Unknown operation {op!r}; use added, updated or removed.")


def held_changes_page(
    services: Services,
    school: SchoolRow,
    *,
    entity: str | None = None,
    op: str | None = None,
    offset: int = 0,
    limit: int = 50,
) -> ChangesPage:
    """One page of the held change set, filtered by entity and operation."""
    check_filter(entity, op)
    offset, limit = max(offset, 0), min(max(limit, 1), MAX_PAGE)
    run = held_run(services, school)
    if run is None:
        return ChangesPage(None, 0, offset, limit, [])
    with services.store.unit_of_work() as uow:
        total, items = uow.held_changes_page(
            run.id, entity=entity, op=op, offset=offset, limit=limit
        )
    return ChangesPage(run, total, offset, limit, items)


def held_changes(
    services: Services, school: SchoolRow, *, entity: str | None = None, op: str | None = None
) -> list[Change]:
    """Every held change matching the filter (for the CSV download)."""
    check_filter(entity, op)
    run = held_run(services, school)
    if run is None:
        return []
    with services.store.unit_of_work() as uow:
        change_set = uow.held_change_set(run.id)
    changes = change_set.changes if change_set else []
    return [c for c in changes if (entity in (None, c.entity)) and (op in (None, c.op.value))]


def finding_details(services: Services, report: SchoolReport) -> list[FindingDetail]:
    """Each finding of the hold with its subject's name and the records involved."""
    findings = report.view.findings
    if not findings:
        return []
    with services.store.unit_of_work() as uow:
        roster = uow.load_roster(report.view.school.id)
    names = _names(report.held_changes, roster.accounts)
    contacts_of = _contacts_by_student(report.held_changes, roster.contact_links)
    details = []
    for finding in findings:
        subject = names.get(finding.subject, finding.subject)
        involved: list[str] = []
        if finding.rule == "too_many_contacts":
            involved = [names.get(c, c) for c in sorted(contacts_of.get(finding.subject, ()))]
        details.append(FindingDetail(finding, subject, involved))
    return details


def _names(held: ChangeSet | None, accounts: dict[str, Account]) -> dict[str, str]:
    names = {key: label_of(account, (key,)) for key, account in accounts.items()}
    for change in held.changes if held else []:
        value = change.after if change.after is not None else change.before
        if isinstance(value, Account):
            names[change.key[0]] = label_of(value, change.key)
    return names


def _contacts_by_student(
    held: ChangeSet | None, links: Mapping[tuple[str, str], object]
) -> dict[str, set[str]]:
    """Contacts per student once the held change set would be applied."""
    out: dict[str, set[str]] = {}
    for contact, student in links:
        out.setdefault(student, set()).add(contact)
    for change in held.changes if held else []:
        if change.entity != "contact_links":
            continue
        contact, student = change.key[0], change.key[1]
        if change.op is Op.REMOVED:
            out.get(student, set()).discard(contact)
        else:
            out.setdefault(student, set()).add(contact)
    return out
