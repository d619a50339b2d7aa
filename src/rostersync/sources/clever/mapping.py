"""Clever wire records → rostersync's canonical records, plus the row problems found on the way.

Mapping is where Clever's loose data becomes strict: ``None`` and missing fields become
``""``/``()``, tuples whose order means nothing are sorted (and de-duplicated), and anything odd
becomes a ``RowProblem`` instead of a crash. An unknown enum value is kept exactly as sent
(it may be a value Clever added later) and flagged as an alert. A record that cannot be
synced at all (no id, a section with no school) is an error and is not returned.

Each ``convert_*`` function takes one raw list item (``{"data": {...}, "uri": ...}``), appends
any problems to ``out`` and returns the record or ``None``. It lets ``msgspec.ValidationError``
escape for an item of the wrong shape; the caller turns that into an error row.
"""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

from rostersync.domain.records import (
    RELATIONSHIP_TYPES,
    RELATIONSHIPS,
    ContactInfo,
    CourseRecord,
    DistrictAdminInfo,
    DistrictRecord,
    PersonName,
    RawItem,
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
from rostersync.sources.clever import wire

GRADES: frozenset[str] = frozenset(
    {"InfantToddler", "Preschool", "PreKindergarten", "TransitionalKindergarten", "Kindergarten"}
    | {str(n) for n in range(1, 14)}
    | {"PostGraduate", "Ungraded", "Other", ""}
)
SUBJECTS: frozenset[str] = frozenset(
    {
        "english/language arts", "math", "science", "social studies", "language",
        "homeroom/advisory", "interventions/online learning", "technology and engineering",
        "PE and health", "arts and music", "other", "",
    }
)  # fmt: skip
PHONE_TYPES: frozenset[str] = frozenset({"Cell", "Home", "Work", "Other", ""})
MAX_NAME_LENGTH = 255

_USER = msgspec.json.Decoder(wire.UserItem)
_USER_ID = msgspec.json.Decoder(wire.IdItem)
_SCHOOL = msgspec.json.Decoder(wire.SchoolItem)
_SECTION = msgspec.json.Decoder(wire.SectionItem)
_TERM = msgspec.json.Decoder(wire.TermItem)
_COURSE = msgspec.json.Decoder(wire.CourseItem)


class _Rows:
    """Collects the problems of one record, with its entity, id and school filled in."""

    def __init__(self, entity: str, source_id: str, school_id: str, out: list[RowProblem]):
        self.entity, self.source_id, self.school_id, self.out = entity, source_id, school_id, out

    def add(self, severity: Severity, code: str, message: str) -> None:
        self.out.append(
            RowProblem(severity, self.entity, self.source_id, code, message, self.school_id)
        )

    def enum(self, field: str, value: str, allowed: frozenset[str]) -> str:
        if value not in allowed:
            self.add(
                Severity.ALERT,
                "unknown_enum",
                f"The {self.entity} {self.source_id} has {field} {value!r}, which is not a "
                "Clever v3.0 value; it was kept as sent. Check the value in the SIS.",
            )
        return value

    def name_length(self, field: str, value: str) -> str:
        if len(value) > MAX_NAME_LENGTH:
            self.add(
                Severity.ALERT,
                "long_name",
                f"The {self.entity} {self.source_id} has a {field} of {len(value)} characters "
                f"(more than {MAX_NAME_LENGTH}); it was kept. Check it in the SIS.",
            )
        return value


def _s(value: str | None) -> str:
    """A string field as rostersync keeps it: never None, never with NUL characters
    (PostgreSQL cannot store them; ``convert_user`` raises an alert when it drops one)."""
    if not value:
        return ""
    return value.replace("\x00", "") if "\x00" in value else value


def _ids(values: Iterable[str | None] | None) -> tuple[str, ...]:
    return tuple(sorted({v for v in values or () if v}))


def _missing_id(entity: str, out: list[RowProblem], school_id: str = "") -> None:
    out.append(
        RowProblem(
            Severity.ERROR,
            entity,
            "",
            "missing_id",
            f"A {entity} record from Clever has no id, so it cannot be synced. Fix the "
            "record in the SIS (or Clever) so that Clever gives it an id.",
            school_id,
        )
    )


def convert_school(raw: bytes, out: list[RowProblem]) -> SchoolRecord | None:
    school = _SCHOOL.decode(raw).data or wire.School()
    if not school.id:
        _missing_id("school", out)
        return None
    rows = _Rows("school", school.id, school.id, out)
    if not school.name:
        rows.add(
            Severity.ALERT,
            "missing_name",
            f"The school {school.id} has no name; it was kept. Give it a name in the SIS.",
        )
    return SchoolRecord(
        source_id=school.id,
        name=rows.name_length("name", _s(school.name)),
        sis_id=_s(school.sis_id),
        school_number=_s(school.school_number),
        state_id=_s(school.state_id),
        low_grade=rows.enum("low_grade", _s(school.low_grade), GRADES),
        high_grade=rows.enum("high_grade", _s(school.high_grade), GRADES),
    )


def convert_user(raw: bytes, out: list[RowProblem]) -> UserRecord | None:
    user = _USER.decode(raw).data or wire.User()
    roles = user.roles or wire.Roles()
    school_id = _user_school(roles)
    if not user.id:
        _missing_id("user", out, school_id)
        return None
    rows = _Rows("user", user.id, school_id, out)
    name = user.name or wire.Name()
    record = UserRecord(
        source_id=user.id,
        name=PersonName(
            first=rows.name_length("first name", _s(name.first)),
            middle=rows.name_length("middle name", _s(name.middle)),
            last=rows.name_length("last name", _s(name.last)),
        ),
        email=_s(user.email),
        student=_student(roles.student, rows),
        teacher=_teacher(roles.teacher),
        staff=_staff(roles.staff),
        contact=_contact(roles.contact, rows),
        district_admin=(
            DistrictAdminInfo(title=_s(roles.district_admin.title))
            if roles.district_admin is not None
            else None
        ),
    )
    _user_alerts(record, rows)
    if b"\\u0000" in bytes(raw):
        rows.add(
            Severity.ALERT,
            "nul_character",
            f"The user {record.source_id} has NUL characters in its data; they were removed. "
            "Check the record in the SIS.",
        )
    return record


def convert_user_item(raw: bytes, out: list[RowProblem]) -> RawItem | None:
    """A user with only its id read (the JSON is still checked whole): most users of a
    resync are the items the last fetch had, and need nothing more. An item without an id
    is mapped in full, to report it as ``convert_user`` does."""
    item = _USER_ID.decode(raw).data
    if item is None or not item.id:
        convert_user(raw, out)
        return None
    return RawItem(item.id, bytes(raw))


def _user_school(roles: wire.Roles) -> str:
    for info in (roles.student, roles.teacher):
        if info is not None and info.school:
            return info.school
    for listed in (roles.student, roles.teacher, roles.staff):
        schools = _ids(listed.schools) if listed is not None else ()
        if schools:
            return schools[0]
    return ""


def _user_alerts(record: UserRecord, rows: _Rows) -> None:
    if not record.roles:
        rows.add(
            Severity.ALERT,
            "no_role",
            f"The user {record.source_id} has no role (student, teacher, staff, contact or "
            "district admin); it was kept. Check the user's roles in Clever.",
        )
    if record.teacher is not None and not record.email:
        rows.add(
            Severity.ALERT,
            "missing_email",
            f"The teacher {record.name.display or record.source_id} ({record.source_id}) has "
            "no email address, so they cannot be invited. Add an email in the SIS.",
        )


def _student(student: wire.Student | None, rows: _Rows) -> StudentInfo | None:
    if student is None:
        return None
    return StudentInfo(
        sis_id=_s(student.sis_id),
        student_number=_s(student.student_number),
        state_id=_s(student.state_id),
        grade=rows.enum("grade", _s(student.grade), GRADES),
        school=_s(student.school),
        schools=_ids(student.schools),
        graduation_year=_s(student.graduation_year),
    )


def _teacher(teacher: wire.Teacher | None) -> TeacherInfo | None:
    if teacher is None:
        return None
    return TeacherInfo(
        sis_id=_s(teacher.sis_id),
        teacher_number=_s(teacher.teacher_number),
        state_id=_s(teacher.state_id),
        title=_s(teacher.title),
        school=_s(teacher.school),
        schools=_ids(teacher.schools),
    )


def _staff(staff: wire.Staff | None) -> StaffInfo | None:
    if staff is None:
        return None
    return StaffInfo(
        staff_id=_s(staff.staff_id),
        title=_s(staff.title),
        department=_s(staff.department),
        schools=_ids(staff.schools),
    )


def _contact(contact: wire.Contact | None, rows: _Rows) -> ContactInfo | None:
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


def convert_section(raw: bytes, out: list[RowProblem]) -> SectionRecord | None:
    section = _SECTION.decode(raw).data or wire.Section()
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
        teacher_ids=_ids([*(section.teachers or ()), teacher_id]),
        student_ids=_ids(section.students),
    )


def convert_term(raw: bytes, out: list[RowProblem]) -> TermRecord | None:
    term = _TERM.decode(raw).data or wire.Term()
    if not term.id:
        _missing_id("term", out)
        return None
    return TermRecord(
        source_id=term.id,
        name=_s(term.name),
        start_date=_s(term.start_date),
        end_date=_s(term.end_date),
    )


def convert_course(raw: bytes, out: list[RowProblem]) -> CourseRecord | None:
    course = _COURSE.decode(raw).data or wire.Course()
    if not course.id:
        _missing_id("course", out)
        return None
    return CourseRecord(source_id=course.id, name=_s(course.name), number=_s(course.number))


def map_district(district: wire.District) -> DistrictRecord:
    """The district as sent; its ``state``/``error`` are data for the service to judge."""
    return DistrictRecord(
        source_id=_s(district.id),
        name=_s(district.name),
        state=_s(district.state),
        error=_s(district.error),
        sis_type=_s(district.sis_type),
        pause_start=_s(district.pause_start),
        pause_end=_s(district.pause_end),
    )
