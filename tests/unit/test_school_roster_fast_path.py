"""``build_school_roster`` gives exactly what the general placement gives for its school.

It places users and contacts for its one school without the general ``place_user`` and
``place_contact`` (which serve any number of rosters). This test holds it to the plain build
over those two, on random users: the same accounts, links, classes, memberships and contact
links, in the same insertion order, and the same row problems in the same order.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

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
    SchoolRoster,
    _place_section,
    _student_schools,
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
