"""The change set: every difference between a school's stored roster and the source.

A diff is keyed and ordered (entity, then key), so the same inputs always give the same,
reviewable list. A change set is self-contained: it carries the new values, so a held change
set can be applied later exactly as it was reviewed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from rostersync.domain.roster import Account, ClassInfo, LinkInfo, SchoolRoster

# The entities a school's change set and counts speak of, in report order.
ENTITIES: tuple[str, ...] = (
    "students",
    "teachers",
    "staff",
    "contacts",
    "classes",
    "enrollments",
    "class_teachers",
    "contact_links",
)
ROLE_ENTITY: dict[str, str] = {
    "student": "students",
    "teacher": "teachers",
    "staff": "staff",
    "contact": "contacts",
}
MEMBERSHIP_ENTITY: dict[str, str] = {"student": "enrollments", "teacher": "class_teachers"}


class Op(StrEnum):
    ADDED = "added"
    UPDATED = "updated"
    REMOVED = "removed"


Value = Account | ClassInfo | LinkInfo | None


@dataclass(frozen=True, slots=True)
class Change:
    """One keyed change. ``before``/``after`` hold the record's values where it has any."""

    entity: str
    op: Op
    key: tuple[str, ...]
    before: Value = None
    after: Value = None


@dataclass(slots=True)
class ChangeSet:
    school_id: str
    changes: list[Change] = field(default_factory=list)

    def is_empty(self) -> bool:
        return not self.changes

    def counts(self) -> dict[str, dict[str, int]]:
        """``{entity: {"added": n, "updated": n, "removed": n}}`` for every entity."""
        out = {e: {op.value: 0 for op in Op} for e in ENTITIES}
        for change in self.changes:
            out[change.entity][change.op.value] += 1
        return out

    def removals(self) -> dict[str, int]:
        out = dict.fromkeys(ENTITIES, 0)
        for change in self.changes:
            if change.op is Op.REMOVED:
                out[change.entity] += 1
        return out

    def of(self, entity: str, op: Op | None = None) -> list[Change]:
        return [c for c in self.changes if c.entity == entity and (op is None or c.op is op)]


def diff(current: SchoolRoster, desired: SchoolRoster) -> ChangeSet:
    """Everything that must change for ``current`` to become ``desired``."""
    changes: list[Change] = []
    changes += _link_changes(current, desired)
    changes += _keyed_changes("classes", current.classes, desired.classes)
    changes += _membership_changes(current, desired)
    changes += _keyed_changes("contact_links", current.contact_links, desired.contact_links)
    order = {e: i for i, e in enumerate(ENTITIES)}
    changes.sort(key=lambda c: (order[c.entity], c.key, c.op.value))
    return ChangeSet(school_id=desired.school_id, changes=changes)


def _link_changes(current: SchoolRoster, desired: SchoolRoster) -> list[Change]:
    out: list[Change] = []
    for account_id, role in desired.links - current.links:
        out.append(
            Change(ROLE_ENTITY[role], Op.ADDED, (account_id,), after=desired.accounts[account_id])
        )
    for account_id, role in current.links - desired.links:
        out.append(
            Change(
                ROLE_ENTITY[role], Op.REMOVED, (account_id,), before=current.accounts[account_id]
            )
        )
    kept = {a for a, _ in current.links} & {a for a, _ in desired.links}
    for account_id in kept:
        before, after = current.accounts[account_id], desired.accounts[account_id]
        if before != after:
            role = _first_role(desired, account_id)
            out.append(
                Change(ROLE_ENTITY[role], Op.UPDATED, (account_id,), before=before, after=after)
            )
    return out


def _first_role(roster: SchoolRoster, account_id: str) -> str:
    roles = sorted(role for acc, role in roster.links if acc == account_id)
    for role in ("student", "teacher", "staff", "contact"):
        if role in roles:
            return role
    return roles[0]


def _keyed_changes(
    entity: str,
    current: Mapping[Any, ClassInfo | LinkInfo],
    desired: Mapping[Any, ClassInfo | LinkInfo],
) -> list[Change]:
    """Added, updated and removed entries of two mappings keyed by id or id pair."""
    out: list[Change] = []
    for key, after in desired.items():
        before = current.get(key)
        if before is None:
            out.append(Change(entity, Op.ADDED, _as_key(key), after=after))
        elif before != after:
            out.append(Change(entity, Op.UPDATED, _as_key(key), before=before, after=after))
    for key, before in current.items():
        if key not in desired:
            out.append(Change(entity, Op.REMOVED, _as_key(key), before=before))
    return out


def _as_key(key: str | tuple[str, ...]) -> tuple[str, ...]:
    return (key,) if isinstance(key, str) else key


def _membership_changes(current: SchoolRoster, desired: SchoolRoster) -> list[Change]:
    out: list[Change] = []
    for class_id, account_id, role in desired.memberships - current.memberships:
        out.append(Change(MEMBERSHIP_ENTITY[role], Op.ADDED, (class_id, account_id)))
    for class_id, account_id, role in current.memberships - desired.memberships:
        out.append(Change(MEMBERSHIP_ENTITY[role], Op.REMOVED, (class_id, account_id)))
    return out


def apply_changes(roster: SchoolRoster, change_set: ChangeSet) -> SchoolRoster:
    """The roster after applying a change set (pure; the store does the same in SQL)."""
    out = SchoolRoster(
        school_id=roster.school_id,
        accounts=dict(roster.accounts),
        links=set(roster.links),
        classes=dict(roster.classes),
        memberships=set(roster.memberships),
        contact_links=dict(roster.contact_links),
    )
    role_of = {entity: role for role, entity in ROLE_ENTITY.items()}
    member_role = {entity: role for role, entity in MEMBERSHIP_ENTITY.items()}
    for change in change_set.changes:
        if change.entity in role_of:
            _apply_link(out, change, role_of[change.entity])
        elif change.entity in member_role:
            item = (change.key[0], change.key[1], member_role[change.entity])
            if change.op is Op.REMOVED:
                out.memberships.discard(item)
            else:
                out.memberships.add(item)
        elif change.entity == "classes":
            _apply_value(out.classes, change.key[0], change)
        else:
            _apply_value(out.contact_links, (change.key[0], change.key[1]), change)
    linked = {a for a, _ in out.links}
    out.accounts = {k: v for k, v in out.accounts.items() if k in linked}
    return out


def _apply_link(roster: SchoolRoster, change: Change, role: str) -> None:
    account_id = change.key[0]
    if change.op is Op.REMOVED:
        roster.links.discard((account_id, role))
        return
    if change.op is Op.ADDED:
        roster.links.add((account_id, role))
    assert isinstance(change.after, Account)
    roster.accounts[account_id] = change.after


def _apply_value(target: dict[Any, Any], key: Any, change: Change) -> None:
    if change.op is Op.REMOVED:
        target.pop(key, None)
    else:
        target[key] = change.after
