"""The pure core of the per-record evaluation (``domain.partial``): building the rows of a
scope equals building the whole school and keeping those rows, with the same row problems;
a diff restricted to a scope that holds every difference is the whole diff; the policies
judged from the part equal those of the whole roster."""

from __future__ import annotations

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from rostersync.domain.changes import diff
from rostersync.domain.partial import (
    Scope,
    build_school_part,
    counts_after,
    part_configuration_findings,
    restrict,
)
from rostersync.domain.policy import Policy, configuration_findings
from rostersync.domain.records import (
    ContactInfo,
    PersonName,
    SectionRecord,
    StaffInfo,
    StudentInfo,
    StudentRelationship,
    TeacherInfo,
    TermRecord,
    UserRecord,
)
from rostersync.domain.roster import build_school_roster, placement

SCHOOL = "s1"
IDS = [f"u{n:02d}" for n in range(16)]
TYPES = ["", "Parent", "Emergency", "Secondary"]


@st.composite
def user(draw: st.DrawFn, user_id: str) -> UserRecord:
    schools = tuple(draw(st.lists(st.sampled_from([SCHOOL, "s2"]), min_size=1, max_size=2)))
    roles = draw(st.sets(st.sampled_from(["student", "teacher", "staff", "contact"]), max_size=2))
    relationships = tuple(
        StudentRelationship(s, "Parent", draw(st.sampled_from(TYPES)))
        for s in draw(st.lists(st.sampled_from([*IDS, "ghost"]), min_size=1, max_size=7))
    )
    return UserRecord(
        source_id=user_id,
        name=PersonName(first=draw(st.sampled_from(["", "Ann", "Bo"]))),
        email=draw(st.sampled_from(["", f"{user_id}@x.org"])),
        student=StudentInfo(schools=schools) if "student" in roles else None,
        teacher=TeacherInfo(schools=schools) if "teacher" in roles else None,
        staff=StaffInfo(schools=schools) if "staff" in roles else None,
        contact=ContactInfo(relationships=relationships) if "contact" in roles else None,
    )


@st.composite
def school(draw: st.DrawFn) -> tuple[list[UserRecord], list[SectionRecord]]:
    users = [draw(user(i)) for i in sorted(draw(st.sets(st.sampled_from(IDS), max_size=12)))]
    # Members drawn from anyone (often dangling) or from those placed here in the role
    # (none dangling: the usual case of real data).
    roles = roles_of(users)
    students = sorted(u for u, bits in roles.items() if bits & 1) or IDS
    teachers = sorted(u for u, bits in roles.items() if bits & 2) or IDS

    def members(pool: list[str], size: int) -> tuple[str, ...]:
        pool = draw(st.sampled_from([IDS, pool]))
        return tuple(draw(st.lists(st.sampled_from(pool), max_size=size, unique=True)))

    sections = [
        SectionRecord(
            source_id=f"c{n}",
            school_id=SCHOOL,
            name=f"Class {n}",
            term_id=draw(st.sampled_from(["t1", "t2"])),
            teacher_id=draw(st.sampled_from(["", *teachers])),
            teacher_ids=members(teachers, 2),
            student_ids=members(students, 6),
        )
        for n in range(draw(st.integers(0, 4)))
    ]
    return users, sections


def roles_of(users: list[UserRecord]) -> dict[str, int]:
    roles: dict[str, int] = {}
    for u in users:
        for school_id, bits in placement(u)[0]:
            if school_id == SCHOOL:
                roles[u.source_id] = bits
    return roles


def school_users(users: list[UserRecord]) -> list[UserRecord]:
    """The users a school's build takes: placed there, or contacts of its students."""
    students = {u.source_id for u in users if u.source_id in roles_of(users) and u.student}
    return [
        u
        for u in users
        if u.source_id in roles_of(users)
        or (u.contact and {r.student_id for r in u.contact.relationships} & students)
    ]


TERMS = {"t1": TermRecord("t1", "Fall")}


@settings(max_examples=150, deadline=None)
@given(
    school(), st.sets(st.sampled_from(IDS)), st.sets(st.sampled_from([f"c{n}" for n in range(5)]))
)
def test_the_part_is_the_whole_restricted(
    drawn: tuple[list[UserRecord], list[SectionRecord]], accounts: set[str], classes: set[str]
) -> None:
    users, sections = drawn
    here = school_users(users)
    whole, problems = build_school_roster(SCHOOL, here, sections, TERMS, {})
    scope = Scope(frozenset(accounts), frozenset(classes))
    # Only the users in scope, or with problems of their own, are handed over.
    flagged = [u for u in here if u.source_id in accounts or (u.teacher and not u.email)]
    part, part_problems = build_school_part(
        SCHOOL, flagged, roles_of(users), sections, TERMS, {}, (), scope
    )
    assert part == restrict(whole, scope)
    assert part_problems == problems


@settings(max_examples=150, deadline=None)
@given(school(), school(), st.integers(0, 3))
def test_a_diff_in_scope_is_the_whole_diff_and_the_policies_agree(
    before: tuple[list[UserRecord], list[SectionRecord]],
    after: tuple[list[UserRecord], list[SectionRecord]],
    max_contacts: int,
) -> None:
    old, _ = build_school_roster(SCHOOL, school_users(before[0]), before[1], TERMS, {})
    new, _ = build_school_roster(SCHOOL, school_users(after[0]), after[1], TERMS, {})
    whole = diff(old, new)
    # The scope of every difference (and one more id, as the staging file may give more).
    ids = {x for c in whole.changes for x in c.key}
    accounts = frozenset(ids & set(IDS) | {"u00"})
    scope = Scope(accounts, frozenset(x for x in ids if x.startswith("c")))
    part_old, part_new = restrict(old, scope), restrict(new, scope)
    assert diff(part_old, part_new).changes == whole.changes
    assert counts_after(old.counts(), whole) == new.counts()
    policy = Policy(max_contacts=max_contacts)
    if configuration_findings(old, policy):
        return  # a verified roster has no finding: only those are judged in part
    per_student = Counter(s for _, s in old.contact_links)
    found = part_configuration_findings(
        part_old,
        part_new,
        scope,
        lambda ids: {s: per_student[s] for s in ids if per_student[s]},
        lambda ids: {i: old.accounts[i] for i in ids if i in old.accounts},
        policy,
    )
    assert found == configuration_findings(new, policy)
