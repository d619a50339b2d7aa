"""A change set regrouped for bulk writing: one group per table and operation.

``domain.changes.apply_changes`` applies changes one by one, so when a key appears twice the
last change wins. To write in bulk (one statement per group) and still end in the same state,
each key's *final* operation is resolved first; then every key lands in exactly one group.
That also keeps keys unique within a statement, which PostgreSQL requires of
``INSERT ... ON CONFLICT DO UPDATE``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypeVar

from rostersync.domain.changes import MEMBERSHIP_ENTITY, ROLE_ENTITY, Change, ChangeSet, Op
from rostersync.domain.roster import Account, ClassInfo, LinkInfo

_ROLE_OF: dict[str, str] = {entity: role for role, entity in ROLE_ENTITY.items()}
_MEMBER_ROLE: dict[str, str] = {entity: role for role, entity in MEMBERSHIP_ENTITY.items()}

T = TypeVar("T")


@dataclass(slots=True)
class RosterPlan:
    """What to write, by group. Keys are source ids, as in the change set."""

    # Accounts gaining a link here: inserted, or updated and restored if deactivated.
    accounts_linked: dict[str, Account] = field(default_factory=dict)
    # Accounts whose values changed but that gain no link here: updated only.
    accounts_updated: dict[str, Account] = field(default_factory=dict)
    links_added: list[tuple[str, str]] = field(default_factory=list)
    links_removed: list[tuple[str, str]] = field(default_factory=list)
    classes_put: dict[str, ClassInfo] = field(default_factory=dict)
    classes_archived: list[str] = field(default_factory=list)
    memberships_added: list[tuple[str, str, str]] = field(default_factory=list)
    memberships_removed: list[tuple[str, str, str]] = field(default_factory=list)
    contact_links_put: dict[tuple[str, str], LinkInfo] = field(default_factory=dict)
    contact_links_removed: list[tuple[str, str]] = field(default_factory=list)

    def unlinked_accounts(self) -> list[str]:
        """Accounts that lost a link here: deactivated if no link is left anywhere."""
        return sorted({account_id for account_id, _ in self.links_removed})


def plan_changes(change_set: ChangeSet) -> RosterPlan:
    """Resolve each key's final operation and sort the keys into write groups."""
    links: dict[tuple[str, str], bool] = {}
    values: dict[str, Account] = {}
    classes: dict[str, ClassInfo | None] = {}
    members: dict[tuple[str, str, str], bool] = {}
    contacts: dict[tuple[str, str], LinkInfo | None] = {}
    for change in change_set.changes:
        if change.entity in _ROLE_OF:
            _link_change(change, _ROLE_OF[change.entity], links, values)
        elif change.entity in _MEMBER_ROLE:
            item = (change.key[0], change.key[1], _MEMBER_ROLE[change.entity])
            members[item] = change.op is not Op.REMOVED
        elif change.entity == "classes":
            classes[change.key[0]] = _put_value(change, ClassInfo)
        elif change.entity == "contact_links":
            contacts[(change.key[0], change.key[1])] = _put_value(change, LinkInfo)
        else:
            raise ValueError(
                f"The change set names an unknown entity {change.entity!r}; the store "
                "cannot apply it. Build change sets with rostersync.domain.changes.diff."
            )
    plan = RosterPlan()
    _split_links(plan, links, values)
    for class_id, info in classes.items():
        if info is None:
            plan.classes_archived.append(class_id)
        else:
            plan.classes_put[class_id] = info
    for item, present in members.items():
        (plan.memberships_added if present else plan.memberships_removed).append(item)
    for pair, link in contacts.items():
        if link is None:
            plan.contact_links_removed.append(pair)
        else:
            plan.contact_links_put[pair] = link
    return plan


def _link_change(
    change: Change,
    role: str,
    links: dict[tuple[str, str], bool],
    values: dict[str, Account],
) -> None:
    account_id = change.key[0]
    if change.op is Op.REMOVED:
        links[(account_id, role)] = False
        return
    if change.op is Op.ADDED:
        links[(account_id, role)] = True
    if not isinstance(change.after, Account):
        raise ValueError(
            f"The {change.op.value} change of {change.entity} {account_id} carries no "
            "account values; the store cannot write it. Rebuild the change set with diff."
        )
    values[account_id] = change.after


def _split_links(
    plan: RosterPlan, links: dict[tuple[str, str], bool], values: dict[str, Account]
) -> None:
    for (account_id, role), present in links.items():
        (plan.links_added if present else plan.links_removed).append((account_id, role))
    gaining = {account_id for account_id, _ in plan.links_added}
    for account_id, account in values.items():
        target = plan.accounts_linked if account_id in gaining else plan.accounts_updated
        target[account_id] = account


def _put_value(change: Change, kind: type[T]) -> T | None:
    """The value a class or contact-link change leaves (``None``: removed)."""
    if change.op is Op.REMOVED:
        return None
    if not isinstance(change.after, kind):
        raise ValueError(
            f"The {change.op.value} change of {change.entity} {change.key} carries no "
            f"{kind.__name__}; the store cannot write it. Rebuild the change set with diff."
        )
    return change.after
