"""Part of a school's roster: the rows a resync's changes can reach, and how to judge them.

On a resync most of a school is what it was. When the school's stored roster is known to
be exactly the one built from the previous fetch (``service.partial`` says when), every row
that can differ names an account of the *scope* (a user that changed, was added or went,
placed in the school before or now, and the contacts of such students) or is a class of it
(a section that changed, came or went). So the diff of the rows in scope, loaded from the
store and built from the fetch, is the diff of the whole school; the rest need not be built,
loaded or compared. What stays whole is cheap: the school's sections (their row problems)
and its members' roles (from the staging file, as bits).

The policies then count from the store: the removal policy needs the school's counts, and
the data-configuration policy only the students whose contact links are in scope (a
verified roster had no finding, and a student out of scope keeps every link it had).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from rostersync.domain.changes import ENTITIES, ChangeSet
from rostersync.domain.policy import Finding, Policy, contact_findings
from rostersync.domain.records import (
    CourseRecord,
    RowProblem,
    SectionRecord,
    TermRecord,
    UserRecord,
)
from rostersync.domain.roster import (
    STUDENT_BIT,
    TEACHER_BIT,
    Account,
    SchoolRoster,
    class_info,
    dangling,
    missing_email_alerts,
    place_contact,
    place_user,
    section_members,
)

_BIT_OF_ROLE = {"student": STUDENT_BIT, "teacher": TEACHER_BIT}


@dataclass(frozen=True, slots=True)
class Scope:
    """The accounts and classes (source ids) whose rows a resync may change in a school."""

    accounts: frozenset[str]
    classes: frozenset[str]


def restrict(roster: SchoolRoster, scope: Scope) -> SchoolRoster:
    """The rows of ``roster`` in ``scope``: accounts and their links, classes, memberships
    of a class or an account in scope, contact links of a contact in scope."""
    accounts, classes = scope.accounts, scope.classes
    return SchoolRoster(
        school_id=roster.school_id,
        accounts={k: v for k, v in roster.accounts.items() if k in accounts},
        links={link for link in roster.links if link[0] in accounts},
        classes={k: v for k, v in roster.classes.items() if k in classes},
        memberships={m for m in roster.memberships if m[0] in classes or m[1] in accounts},
        contact_links={k: v for k, v in roster.contact_links.items() if k[0] in accounts},
    )


def build_school_part(
    school_id: str,
    users: Iterable[UserRecord],
    roles: Mapping[str, int],
    sections: Iterable[SectionRecord],
    terms: Mapping[str, TermRecord],
    courses: Mapping[str, CourseRecord],
    unknown: Iterable[RowProblem],
    scope: Scope,
) -> tuple[SchoolRoster, list[RowProblem]]:
    """``restrict(build_school_roster(...), scope)`` and the same row problems, from less:

    - ``users``: the school's users (as ``build_school_roster`` takes them, in the same
      order) that are in scope or have a row problem of their own (a teacher without an
      email); the others may be left out;
    - ``roles``: every user placed in the school directly, with its role bits there
      (``roster.placement``);
    - ``sections``: all of the school's sections (their memberships are checked whole)."""
    roster = SchoolRoster(school_id=school_id)
    rosters = {school_id: roster}
    problems: list[RowProblem] = []
    accounts = scope.accounts
    contacts = []
    for user in users:
        if user.source_id in accounts:
            place_user(user, rosters, problems)
            if user.contact is not None:
                contacts.append(user)
        elif user.teacher is not None and not user.email:
            problems += missing_email_alerts(user)
    students = {s: (school_id,) for s, bits in roles.items() if bits & STUDENT_BIT}
    local: list[RowProblem] = []
    for user in contacts:
        place_contact(user, students, rosters, local)  # links to other schools' students
    problems.extend(unknown)
    # Who may be listed in each role: every member of every section is checked, so the
    # usual case (none dangling) is one set comparison per role, in C.
    having = {
        STUDENT_BIT: set(students),
        TEACHER_BIT: {a for a, bits in roles.items() if bits & TEACHER_BIT},
    }
    for section in sections:
        _place_section_part(section, roster, roles, having, terms, courses, scope, problems)
    return roster, problems


def _place_section_part(
    section: SectionRecord,
    roster: SchoolRoster,
    roles: Mapping[str, int],
    having: Mapping[int, set[str]],
    terms: Mapping[str, TermRecord],
    courses: Mapping[str, CourseRecord],
    scope: Scope,
    problems: list[RowProblem],
) -> None:
    """``having``: per role bit, the ids placed in the school with it (from ``roles``)."""
    if section.school_id != roster.school_id:
        return
    section_id = section.source_id
    whole = section_id in scope.classes
    if whole:
        roster.classes[section_id] = class_info(section, terms, courses)
    accounts, memberships = scope.accounts, roster.memberships
    for role, ids in section_members(section):
        bit = _BIT_OF_ROLE[role]
        if having[bit].issuperset(ids):  # nobody dangling (the usual case)
            kept = ids if whole else accounts.intersection(ids)
            memberships.update([(section_id, account_id, role) for account_id in kept])
            continue
        for account_id in ids:
            if not roles.get(account_id, 0) & bit:
                problems.append(dangling(section, role, account_id))
            elif whole or account_id in accounts:
                memberships.add((section_id, account_id, role))


def counts_after(counts: Mapping[str, int], change_set: ChangeSet) -> dict[str, int]:
    """A school's counts once ``change_set`` is applied to a roster with ``counts``."""
    changes = change_set.counts()
    return {
        entity: counts.get(entity, 0) + changes[entity]["added"] - changes[entity]["removed"]
        for entity in ENTITIES
    }


def part_configuration_findings(
    current: SchoolRoster,
    desired: SchoolRoster,
    scope: Scope,
    stored: Callable[[set[str]], Mapping[str, int]],
    names: Callable[[set[str]], Mapping[str, Account]],
    policy: Policy,
) -> list[Finding]:
    """``configuration_findings`` of the whole desired roster, for a school whose stored
    roster had none under the same policy (so only a student gaining contact links can go
    over the limit, and only a link in scope can be of a blocked type). ``stored(ids)``:
    how many contact links each of those students has in the store; ``names(ids)``: the
    stored accounts of those ids (out of scope) that the findings name."""
    before = Counter(s for _, s in current.contact_links)
    after = Counter(s for _, s in desired.contact_links)
    gaining = {s for s, n in after.items() if n > before[s]}
    counts = stored(gaining) if gaining else {}
    per_student = {s: counts.get(s, 0) - before[s] + after[s] for s in gaining}
    limit, blocked = policy.max_contacts, policy.blocked_contact_types
    named = {s for s, n in per_student.items() if n > limit}
    named.update(
        i for key, link in desired.contact_links.items() if link.type in blocked for i in key
    )
    outside = named - scope.accounts
    found = names(outside) if outside else {}

    def account(account_id: str) -> Account | None:
        if account_id in scope.accounts:
            return desired.accounts.get(account_id)
        return found.get(account_id)

    return contact_findings(per_student, desired.contact_links, account, policy)
