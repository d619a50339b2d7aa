"""Properties of the pure core, for random rosters (hypothesis).

- applying diff(A, B) to A gives B, for every entity kind, per school, with moves between
  schools and restores included;
- the removal policy is monotone: removing more never lifts a hold;
- the diff is deterministic and keyed: no two changes share (entity, key, op).
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from rostersync.domain.changes import apply_changes, diff
from rostersync.domain.policy import Policy, removal_findings
from rostersync.domain.records import (
    ContactInfo,
    PersonName,
    SchoolRecord,
    SectionRecord,
    StaffInfo,
    StudentInfo,
    StudentRelationship,
    TeacherInfo,
    UserRecord,
)
from rostersync.domain.roster import build_rosters

SCHOOLS = ("s1", "s2")
NAMES = st.sampled_from(["Ana", "Bo", "Zoë", "Nguyễn", "<b>x</b>", ""])
TYPES = st.sampled_from(["Parent/Guardian", "Primary", "Emergency", "Family", ""])


@st.composite
def districts(draw: st.DrawFn) -> tuple[list[SchoolRecord], list[UserRecord], list[SectionRecord]]:
    """A small random district over a fixed id space, so two draws overlap."""
    students = draw(st.sets(st.integers(0, 14), max_size=15))
    users: list[UserRecord] = []
    student_school = {}
    for i in sorted(students):
        schools = tuple(sorted(draw(st.sets(st.sampled_from(SCHOOLS), min_size=1))))
        student_school[f"st{i:02}"] = schools
        users.append(
            UserRecord(
                f"st{i:02}",
                PersonName(first=draw(NAMES)),
                student=StudentInfo(school=schools[0], schools=schools, grade=draw(NAMES)),
            )
        )
    for i in sorted(draw(st.sets(st.integers(0, 4), max_size=5))):
        school = draw(st.sampled_from(SCHOOLS))
        staff = draw(st.booleans())
        users.append(
            UserRecord(
                f"te{i:02}",
                PersonName(last=draw(NAMES)),
                email="t@x",
                teacher=TeacherInfo(school=school, schools=(school,)),
                staff=StaffInfo(schools=(school,)) if staff else None,
            )
        )
    student_ids = sorted(student_school)
    for i in sorted(draw(st.sets(st.integers(0, 6), max_size=7))):
        linked = draw(st.lists(st.sampled_from(student_ids), max_size=3)) if student_ids else []
        rels = tuple(StudentRelationship(s, "Parent", draw(TYPES)) for s in sorted(set(linked)))
        users.append(
            UserRecord(
                f"co{i:02}", PersonName(last=draw(NAMES)), contact=ContactInfo(relationships=rels)
            )
        )
    sections = []
    for i in sorted(draw(st.sets(st.integers(0, 5), max_size=6))):
        school = draw(st.sampled_from(SCHOOLS))
        members = [s for s, schools in student_school.items() if school in schools]
        enrolled = draw(st.lists(st.sampled_from(members), max_size=5)) if members else []
        sections.append(
            SectionRecord(
                f"se{i:02}", school, draw(NAMES), student_ids=tuple(sorted(set(enrolled)))
            )
        )
    return [SchoolRecord(s, s.upper()) for s in SCHOOLS], users, sections


@settings(max_examples=200, deadline=None)
@given(districts(), districts())
def test_applying_the_diff_of_a_and_b_to_a_gives_b(a, b) -> None:
    roster_a = build_rosters(*a).rosters
    roster_b = build_rosters(*b).rosters
    for school in SCHOOLS:
        change_set = diff(roster_a[school], roster_b[school])
        after = apply_changes(roster_a[school], change_set)
        assert after == roster_b[school]
        assert diff(after, roster_b[school]).is_empty()
        keys = [(c.entity, c.key, c.op) for c in change_set.changes]
        assert len(keys) == len(set(keys))


@settings(max_examples=200, deadline=None)
@given(districts(), st.data())
def test_removing_more_never_lifts_a_removal_hold(a, data) -> None:
    schools, users, sections = a
    fewer = data.draw(st.lists(st.sampled_from(users), unique=True)) if users else []
    kept = [u for u in users if u not in fewer]
    even_fewer = [u for u in kept if data.draw(st.booleans())]
    policy = Policy(removal_pct=10, removal_min=1, removal_total=5)
    base = build_rosters(schools, users, sections).rosters
    for school in SCHOOLS:
        current = base[school]
        one = build_rosters(schools, kept, sections).rosters[school]
        two = build_rosters(schools, even_fewer, sections).rosters[school]
        first = {f.subject for f in removal_findings(current.counts(), diff(current, one), policy)}
        second = {f.subject for f in removal_findings(current.counts(), diff(current, two), policy)}
        assert first <= second
