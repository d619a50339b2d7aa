"""``build_school_roster`` gives exactly what the general placement gives for its school,
and ``build_fresh_roster`` (a first load's build) exactly what ``build_school_roster`` gives.

It places users and contacts for its one school without the general ``place_user`` and
``place_contact`` (which serve any number of rosters). This test holds it to the plain build
over those two, on random users: the same accounts, links, classes, memberships and contact
links, in the same insertion order, and the same row problems in the same order.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from rostersync.domain.policy import Policy, configuration_findings
from rostersync.domain.records import (
    ContactInfo,
    PersonName,
    RowProblem,
    SectionRecord,
    StaffInfo,
    StudentInfo,
    StudentRelationship,
    TeacherInfo,
    TermRecord,
    UserRecord,
)
from rostersync.domain.roster import (
    FreshRoster,
    SchoolRoster,
    _place_section,
    _student_schools,
    build_fresh_roster,
    build_school_roster,
    place_contact,
    place_user,
    unknown_student,
)

SCHOOL = "s1"
IDS = [f"u{n:02d}" for n in range(12)]
SCHOOLS = st.lists(st.sampled_from([SCHOOL, "s2", ""]), max_size=2).map(tuple)
PRIMARY = st.sampled_from(["", SCHOOL, "s2"])
TERMS = {"t1": TermRecord("t1", "Fall")}


def plain_build(
    school_id: str, users: list[UserRecord], sections: list[SectionRecord], unknown: list[Any]
) -> tuple[SchoolRoster, list[RowProblem]]:
    """``build_school_roster`` as it was, over the general placement."""
    rosters = {school_id: SchoolRoster(school_id=school_id)}
    problems: list[RowProblem] = []
    students = {u.source_id: _student_schools(u) for u in users if u.student is not None}
    for user in users:
        place_user(user, rosters, problems)
    local: list[RowProblem] = []
    for user in users:
        if user.contact is not None:
            place_contact(user, students, rosters, local)
    problems.extend(unknown)
    for section in sections:
        _place_section(section, rosters, TERMS, {}, problems)
    return rosters[school_id], problems


@st.composite
def user(draw: st.DrawFn, user_id: str) -> UserRecord:
    roles = draw(st.sets(st.sampled_from(["student", "teacher", "staff", "contact"])))
    relationships = tuple(
        StudentRelationship(s, "Parent", draw(st.sampled_from(["", "Primary"])))
        for s in draw(st.lists(st.sampled_from([*IDS, "ghost"]), max_size=4))
    )
    return UserRecord(
        source_id=user_id,
        name=PersonName(first=draw(st.sampled_from(["", "Ann"]))),
        email=draw(st.sampled_from(["", f"{user_id}@x.org"])),
        student=StudentInfo(schools=draw(SCHOOLS), school=draw(PRIMARY))
        if "student" in roles
        else None,
        teacher=TeacherInfo(schools=draw(SCHOOLS), school=draw(PRIMARY))
        if "teacher" in roles
        else None,
        staff=StaffInfo(schools=draw(SCHOOLS)) if "staff" in roles else None,
        contact=ContactInfo(relationships=relationships) if "contact" in roles else None,
    )


@st.composite
def district(draw: st.DrawFn) -> tuple[list[UserRecord], list[SectionRecord]]:
    # Ids may repeat: the build must then agree with the plain one too.
    users = [draw(user(i)) for i in draw(st.lists(st.sampled_from(IDS), max_size=12))]
    sections = [
        SectionRecord(
            source_id=f"c{n}",
            school_id=draw(st.sampled_from([SCHOOL, "s2"])),
            name=f"Class {n}",
            term_id="t1",
            teacher_id=draw(st.sampled_from(["", *IDS])),
            teacher_ids=tuple(draw(st.lists(st.sampled_from(IDS), max_size=2, unique=True))),
            student_ids=tuple(draw(st.lists(st.sampled_from(IDS), max_size=5, unique=True))),
        )
        for n in range(draw(st.integers(0, 4)))
    ]
    return users, sections


def as_data(roster: SchoolRoster) -> tuple[Any, ...]:
    """Everything a roster holds, its insertion (and set iteration) order included."""
    return (
        roster.school_id,
        list(roster.accounts.items()),
        list(roster.links),
        list(roster.classes.items()),
        list(roster.memberships),
        list(roster.contact_links.items()),
    )


@settings(max_examples=400, deadline=None)
@given(district(), st.booleans())
def test_a_school_roster_is_the_plain_build_of_its_school(
    data: tuple[list[UserRecord], list[SectionRecord]], with_unknown: bool
) -> None:
    users, sections = data
    unknown = [unknown_student("u01", "ghost")] if with_unknown else []

    roster, problems = build_school_roster(SCHOOL, users, sections, TERMS, {}, unknown)
    plain, plain_problems = plain_build(SCHOOL, users, sections, unknown)

    assert as_data(roster) == as_data(plain)
    assert problems == plain_problems


@st.composite
def rough_sections(draw: st.DrawFn) -> list[SectionRecord]:
    """Sections as any source may send them: ids listed twice, members listed twice,
    sections of another school, in any order."""
    return [
        SectionRecord(
            source_id=draw(st.sampled_from(["c0", "c1", "c2", "c3"])),
            school_id=draw(st.sampled_from([SCHOOL, SCHOOL, "s2"])),
            name=draw(st.sampled_from(["A", "B"])),
            term_id=draw(st.sampled_from(["t1", ""])),
            teacher_id=draw(st.sampled_from(["", *IDS])),
            teacher_ids=tuple(draw(st.lists(st.sampled_from(IDS), max_size=2))),
            student_ids=tuple(draw(st.lists(st.sampled_from(IDS), max_size=5))),
        )
        for _ in range(draw(st.integers(0, 5)))
    ]


@settings(max_examples=500, deadline=None)
@given(district(), st.one_of(st.none(), rough_sections()), st.booleans(), st.booleans())
def test_a_fresh_roster_is_the_school_roster_in_write_order(
    data: tuple[list[UserRecord], list[SectionRecord]],
    rough: list[SectionRecord] | None,
    with_unknown: bool,
    unique_users: bool,
) -> None:
    """``build_fresh_roster`` (a first load's build) holds the rows ``build_school_roster``
    builds from the same records, with the same row problems in the same order, counts and
    findings; its links are each role's sorted ids, its classes in id order and its
    memberships unique and grouped by class in class order."""
    users, sections = data
    if unique_users:  # as the staging file gives them (the fast path)
        users = list({u.source_id: u for u in users}.values())
    if rough is not None:
        sections = rough
    unknown = [unknown_student("u01", "ghost")] if with_unknown else []

    fresh, problems = build_fresh_roster(SCHOOL, users, sections, TERMS, {}, unknown)
    roster, expected = build_school_roster(SCHOOL, users, sections, TERMS, {}, unknown)

    assert problems == expected
    assert fresh.roster() == roster
    assert fresh.counts() == roster.counts()
    assert fresh.size() == roster.size()
    assert fresh.is_empty() == roster.is_empty()
    policy = Policy(max_contacts=1, blocked_contact_types=frozenset({"Primary"}))
    assert configuration_findings(fresh, policy) == configuration_findings(roster, policy)
    # In write order.
    order = [role for role in ("student", "teacher", "staff", "contact")]
    assert list(fresh.links_by_role) == [r for r in order if r in fresh.links_by_role]
    for ids in fresh.links_by_role.values():
        assert ids == sorted(set(ids))
    assert list(fresh.classes) == sorted(fresh.classes)
    assert list(fresh.classes.items()) == sorted(roster.classes.items())
    assert len(fresh.memberships) == len(set(fresh.memberships))
    classes = [class_id for class_id, _, _ in fresh.memberships]
    assert classes == sorted(classes)
    assert list(fresh.contact_links.items()) == list(roster.contact_links.items())
    # The general path's fresh form is the same roster in the same order.
    general = FreshRoster.of(roster)
    assert general.links_by_role == fresh.links_by_role
    assert list(general.classes) == list(fresh.classes)
    assert sorted(general.memberships) == sorted(fresh.memberships)
    assert general.accounts == fresh.accounts
