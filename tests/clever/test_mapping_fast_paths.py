"""User and section mapping's fast paths give exactly what the plain mapping gives.

``convert_user`` and ``convert_section`` skip the dataclass ``__init__``, read text as
``value or ""`` (cleaning the rare item with a NUL first) and look for a user's problems only
when a quick check says there may be some. These tests hold them to the plain mapping they
replaced, kept here as the reference, on random items full of odd data: same records, same
row problems (codes, messages, order), same errors for items of the wrong shape.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rostersync.domain.records import (
    RELATIONSHIP_TYPES,
    RELATIONSHIPS,
    ContactInfo,
    DistrictAdminInfo,
    PersonName,
    RowProblem,
    SectionRecord,
    Severity,
    StaffInfo,
    StudentInfo,
    StudentRelationship,
    TeacherInfo,
    UserRecord,
)
from rostersync.sources.clever import mapping, wire
from rostersync.sources.clever.mapping import (
    GRADES,
    PHONE_TYPES,
    SUBJECTS,
    _missing_id,
    _Rows,
    _s,
    convert_section,
    convert_user,
)

# ---- the plain mapping, as it was before the fast paths: the reference ----------------


def plain_ids(values: Iterable[str | None] | None) -> tuple[str, ...]:
    return tuple(sorted({v for v in values or () if v}))


def plain_user_school(roles: wire.Roles) -> str:
    for info in (roles.student, roles.teacher):
        if info is not None and info.school:
            return info.school
    for listed in (roles.student, roles.teacher, roles.staff):
        schools = plain_ids(listed.schools) if listed is not None else ()
        if schools:
            return schools[0]
    return ""


def plain_convert_user(raw: bytes, out: list[RowProblem]) -> UserRecord | None:
    user = msgspec.json.decode(raw, type=wire.UserItem).data or wire.User()
    roles = user.roles or wire.Roles()
    school_id = plain_user_school(roles)
    if not user.id:
        _missing_id("user", out, school_id)
        return None
    rows = _Rows("user", user.id, school_id, out)
    name = user.name or wire.Name()
    student = roles.student
    record = UserRecord(
        source_id=user.id,
        name=PersonName(
            first=rows.name_length("first name", _s(name.first)),
            middle=rows.name_length("middle name", _s(name.middle)),
            last=rows.name_length("last name", _s(name.last)),
        ),
        email=_s(user.email),
        student=None
        if student is None
        else StudentInfo(
            sis_id=_s(student.sis_id),
            student_number=_s(student.student_number),
            state_id=_s(student.state_id),
            grade=rows.enum("grade", _s(student.grade), GRADES),
            school=_s(student.school),
            schools=plain_ids(student.schools),
            graduation_year=_s(student.graduation_year),
        ),
        teacher=plain_teacher(roles.teacher),
        staff=None
        if roles.staff is None
        else StaffInfo(
            staff_id=_s(roles.staff.staff_id),
            title=_s(roles.staff.title),
            department=_s(roles.staff.department),
            schools=plain_ids(roles.staff.schools),
        ),
        contact=plain_contact(roles.contact, rows),
        district_admin=(
            DistrictAdminInfo(title=_s(roles.district_admin.title))
            if roles.district_admin is not None
            else None
        ),
    )
    mapping._user_alerts(record, rows)
    if b"\\u0000" in bytes(raw):
        rows.add(
            Severity.ALERT,
            "nul_character",
            f"The user {record.source_id} has NUL characters in its data; they were removed. "
            "Check the record in the SIS.",
        )
    return record


def plain_teacher(teacher: wire.Teacher | None) -> TeacherInfo | None:
    if teacher is None:
        return None
    return TeacherInfo(
        sis_id=_s(teacher.sis_id),
        teacher_number=_s(teacher.teacher_number),
        state_id=_s(teacher.state_id),
        title=_s(teacher.title),
        school=_s(teacher.school),
        schools=plain_ids(teacher.schools),
    )


def plain_contact(contact: wire.Contact | None, rows: _Rows) -> ContactInfo | None:
    if contact is None:
        return None
    links: set[StudentRelationship] = set()
    for rel in contact.student_relationships or ():
        if not rel.student:
            rows.add(
                Severity.ALERT,
                "relationship_without_student",
                f"The contact {rows.source_id} has a student relationship with no student id; "
                "that relationship was skipped. Fix the contact's relationships in the SIS.",
            )
            continue
        links.add(
            StudentRelationship(
                student_id=rel.student,
                relationship=rows.enum("relationship", _s(rel.relationship), RELATIONSHIPS),
                type=rows.enum("relationship type", _s(rel.type), RELATIONSHIP_TYPES),
            )
        )
    return ContactInfo(
        sis_id=_s(contact.sis_id),
        phone=_s(contact.phone),
        phone_type=rows.enum("phone_type", _s(contact.phone_type), PHONE_TYPES),
        relationships=tuple(sorted(links, key=lambda r: (r.student_id, r.relationship, r.type))),
    )


def plain_convert_section(raw: bytes, out: list[RowProblem]) -> SectionRecord | None:
    section = msgspec.json.decode(raw, type=wire.SectionItem).data or wire.Section()
    school_id = _s(section.school)
    if not section.id:
        _missing_id("section", out, school_id)
        return None
    rows = _Rows("section", section.id, school_id, out)
    if not school_id:
        rows.add(
            Severity.ERROR,
            "missing_school",
            f"The section {section.id} ({_s(section.name)!r}) belongs to no school, so it "
            "cannot be synced. Assign it to a school in the SIS.",
        )
        return None
    teacher_id = _s(section.teacher)
    return SectionRecord(
        source_id=section.id,
        school_id=school_id,
        name=rows.name_length("name", _s(section.name)),
        sis_id=_s(section.sis_id),
        section_number=_s(section.section_number),
        period=_s(section.period),
        grade=rows.enum("grade", _s(section.grade), GRADES),
        subject=rows.enum("subject", _s(section.subject), SUBJECTS),
        course_id=_s(section.course),
        term_id=_s(section.term_id),
        teacher_id=teacher_id,
        teacher_ids=plain_ids([*(section.teachers or ()), teacher_id]),
        student_ids=plain_ids(section.students),
    )


# ---- random items ------------------------------------------------------------------------

# Text with nothing odd, empty, too long (null or left out comes from ``maybe``); with
# ``NUL``, also with a NUL and with a backslash that JSON escapes into the bytes of an escaped
# NUL. Most users have no NUL (which sends the whole item down the careful path), so the NUL
# cases are drawn on their own.
PLAIN = ["Ana", "Bo", "", "x" * 256]
NUL = ["N\x00l", "\x00", "a\\u0000b"]


def maybe(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A field sent (most often), sent as null, or left out (``...``, dropped from the item)."""
    return st.one_of(values, st.none(), st.just(...))


def item(
    fields: dict[str, st.SearchStrategy[Any]], sent: Iterable[str] = ()
) -> st.SearchStrategy[dict[str, Any]]:
    """A JSON object of ``fields``, each ``maybe`` sent but those named in ``sent``."""
    return st.fixed_dictionaries({k: v if k in sent else maybe(v) for k, v in fields.items()}).map(
        lambda d: {k: v for k, v in d.items() if v is not ...}
    )


def users(nul: bool, whole: bool = True) -> st.SearchStrategy[dict[str, Any]]:
    """Users with ``nul`` characters or none; ``whole``: always with an id and roles."""

    def text(*values: str) -> st.SearchStrategy[str]:
        return st.sampled_from([*values, *NUL] if nul else list(values))

    any_text = text(*PLAIN)
    schools = st.lists(text("s1", "s2", "s3", ""), max_size=3)
    relationship = item(
        {
            "student": text("st1", "st2", ""),
            "relationship": text("Parent", "Mom", ""),
            "type": text("Primary", "Guardian", "", "Family"),
        }
    )
    roles = item(
        {
            "student": item(
                {
                    "sis_id": any_text,
                    "grade": text("5", "Kindergarten", "", "14"),
                    "school": text("s1", "s2", ""),
                    "schools": schools,
                }
            ),
            "teacher": item({"title": any_text, "school": text("s1", ""), "schools": schools}),
            "staff": item({"staff_id": any_text, "department": any_text, "schools": schools}),
            "contact": item(
                {
                    "phone": any_text,
                    "phone_type": text("Cell", "Pager", ""),
                    "student_relationships": st.lists(relationship, max_size=4),
                }
            ),
            "district_admin": item({"title": any_text}),
        }
    )
    fields = {
        "id": st.just("u1") if whole else text("u1", ""),
        "email": text("e@x.org", ""),
        "name": item({"first": any_text, "middle": any_text, "last": any_text}),
        "roles": roles,
        "other": text("x"),
    }
    return item(fields, sent=("id", "roles") if whole else ())


def sections(nul: bool) -> st.SearchStrategy[dict[str, Any]]:
    def text(*values: str) -> st.SearchStrategy[str]:
        return st.sampled_from([*values, *NUL] if nul else list(values))

    return item(
        {
            "id": text("x1", ""),
            "school": text("s1", ""),
            "name": text(*PLAIN),
            "sis_id": text(*PLAIN),
            "grade": text("5", "Kindergarten", "", "14"),
            "subject": text("math", "pottery", ""),
            "teacher": text("t1", "t2", ""),
            "teachers": st.lists(text("t1", "t2", "t3", ""), max_size=3),
            "students": st.lists(text("st1", "st2", ""), max_size=4),
        }
    )


# Items of the wrong shape or with no record, which both must treat alike.
WRONG = st.sampled_from(
    [
        b'{"data":null}',
        b'{"data":{"id":5}}',
        b'{"data":[]}',
        b'{"data":{"id":"u1","roles":{"student":{"schools":"s1"}}}}',
        b'{"data":{"id":"u1","teachers":"t1","students":[1]}}',
        b"{",
    ]
)


def encoded(record: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[bytes]:
    items = st.builds(lambda r: {"data": r, "uri": "/v3.0/x"}, record)
    return items.map(msgspec.json.encode)


def outcome(convert: Callable[[Any, list[RowProblem]], object], raw: Any) -> tuple[Any, ...]:
    problems: list[RowProblem] = []
    try:
        record = convert(raw, problems)
    except msgspec.DecodeError as exc:
        return ("refused", type(exc), str(exc))
    return record, repr(record), problems, [repr(p) for p in problems]


# ---- the tests ---------------------------------------------------------------------------


@settings(max_examples=1000, deadline=None)
@given(
    st.one_of(
        encoded(users(nul=False)),
        encoded(users(nul=True)),
        encoded(users(nul=False, whole=False)),
        encoded(users(nul=True, whole=False)),
        WRONG,
    )
)
def test_a_user_maps_as_the_plain_mapping_maps_it(raw: bytes) -> None:
    assert outcome(convert_user, raw) == outcome(plain_convert_user, raw)
    assert outcome(convert_user, msgspec.Raw(raw)) == outcome(plain_convert_user, raw)


@settings(max_examples=300, deadline=None)
@given(encoded(sections(nul=False)) | encoded(sections(nul=True)) | WRONG)
def test_a_section_maps_as_the_plain_mapping_maps_it(raw: bytes) -> None:
    assert outcome(convert_section, raw) == outcome(plain_convert_section, raw)


def clean_user() -> dict[str, Any]:
    """A user with every role and nothing to report."""
    return {
        "id": "u1",
        "email": "e@x.org",
        "name": {"first": "Ana", "middle": "B", "last": "Cruz"},
        "roles": {
            "student": {"grade": "5", "school": "s1", "schools": ["s2", "s1"]},
            "teacher": {"title": "Dr", "school": "s1", "schools": ["s1"]},
            "staff": {"staff_id": "S1", "schools": ["s3"]},
            "contact": {
                "phone_type": "Cell",
                "student_relationships": [
                    {"student": "st2", "relationship": "Parent", "type": "Primary"},
                    {"student": "st1", "relationship": "Other", "type": "Family"},
                ],
            },
            "district_admin": {"title": "Head"},
        },
    }


ROLE_PATHS = [("roles", role) for role in ("student", "teacher", "staff", "contact")]
ONE_ODDITY = [
    *[(("name", part), "x" * 256) for part in ("first", "middle", "last")],
    (("roles", "student", "grade"), "14"),
    (("email",), None),
    (("roles", "contact", "phone_type"), "Pager"),
    *[
        (("roles", "contact", "student_relationships", 1, key), value)
        for key, value in (("student", None), ("relationship", "Mom"), ("type", "Guardian"))
    ],
    (("roles",), {}),
    *[(("roles", role), None) for role in ("student", "teacher", "staff", "district_admin")],
    *[(path, "a\x00b") for path in [("id",), ("name", "middle"), ("email",)]],
    (("roles", "student", "school"), "s\x00"),
    (("roles", "contact", "student_relationships", 0, "student"), "st\x00"),
    (("roles", "contact", "student_relationships", 0, "type"), "Pri\x00mary"),
]


@pytest.mark.parametrize(("path", "value"), ONE_ODDITY)
def test_a_user_with_one_oddity_maps_as_the_plain_mapping_maps_it(
    path: tuple[str | int, ...], value: Any
) -> None:
    user = clean_user()
    if path == ("roles",):
        user["roles"] = value
    else:
        at: Any = user
        for key in path[:-1]:
            at = at[key]
        at[path[-1]] = value
    raw = msgspec.json.encode({"data": user})

    assert outcome(convert_user, raw) == outcome(plain_convert_user, raw)
    assert outcome(convert_user, clean := msgspec.json.encode({"data": clean_user()})) == (
        outcome(plain_convert_user, clean)
    )


def test_odd_users_and_their_problems_in_order() -> None:
    """Fixed examples of what the random ones cover, so a failure reads plainly."""
    raw = msgspec.json.encode(
        {
            "data": {
                "id": "u1",
                "name": {"first": "x" * 300, "last": "N\x00l"},
                "roles": {
                    "teacher": {"school": "s2", "schools": ["s1"]},
                    "contact": {
                        "phone_type": "Pager",
                        "student_relationships": [
                            {"student": None},
                            {"student": "st1", "relationship": "Mom", "type": "Primary"},
                        ],
                    },
                },
            }
        }
    )
    problems: list[RowProblem] = []
    user = convert_user(raw, problems)

    assert user is not None and user.name.last == "Nl"
    assert user.contact == ContactInfo(
        phone_type="Pager", relationships=(StudentRelationship("st1", "Mom", "Primary"),)
    )
    assert [(p.code, p.school_id) for p in problems] == [
        ("long_name", "s2"),
        ("relationship_without_student", "s2"),
        ("unknown_enum", "s2"),
        ("unknown_enum", "s2"),
        ("missing_email", "s2"),
        ("nul_character", "s2"),
    ]
    assert (user, problems) == (user, outcome(plain_convert_user, raw)[2])
