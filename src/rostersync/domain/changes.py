"""The change set: every difference between a school's stored roster and the source.

A diff is keyed and ordered (entity, then key), so the same inputs always give the same,
reviewable list. A change set is self-contained: it carries the new values, so a held change
set can be applied later exactly as it was reviewed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields
from enum import StrEnum
from operator import attrgetter, itemgetter
from typing import Any

from rostersync.domain.roster import Account, ClassInfo, FreshRoster, LinkInfo, SchoolRoster

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

# Module constants: hot loops read them without an enum class attribute lookup.
_ADDED, _UPDATED, _REMOVED = Op.ADDED, Op.UPDATED, Op.REMOVED
_first = itemgetter(0)


@dataclass(frozen=True, slots=True)
class Change:
    """One keyed change. ``before``/``after`` hold the record's values where it has any."""

    entity: str
    op: Op
    key: tuple[str, ...]
    before: Value = None
    after: Value = None


_ENTITY_OP = attrgetter("entity", "op")


@dataclass(slots=True)
class ChangeSet:
    school_id: str
    changes: list[Change] = field(default_factory=list)

    def is_empty(self) -> bool:
        return not self.changes

    def counts(self) -> dict[str, dict[str, int]]:
        """``{entity: {"added": n, "updated": n, "removed": n}}`` for every entity."""
        out = {e: {op.value: 0 for op in Op} for e in ENTITIES}
        for (entity, op), n in self._tally().items():
            out[entity][op.value] += n
        return out

    def removals(self) -> dict[str, int]:
        out = dict.fromkeys(ENTITIES, 0)
        for (entity, op), n in self._tally().items():
            if op is _REMOVED:
                out[entity] += n
        return out

    def _tally(self) -> Counter[tuple[str, Op]]:
        # Counted in C, with the enum's (slow) .value read once per kind, not per change.
        return Counter(map(_ENTITY_OP, self.changes))

    def of(self, entity: str, op: Op | None = None) -> list[Change]:
        return [c for c in self.changes if c.entity == entity and (op is None or c.op is op)]


def diff(current: SchoolRoster, desired: SchoolRoster) -> ChangeSet:
    """Everything that must change for ``current`` to become ``desired``."""
    if current.is_empty():
        return ChangeSet(school_id=desired.school_id, changes=_all_added(desired))
    rows = _link_rows(current, desired)
    rows["classes"] = _value_rows(current.classes, desired.classes)
    rows["contact_links"] = _value_rows(current.contact_links, desired.contact_links)
    by_entity = _membership_changes(current, desired)
    # Each entity is sorted on its own, as plain tuples (key, then op; no key function):
    # the order of one sort of the whole list by (entity, key, op), for much less. No two
    # rows of an entity share key and op, so the values in a row are never compared.
    for entity, entity_rows in rows.items():
        entity_rows.sort()
        by_entity[entity] = [
            _new_change(entity, op, (key,) if isinstance(key, str) else key, before, after)
            for key, op, before, after in entity_rows
        ]
    changes: list[Change] = []
    for entity in ENTITIES:
        changes += by_entity.get(entity, ())
    return ChangeSet(school_id=desired.school_id, changes=changes)


# A change before it becomes a ``Change``: (its key in the roster, op, before, after).
_Row = tuple[Any, Op, Value, Value]


def _link_rows(current: SchoolRoster, desired: SchoolRoster) -> dict[str, list[_Row]]:
    """Account changes per role entity: links added and removed, and the accounts kept
    whose values changed (under the first role they hold in ``desired``)."""
    rows: dict[str, list[_Row]] = {}
    before_of, after_of = current.accounts, desired.accounts
    row: _Row
    for account_id, role in desired.links - current.links:
        row = (account_id, _ADDED, None, after_of[account_id])
        rows.setdefault(ROLE_ENTITY[role], []).append(row)
    for account_id, role in current.links - desired.links:
        row = (account_id, _REMOVED, before_of[account_id], None)
        rows.setdefault(ROLE_ENTITY[role], []).append(row)
    updated: list[str] = []
    for account_id in set(map(_first, current.links)).intersection(map(_first, desired.links)):
        # == rather than !=: a dataclass defines only __eq__, and != (through
        # object.__ne__) costs twice as much, on every account kept.
        if before_of[account_id] == after_of[account_id]:
            continue
        updated.append(account_id)
    roles = _first_roles(desired, set(updated)) if updated else {}
    for account_id in updated:
        row = (account_id, _UPDATED, before_of[account_id], after_of[account_id])
        rows.setdefault(ROLE_ENTITY[roles[account_id]], []).append(row)
    return rows


def _first_roles(roster: SchoolRoster, account_ids: set[str]) -> dict[str, str]:
    """The role each account's update is reported under, read in one pass over the links
    (not one pass per account)."""
    held: dict[str, list[str]] = {}
    for account_id, role in roster.links:
        if account_id in account_ids:
            held.setdefault(account_id, []).append(role)
    return {account_id: _first_role(roles) for account_id, roles in held.items()}


def _first_role(roles: list[str]) -> str:
    for role in ("student", "teacher", "staff", "contact"):
        if role in roles:
            return role
    return min(roles)


def _value_rows(
    current: Mapping[Any, ClassInfo | LinkInfo], desired: Mapping[Any, ClassInfo | LinkInfo]
) -> list[_Row]:
    """Added, updated and removed entries of two mappings keyed by id or id pair."""
    rows: list[_Row] = []
    for key, after in desired.items():
        before = current.get(key)
        if before is None:
            rows.append((key, _ADDED, None, after))
        elif before == after:  # not !=: see _link_rows
            continue
        else:
            rows.append((key, _UPDATED, before, after))
    rows += [(key, _REMOVED, current[key], None) for key in current.keys() - desired.keys()]
    return rows


def _membership_changes(current: SchoolRoster, desired: SchoolRoster) -> dict[str, list[Change]]:
    """The memberships added and removed, per entity, in key order."""
    removed = current.memberships - desired.memberships
    # Sorted once as the (class id, account id, role) triples themselves: within one role
    # that is key order, and a key is never both added and removed, so op cannot tie.
    changed = sorted(desired.memberships ^ current.memberships)
    out: dict[str, list[Change]] = {}
    for role, entity in MEMBERSHIP_ENTITY.items():
        out[entity] = [
            _new_change(entity, _REMOVED if m in removed else _ADDED, m[:2], None, None)
            for m in changed
            if m[2] == role
        ]
    if sum(map(len, out.values())) != len(changed):
        raise KeyError("a membership whose role is neither student nor teacher")
    return out


def _all_added(desired: SchoolRoster) -> list[Change]:
    """``diff`` from an empty roster (a school's first load): every row of ``desired`` is
    added, so there is nothing to compare, and each entity's keys are sorted as plain
    strings (a first id, then the second ids under it) rather than as tuples of rows. The
    same changes in the same order (tests/unit/test_domain_fast_paths.py)."""
    accounts = desired.accounts
    ids: dict[str, list[str]] = {}
    for account_id, role in desired.links:
        ids.setdefault(ROLE_ENTITY[role], []).append(account_id)
    memberships: dict[str, list[tuple[str, str]]] = {}
    for class_id, account_id, role in desired.memberships:
        memberships.setdefault(role, []).append((class_id, account_id))
    if not memberships.keys() <= MEMBERSHIP_ENTITY.keys():
        raise KeyError("a membership whose role is neither student nor teacher")
    by_entity: dict[str, list[Change]] = {}
    for entity, entity_ids in ids.items():
        entity_ids.sort()
        by_entity[entity] = [
            _new_change(entity, _ADDED, (a,), None, accounts[a]) for a in entity_ids
        ]
    classes = desired.classes
    by_entity["classes"] = [
        _new_change("classes", _ADDED, (c,), None, classes[c]) for c in sorted(classes)
    ]
    for role, entity in MEMBERSHIP_ENTITY.items():
        pairs = _sorted_pairs(memberships.get(role, ()))
        by_entity[entity] = [_new_change(entity, _ADDED, key, None, None) for key in pairs]
    links = desired.contact_links
    by_entity["contact_links"] = [
        _new_change("contact_links", _ADDED, key, None, links[key]) for key in _sorted_pairs(links)
    ]
    changes: list[Change] = []
    for entity in ENTITIES:
        changes += by_entity.get(entity, ())
    return changes


def added_counts(
    desired: SchoolRoster | FreshRoster, counts: Mapping[str, int] | None = None
) -> dict[str, dict[str, int]]:
    """``diff(empty, desired).counts()`` without making the changes: from an empty roster,
    each link, class, membership and contact link of ``desired`` is one change, added.
    ``counts``: ``desired.counts()``, when the caller has it already."""
    counts = desired.counts() if counts is None else counts
    if sum(counts.values()) != desired.size():
        raise KeyError("a link or membership of a role the change set has no entity for")
    return {e: {_ADDED.value: counts[e], _UPDATED.value: 0, _REMOVED.value: 0} for e in ENTITIES}


def _sorted_pairs(pairs: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """``sorted(pairs)`` for distinct pairs, by sorting strings only: the first ids, then
    the second ids under each (Python sorts a list of strings several times faster than a
    list of tuples, which compares element by element through the generic path)."""
    under: dict[str, list[str]] = {}
    for first, second in pairs:
        under.setdefault(first, []).append(second)
    out: list[tuple[str, str]] = []
    for first in sorted(under):
        seconds = under[first]
        seconds.sort()
        out += [(first, second) for second in seconds]
    return out


def _change_factory() -> Callable[[str, Op, tuple[str, ...], Value, Value], Change]:
    """``Change``'s constructor without ``__init__``, for the diff's hot loops.

    A frozen dataclass's ``__init__`` sets each field through ``object.__setattr__`` by
    name; a first load makes hundreds of thousands of changes, and setting the slots
    directly costs about 40 % less. The object is the same (tests/unit pin it equal to
    ``Change(...)``); the unpacking below fails at import if a field is added.
    """
    new = object.__new__
    slot = Change.__dict__
    set_entity, set_op, set_key, set_before, set_after = (
        slot[f.name].__set__ for f in fields(Change)
    )

    def make(entity: str, op: Op, key: tuple[str, ...], before: Value, after: Value) -> Change:
        change: Change = new(Change)
        set_entity(change, entity)
        set_op(change, op)
        set_key(change, key)
        set_before(change, before)
        set_after(change, after)
        return change

    return make


_new_change = _change_factory()


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
