"""A change set regrouped for bulk writing: one group per table and operation.

``domain.changes.apply_changes`` applies changes one by one, so when a key appears twice the
last change wins. To write in bulk (one statement per group) and still end in the same state,
each key's *final* operation is resolved first; then every key lands in exactly one group.
That also keeps keys unique within a statement, which PostgreSQL requires of
``INSERT ... ON CONFLICT DO UPDATE``.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from itertools import chain, groupby
from operator import attrgetter, itemgetter
from typing import TypeVar

from rostersync.domain.changes import (
    MEMBERSHIP_ENTITY,
    ROLE_ENTITY,
    Change,
    ChangeSet,
    Op,
)
from rostersync.domain.roster import Account, ClassInfo, FreshRoster, LinkInfo, SchoolRoster

_ROLE_OF: dict[str, str] = {entity: role for role, entity in ROLE_ENTITY.items()}
_third = itemgetter(2)
_MEMBER_ROLE: dict[str, str] = {entity: role for role, entity in MEMBERSHIP_ENTITY.items()}
# The roles in the order of their entities in a change set.
_ROLES: tuple[str, ...] = tuple(ROLE_ENTITY)

_ADDED, _REMOVED = Op.ADDED, Op.REMOVED
_entity = attrgetter("entity")

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


@dataclass(slots=True)
class RosterPlan:
    """What to write, by group. Keys are source ids, as in the change set."""

    # Accounts gaining a link here: inserted, or updated and restored if deactivated.
    accounts_linked: dict[str, Account] = field(default_factory=dict)
    # Accounts whose values changed but that gain no link here: updated only.
    accounts_updated: dict[str, Account] = field(default_factory=dict)
    # The links gained, by role: each role's account ids (the SQLite INSERT of links takes
    # one role's ids at a time, and the planners have them grouped already).
    links_by_role: dict[str, list[str]] = field(default_factory=dict)
    links_removed: list[tuple[str, str]] = field(default_factory=list)
    classes_put: dict[str, ClassInfo] = field(default_factory=dict)
    classes_archived: list[str] = field(default_factory=list)
    memberships_added: list[tuple[str, str, str]] = field(default_factory=list)
    memberships_removed: list[tuple[str, str, str]] = field(default_factory=list)
    contact_links_put: dict[tuple[str, str], LinkInfo] = field(default_factory=dict)
    contact_links_removed: list[tuple[str, str]] = field(default_factory=list)

    @property
    def links_added(self) -> list[tuple[str, str]]:
        """The links gained, as (account id, role) pairs, role by role."""
        return [
            (account_id, role) for role, ids in self.links_by_role.items() for account_id in ids
        ]

    def unlinked_accounts(self) -> list[str]:
        """Accounts that lost a link here: deactivated if no link is left anywhere."""
        return sorted({account_id for account_id, _ in self.links_removed})


def school_inserts(plan: RosterPlan) -> int:
    """How many rows the plan inserts into the tables keyed by school (links, classes,
    memberships, contact links)."""
    links = sum(map(len, plan.links_by_role.values()))
    return links + len(plan.classes_put) + len(plan.memberships_added) + len(plan.contact_links_put)


def plan_changes(change_set: ChangeSet) -> RosterPlan:
    """Resolve each key's final operation and sort the keys into write groups."""
    links: dict[tuple[str, str], bool] = {}
    values: dict[str, Account] = {}
    classes: dict[str, ClassInfo | None] = {}
    members: dict[tuple[str, str, str], bool] = {}
    contacts: dict[tuple[str, str], LinkInfo | None] = {}
    # A first load brings hundreds of thousands of changes, so each run of one entity is
    # handled by one tight loop instead of dispatching on the entity change by change.
    for entity, run in groupby(change_set.changes, _entity):
        if entity in _ROLE_OF:
            _link_changes(run, _ROLE_OF[entity], links, values)
        elif entity in _MEMBER_ROLE:
            role = _MEMBER_ROLE[entity]
            for change in run:
                key = change.key
                members[(key[0], key[1], role)] = change.op is not _REMOVED
        elif entity == "classes":
            for change in run:
                classes[change.key[0]] = _put_value(change, ClassInfo)
        elif entity == "contact_links":
            for change in run:
                key = change.key
                contacts[(key[0], key[1])] = _put_value(change, LinkInfo)
        else:
            raise ValueError(
                f"The change set names an unknown entity {entity!r}; the store "
                "cannot apply it. Build change sets with rostersync.domain.changes.diff."
            )
    plan = RosterPlan()
    _split_links(plan, links, values)
    _split_values(classes, plan.classes_put, plan.classes_archived)
    for item, present in members.items():
        (plan.memberships_added if present else plan.memberships_removed).append(item)
    _split_values(contacts, plan.contact_links_put, plan.contact_links_removed)
    return plan


def plan_roster(roster: SchoolRoster) -> RosterPlan:
    """``plan_changes(diff(empty, roster))`` without the change set (a school's first load):
    every row of ``roster`` added, in the same groups, the accounts and links in the same
    order (by role, then id) and the classes too (by id), so the store ends in the same
    state, account ids included (tests/storage pin it). It is ``plan_fresh`` of the
    roster's fresh form (``FreshRoster.of``)."""
    return plan_fresh(FreshRoster.of(roster))


def plan_fresh(fresh: FreshRoster) -> RosterPlan:
    """``plan_roster`` of the same roster, from its fresh form (a school's first load, see
    ``domain.roster.build_fresh_roster``): the groups are the roster's own, already in the
    order ``plan_roster`` writes them (tests/storage pin the two to the same store).

    The memberships go class by class. The table is kept in key order (the class first,
    after the school) whatever the order of the INSERTs, but inserted in a set's random
    order each row went to its own place in the school's range, the B-tree's pages found
    and split at random; class by class, the rows of each land together (R1M: the
    memberships' INSERTs 6.8 -> 4.8 s CPU). The contact links come each contact's links
    together, the contacts by id (as built): about in key order already."""
    by_role = fresh.links_by_role
    for role, ids in by_role.items():
        if role not in _ROLES:
            raise KeyError(f"a link of account {ids[0]} with the unknown role {role!r}")
    if not MEMBERSHIP_ENTITY.keys() >= set(map(_third, fresh.memberships)):  # in C
        raise KeyError("a membership whose role is neither student nor teacher")
    # Each account once, where its first role puts it (in C: 3.26 M accounts at R1M).
    linked = list(dict.fromkeys(chain.from_iterable(by_role.values())))
    accounts = dict(zip(linked, map(fresh.accounts.__getitem__, linked), strict=True))
    return RosterPlan(
        accounts_linked=accounts,
        links_by_role=dict(by_role),
        classes_put=fresh.classes,
        memberships_added=fresh.memberships,
        contact_links_put=fresh.contact_links,
    )


def _link_changes(
    run: Iterable[Change],
    role: str,
    links: dict[tuple[str, str], bool],
    values: dict[str, Account],
) -> None:
    for change in run:
        account_id = change.key[0]
        op = change.op
        if op is _REMOVED:
            links[(account_id, role)] = False
            continue
        if op is _ADDED:
            links[(account_id, role)] = True
        after = change.after
        if not isinstance(after, Account):
            raise ValueError(
                f"The {op.value} change of {change.entity} {account_id} carries no "
                "account values; the store cannot write it. Rebuild the change set with diff."
            )
        values[account_id] = after


def _split_links(
    plan: RosterPlan, links: dict[tuple[str, str], bool], values: dict[str, Account]
) -> None:
    removed, by_role = plan.links_removed, plan.links_by_role
    gaining: set[str] = set()
    for link, present in links.items():
        if present:
            account_id, role = link
            by_role.setdefault(role, []).append(account_id)
            gaining.add(account_id)
        else:
            removed.append(link)
    for account_id, account in values.items():
        target = plan.accounts_linked if account_id in gaining else plan.accounts_updated
        target[account_id] = account


def _split_values(values: dict[K, V | None], put: dict[K, V], removed: list[K]) -> None:
    for key, value in values.items():
        if value is None:
            removed.append(key)
        else:
            put[key] = value


def _put_value(change: Change, kind: type[T]) -> T | None:
    """The value a class or contact-link change leaves (``None``: removed)."""
    if change.op is _REMOVED:
        return None
    after = change.after
    if not isinstance(after, kind):
        raise ValueError(
            f"The {change.op.value} change of {change.entity} {change.key} carries no "
            f"{kind.__name__}; the store cannot write it. Rebuild the change set with diff."
        )
    return after
