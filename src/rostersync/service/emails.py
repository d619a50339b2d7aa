"""Build the outbox message sent when a school enters a hold or its hold kind changes.

The service decides *that* an email goes out and *what it says* as data (the payload);
``rostersync.notify`` renders it from templates and sends it after commit.
"""

from __future__ import annotations

from rostersync.domain.changes import ChangeSet, Op
from rostersync.domain.policy import HoldKind
from rostersync.domain.roster import Account, ClassInfo
from rostersync.domain.state import Transition
from rostersync.service.context import Services
from rostersync.service.ids import new_id
from rostersync.service.model import OutboxMessage, RunRecord, SchoolRow
from rostersync.service.ports import UnitOfWork

MAX_RECORDS = 20
SINGULAR = {
    "students": "student",
    "teachers": "teacher",
    "staff": "staff member",
    "contacts": "contact",
    "classes": "class",
    "enrollments": "enrollment",
    "class_teachers": "class teacher",
    "contact_links": "contact link",
}


def hold_email(
    services: Services,
    uow: UnitOfWork,
    school: SchoolRow,
    transition: Transition,
    run: RunRecord,
    change_set: ChangeSet | None,
    previous: HoldKind | None,
) -> OutboxMessage | None:
    """The hold email for the school's and district's admins; ``None`` if nobody to tell."""
    kind = transition.status.hold_kind
    assert kind is not None
    admins = uow.admins_for_school(school.id)
    recipients = tuple(sorted({a.email for a in admins if a.notify}))
    if not recipients:
        return None
    district = uow.get_district(school.district_id)
    records = describe_records(kind, run, change_set)
    payload = {
        "school": {"id": school.id, "name": school.name, "source_id": school.source_id},
        "district": {"id": school.district_id, "name": district.name if district else ""},
        "hold_kind": kind.value,
        "previous_kind": previous.value if previous else None,
        "since": (transition.status.hold_since or run.finished_at).isoformat(),
        "run_id": run.id,
        "counts": run.changes,
        "findings": [
            {"rule": f.rule, "message": f.message, "subject": f.subject} for f in run.findings
        ],
        "records": records[:MAX_RECORDS],
        "records_total": len(records),
        "error": run.error,
        "dashboard_url": _dashboard(services, school),
    }
    return OutboxMessage(
        id=new_id("msg"),
        kind="hold_entered",
        recipients=recipients,
        payload=payload,
        dedupe_key=f"hold_entered:{school.id}:{kind.value}:{run.id}",
        created_at=run.finished_at,
    )


def describe_records(kind: HoldKind, run: RunRecord, change_set: ChangeSet | None) -> list[str]:
    """The records a hold is about, one line each, in a stable order."""
    if kind is HoldKind.DATA_REMOVALS and change_set is not None:
        return [
            f"Remove {SINGULAR[c.entity]} {label_of(c.before, c.key)}"
            for c in change_set.changes
            if c.op is Op.REMOVED
        ]
    if kind is HoldKind.DISCONNECTED:
        return [run.error] if run.error else []
    return [f.message for f in run.findings]


def label_of(value: object, key: tuple[str, ...]) -> str:
    """A readable name for a changed record: its name and id, or its key."""
    if isinstance(value, Account) and value.display_name:
        return f"{value.display_name} ({key[0]})"
    if isinstance(value, ClassInfo) and value.name:
        return f"{value.name} ({key[0]})"
    return " / ".join(key)


def _dashboard(services: Services, school: SchoolRow) -> str | None:
    if not services.public_url:
        return None
    return f"{services.public_url.rstrip('/')}/schools/{school.id}"
