"""Hold rules: pure functions from a school's roster and change set to findings.

Policies run before anything is written. They return findings (data), and the hold kind
follows from the findings by a fixed precedence: disconnected, data_configuration,
data_removals. Every number is a per-district setting.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from operator import itemgetter

from rostersync.domain.changes import ENTITIES, ChangeSet
from rostersync.domain.roster import Account, FreshRoster, LinkInfo, SchoolRoster


class HoldKind(StrEnum):
    DISCONNECTED = "disconnected"
    DATA_CONFIGURATION = "data_configuration"
    DATA_REMOVALS = "data_removals"


HOLD_PRECEDENCE: tuple[HoldKind, ...] = (
    HoldKind.DISCONNECTED,
    HoldKind.DATA_CONFIGURATION,
    HoldKind.DATA_REMOVALS,
)


@dataclass(frozen=True, slots=True)
class Policy:
    """A district's hold thresholds (PRODUCT.md defaults)."""

    removal_pct: float = 10.0
    removal_min: int = 10
    removal_total: int = 500
    max_contacts: int = 5
    blocked_contact_types: frozenset[str] = field(
        default_factory=lambda: frozenset({"Emergency", "Secondary"})
    )
    failures_before_disconnect: int = 3


@dataclass(frozen=True, slots=True)
class Finding:
    """One reason to hold: which rule, a sentence for people, and the record it names."""

    kind: HoldKind
    rule: str
    message: str
    subject: str = ""


def hold_kind_of(findings: Iterable[Finding]) -> HoldKind | None:
    """The hold kind the findings call for, by precedence; ``None`` when there are none."""
    kinds = {f.kind for f in findings}
    for kind in HOLD_PRECEDENCE:
        if kind in kinds:
            return kind
    return None


def removal_findings(
    current_counts: dict[str, int], change_set: ChangeSet, policy: Policy
) -> list[Finding]:
    """Large removals: one kind over its share and minimum, or too many in total."""
    findings: list[Finding] = []
    removals = change_set.removals()
    for entity in ENTITIES:
        removed, current = removals[entity], current_counts.get(entity, 0)
        if removed >= policy.removal_min and removed * 100 > policy.removal_pct * current:
            share = 100.0 * removed / current if current else 100.0
            findings.append(
                Finding(
                    HoldKind.DATA_REMOVALS,
                    "removal_share",
                    f"This sync would remove {removed} of {current} {entity} ({share:.0f} %), "
                    f"more than the {policy.removal_pct:g} % allowed.",
                    subject=entity,
                )
            )
    total = sum(removals.values())
    if total > policy.removal_total:
        findings.append(
            Finding(
                HoldKind.DATA_REMOVALS,
                "removal_total",
                f"This sync would remove {total} records in all, more than the "
                f"{policy.removal_total} allowed.",
                subject="total",
            )
        )
    return findings


def configuration_findings(roster: SchoolRoster | FreshRoster, policy: Policy) -> list[Finding]:
    """Students with too many contacts, and contacts of a blocked relationship type."""
    per_student = Counter(map(_second, roster.contact_links))  # (contact, student) keys
    return contact_findings(per_student, roster.contact_links, roster.accounts.get, policy)


def contact_findings(
    per_student: Mapping[str, int],
    links: Mapping[tuple[str, str], LinkInfo],
    account: Callable[[str], Account | None],
    policy: Policy,
) -> list[Finding]:
    """The data-configuration findings, from each student's number of contacts, the contact
    links (keyed (contact, student)) and the accounts that name them."""
    findings: list[Finding] = []
    # Filtered before sorting: findings are rare, so only the few that hit are sorted (the
    # keys are unique, so the order is the same as sorting everything first).
    limit = policy.max_contacts
    for student_id, count in sorted(item for item in per_student.items() if item[1] > limit):
        findings.append(
            Finding(
                HoldKind.DATA_CONFIGURATION,
                "too_many_contacts",
                f"Student {_name(account, student_id)} has {count} contacts; "
                f"at most {policy.max_contacts} are allowed.",
                subject=student_id,
            )
        )
    blocked = policy.blocked_contact_types
    for key in sorted(key for key, link in links.items() if link.type in blocked):
        contact_id, student_id = key
        findings.append(
            Finding(
                HoldKind.DATA_CONFIGURATION,
                "blocked_contact_type",
                f"Contact {_name(account, contact_id)} is shared as a {links[key].type} "
                f"contact of student {_name(account, student_id)}.",
                subject=contact_id,
            )
        )
    return findings


_second = itemgetter(1)


def _name(account: Callable[[str], Account | None], account_id: str) -> str:
    found = account(account_id)
    if found is None or not found.display_name:
        return account_id
    return f"{found.display_name} ({account_id})"
