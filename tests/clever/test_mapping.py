"""Mapping Clever wire records to rostersync records, with row problems kept as data."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from rostersync.domain.records import (
    ContactInfo,
    CourseRecord,
    DistrictAdminInfo,
    DistrictRecord,
    PersonName,
    Role,
    RowProblem,
    SchoolRecord,
    SectionRecord,
    Severity,
    StaffInfo,
    StudentInfo,
    StudentRelationship,
    TeacherInfo,
    TermRecord,
    UserRecord,
)
from rostersync.errors import FatalSourceError, NotSharedError
from rostersync.sources.clever import CleverSource

from .fakes import FakeClever, oid, student, teacher

SourceFactory = Callable[..., CleverSource]


def _split(items: list[Any]) -> tuple[list[Any], list[RowProblem]]:
    return (
        [i for i in items if not isinstance(i, RowProblem)],
        [i for i in items if isinstance(i, RowProblem)],
    )


def test_school_maps_every_field(clever: FakeClever, make_source: SourceFactory) -> None:
    clever.records["schools"] = [
        {
            "id": oid(1), "name": "Lincoln Elementary", "sis_id": "100", "school_number": "7",
            "state_id": "ST-7", "low_grade": "Kindergarten", "high_grade": "5",
            "district": oid(999), "principal": {"name": "P", "email": None}, "ext": {"x": 1},
            "created": "2021-03-02T22:24:53.347Z", "some_new_field": [1, 2],
        }
    ]  # fmt: skip

    assert list(make_source().schools()) == [
        SchoolRecord(oid(1), "Lincoln Elementary", "100", "7", "ST-7", "Kindergarten", "5")
    ]


def test_nulls_and_missing_fields_become_empty(
    clever: FakeClever, make_source: SourceFactory
) -> None:
    clever.records["schools"] = [{"id": oid(1), "name": "A", "sis_id": None, "low_grade": None}]
    clever.records["users"] = [
        {"id": oid(2), "email": None, "name": None, "roles": {"student": {"schools": None}}},
    ]
    clever.records["sections"] = [
        {"id": oid(3), "school": oid(1), "name": None, "teacher": None, "students": None}
    ]
    clever.records["terms"] = [{"id": oid(4), "start_date": None}]
    clever.records["courses"] = [{"id": oid(5), "name": None, "number": None}]
    source = make_source()

    assert list(source.schools()) == [SchoolRecord(oid(1), "A")]
    assert list(source.users()) == [UserRecord(oid(2), student=StudentInfo())]
    assert list(source.sections()) == [SectionRecord(oid(3), oid(1), "")]
    assert list(source.terms()) == [TermRecord(oid(4))]
    assert list(source.courses()) == [CourseRecord(oid(5))]


def test_student_teacher_staff_and_admin_roles(
    clever: FakeClever, make_source: SourceFactory
) -> None:
    clever.records["users"] = [
        student(
            1, email="s@example.org",
            roles={"student": {
                "sis_id": "S1", "student_number": "N1", "state_id": "ST1",
                "grade": "PreKindergarten",
                "school": oid(100), "schools": [oid(101), oid(100), oid(101)],
                "graduation_year": "2035", "dob": "2/11/2007", "enrollments": [],
            }},
        ),
        teacher(2, roles={"teacher": {
            "sis_id": "T2", "teacher_number": "9", "state_id": "", "title": "Ms",
            "school": oid(100), "schools": [oid(100)],
        }}),
        {"id": oid(3), "email": "st@example.org", "roles": {"staff": {
            "staff_id": "X3", "title": "Nurse", "department": "Health", "roles": ["nurse"],
            "schools": [oid(101), oid(100)],
        }}},
        {"id": oid(4), "email": "a@example.org", "roles": {"district_admin": {"title": "IT"}}},
    ]  # fmt: skip

    users, problems = _split(list(make_source().users()))

    assert problems == []
    assert users[0].student == StudentInfo(
        "S1", "N1", "ST1", "PreKindergarten", oid(100), (oid(100), oid(101)), "2035"
    )
    assert users[0].name == PersonName("Stu", "", "Dent1")
    assert users[1].teacher == TeacherInfo("T2", "9", "", "Ms", oid(100), (oid(100),))
    assert users[2].staff == StaffInfo("X3", "Nurse", "Health", (oid(100), oid(101)))
    assert users[3].district_admin == DistrictAdminInfo("IT")
    assert [u.roles for u in users] == [
        (Role.STUDENT,), (Role.TEACHER,), (Role.STAFF,), (Role.DISTRICT_ADMIN,),
    ]  # fmt: skip


def test_a_multi_role_user_is_one_record_with_several_infos(
    clever: FakeClever, make_source: SourceFactory
) -> None:
    relationships = [{"student": oid(1), "relationship": "Parent", "type": "Primary"}]
    clever.records["users"] = [
        {
            "id": oid(7), "email": "both@example.org", "name": {"first": "Pat", "last": "Lee"},
            "roles": {
                "teacher": {"school": oid(100), "schools": [oid(100)]},
                "contact": {"phone": "555", "phone_type": "Cell",
                            "student_relationships": relationships},
            },
        }
    ]  # fmt: skip

    (user,) = list(make_source().users())

    assert isinstance(user, UserRecord)
    assert user.roles == (Role.TEACHER, Role.CONTACT)
    assert user.contact == ContactInfo(
        "", "555", "Cell", (StudentRelationship(oid(1), "Parent", "Primary"),)
    )
    assert user.teacher is not None


def test_contact_relationships_are_sorted_by_student_and_deduplicated(
    clever: FakeClever, make_source: SourceFactory
) -> None:
    rels = [
        {"student": oid(9), "relationship": "Grandparent", "type": "Emergency"},
        {"student": oid(3), "relationship": "Aunt/Uncle", "type": "Family"},
        {"student": oid(9), "relationship": "Grandparent", "type": "Emergency"},
        {"student": oid(5), "relationship": None, "type": None},
    ]
    clever.records["users"] = [
        {"id": oid(1), "name": {"last": "Whole Name"}, "roles": {"contact": {
            "sis_id": None, "phone": None, "phone_type": "", "student_relationships": rels,
        }}},
    ]  # fmt: skip

    (user,) = list(make_source().users())

    assert isinstance(user, UserRecord)
    assert user.name == PersonName(last="Whole Name")
    assert user.contact == ContactInfo(
        relationships=(
            StudentRelationship(oid(3), "Aunt/Uncle", "Family"),
            StudentRelationship(oid(5), "", ""),
            StudentRelationship(oid(9), "Grandparent", "Emergency"),
        )
    )


def test_unknown_enum_values_are_kept_and_alerted(
    clever: FakeClever, make_source: SourceFactory
) -> None:
    rels = [{"student": oid(1), "relationship": "Cousin", "type": "Guardian"}]
    clever.records["users"] = [
        {"id": oid(2), "email": "c@example.org", "roles": {"contact": {
            "phone_type": "Pager", "student_relationships": rels,
        }}},
        student(3, roles={"student": {"school": oid(100), "grade": "Grade 5"}}),
    ]  # fmt: skip
    clever.records["sections"] = [
        {"id": oid(4), "school": oid(100), "name": "Art", "subject": "pottery", "grade": "14"}
    ]
    source = make_source()

    users, user_problems = _split(list(source.users()))
    sections, section_problems = _split(list(source.sections()))

    assert users[0].contact.relationships == (StudentRelationship(oid(1), "Cousin", "Guardian"),)
    assert users[0].contact.phone_type == "Pager"
    assert users[1].student.grade == "Grade 5"
    assert (sections[0].subject, sections[0].grade) == ("pottery", "14")
    problems = user_problems + section_problems
    assert {(p.severity, p.code) for p in problems} == {(Severity.ALERT, "unknown_enum")}
    assert [(p.source_id, p.school_id) for p in problems] == [
        (oid(2), ""), (oid(2), ""), (oid(2), ""), (oid(3), oid(100)),
        (oid(4), oid(100)), (oid(4), oid(100)),
    ]  # fmt: skip
    assert "'Cousin'" in problems[0].message


def test_a_record_without_id_is_an_error_and_the_rest_continues(
    clever: FakeClever, make_source: SourceFactory
) -> None:
    no_id = student(5)
    del no_id["id"]
    clever.records["users"] = [student(1), {**student(2), "id": None}, student(3), no_id]

    users, problems = _split(list(make_source().users()))

    assert [u.source_id for u in users] == [oid(1), oid(3)]
    assert [(p.severity, p.code, p.source_id, p.school_id) for p in problems] == [
        (Severity.ERROR, "missing_id", "", oid(1)),
        (Severity.ERROR, "missing_id", "", oid(1)),
    ]


def test_an_item_of_the_wrong_shape_is_an_error_and_its_page_still_decodes(
    clever: FakeClever, make_source: SourceFactory
) -> None:
    data = [
        {"data": {"id": oid(1), "name": "A"}},
        {"data": {"id": oid(2), "name": 42}},
        "not an object",
        {"data": ["nope"]},
        {"data": {"id": oid(5), "name": "E"}},
    ]
    clever.fail("/v3.0/schools", httpx.Response(200, json={"data": data, "links": []}))

    schools, problems = _split(list(make_source().schools()))

    assert [s.source_id for s in schools] == [oid(1), oid(5)]
    assert [(p.severity, p.code, p.source_id) for p in problems] == [
        (Severity.ERROR, "undecodable", oid(2)),
        (Severity.ERROR, "undecodable", ""),
        (Severity.ERROR, "undecodable", ""),
    ]
    assert "Expected `str | null`, got `int`" in problems[0].message


def test_a_duplicate_id_keeps_the_first_copy(
    clever: FakeClever, make_source: SourceFactory
) -> None:
    first = {"id": oid(2), "name": "First"}
    data = [
        {"data": {"id": oid(1), "name": "A"}},
        {"data": first},
        {"data": {**first, "name": "B"}},
    ]
    clever.fail(
        "/v3.0/schools?limit=3",
        httpx.Response(200, json={
            "data": data,
            "links": [{"rel": "next", "uri": f"/v3.0/schools?limit=3&starting_after={oid(2)}"}],
        }),
    )  # fmt: skip
    clever.fail("starting_after", httpx.Response(200, json={"data": [{"data": first}]}))

    schools, problems = _split(list(make_source(page_size=3).schools()))

    assert schools == [SchoolRecord(oid(1), "A"), SchoolRecord(oid(2), "First")]
    assert [(p.severity, p.code, p.source_id) for p in problems] == [
        (Severity.ERROR, "duplicate_id", oid(2)),
        (Severity.ERROR, "duplicate_id", oid(2)),
    ]


def test_an_out_of_order_id_is_kept_with_an_alert(
    clever: FakeClever, make_source: SourceFactory
) -> None:
    data = [{"data": {"id": oid(n), "name": "S"}} for n in (1, 3, 2)]
    clever.fail("/v3.0/schools", httpx.Response(200, json={"data": data}))

    schools, problems = _split(list(make_source().schools()))

    assert [s.source_id for s in schools] == [oid(1), oid(3), oid(2)]
    assert [(p.code, p.source_id) for p in problems] == [("out_of_order", oid(2))]


def test_section_maps_members_and_sorts_them(
    clever: FakeClever, make_source: SourceFactory
) -> None:
    clever.records["sections"] = [
        {
            "id": oid(1), "school": oid(100), "name": "Math 5", "sis_id": "M5",
            "section_number": "2", "period": "3", "grade": "5", "subject": "math",
            "course": oid(50), "term_id": oid(60), "teacher": oid(20),
            "teachers": [oid(21)], "students": [oid(12), oid(11), oid(12)],
        }
    ]  # fmt: skip

    assert list(make_source().sections()) == [
        SectionRecord(
            oid(1), oid(100), "Math 5", "M5", "2", "3", "5", "math", oid(50), oid(60), oid(20),
            (oid(20), oid(21)), (oid(11), oid(12)),
        )
    ]  # fmt: skip


def test_a_section_without_school_is_an_error(
    clever: FakeClever, make_source: SourceFactory
) -> None:
    clever.records["sections"] = [{"id": oid(1), "name": "Lost"}]

    items = list(make_source().sections())

    assert [(p.severity, p.code, p.source_id) for p in items] == [
        (Severity.ERROR, "missing_school", oid(1))
    ]


def test_alerts_for_teacher_without_email_long_names_and_no_roles(
    clever: FakeClever, make_source: SourceFactory
) -> None:
    clever.records["users"] = [
        teacher(1, email=None),
        {"id": oid(2), "email": "x@example.org", "name": {"first": "x" * 300}, "roles": {}},
    ]

    users, problems = _split(list(make_source().users()))

    assert users[1].name.first == "x" * 300
    assert [(p.severity, p.code, p.source_id, p.school_id) for p in problems] == [
        (Severity.ALERT, "missing_email", oid(1), oid(1)),
        (Severity.ALERT, "long_name", oid(2), ""),
        (Severity.ALERT, "no_role", oid(2), ""),
    ]


def test_terms_and_courses(clever: FakeClever, make_source: SourceFactory) -> None:
    clever.records["terms"] = [
        {"id": oid(1), "name": "Fall", "start_date": "2024-08-20", "end_date": "2024-12-20"}
    ]
    clever.records["courses"] = [{"id": oid(2), "name": "Algebra", "number": "MA-1"}]
    source = make_source()

    assert list(source.terms()) == [TermRecord(oid(1), "Fall", "2024-08-20", "2024-12-20")]
    assert list(source.courses()) == [CourseRecord(oid(2), "Algebra", "MA-1")]


def test_district_is_the_tokens_single_district(
    clever: FakeClever, make_source: SourceFactory
) -> None:
    clever.district = {
        "id": oid(9), "name": "Demo", "state": "error", "error": "SFTP upload failed",
        "sis_type": "sftp", "pause_start": None, "login_methods": ["Google"],
    }  # fmt: skip

    assert make_source().district() == DistrictRecord(
        oid(9), "Demo", "error", "SFTP upload failed", "sftp"
    )


@pytest.mark.parametrize(
    ("data", "error", "words"),
    [
        ([], NotSharedError, "listed no district"),
        ([{"data": {"id": "a"}}, {"data": {"id": "b"}}], FatalSourceError, "exactly one"),
        ([{"data": {"name": "No id"}}], FatalSourceError, "without an id"),
    ],
)
def test_district_reply_that_names_no_single_district(
    clever: FakeClever,
    make_source: SourceFactory,
    data: list[Any],
    error: type[Exception],
    words: str,
) -> None:
    clever.fail("/v3.0/districts", httpx.Response(200, json={"data": data}))

    with pytest.raises(error, match=words):
        make_source().district()


def test_single_records_by_id(clever: FakeClever, make_source: SourceFactory) -> None:
    clever.records["schools"] = [{"id": oid(1), "name": "A"}]
    clever.records["users"] = [student(2)]
    clever.records["sections"] = [{"id": oid(3), "school": oid(1), "name": "S"}]
    source = make_source()

    assert source.school(oid(1)) == SchoolRecord(oid(1), "A")
    assert source.user(oid(2)).source_id == oid(2)
    assert source.section(oid(3)).school_id == oid(1)
    assert clever.paths() == [
        f"/v3.0/schools/{oid(1)}",
        f"/v3.0/users/{oid(2)}",
        f"/v3.0/sections/{oid(3)}",
    ]
