"""Clever wire records → rostersync's canonical records, plus the row problems found on the way.

Mapping is where Clever's loose data becomes strict: ``None`` and missing fields become
``""``/``()``, tuples whose order means nothing are sorted (and de-duplicated), and anything odd
becomes a ``RowProblem`` instead of a crash. An unknown enum value is kept exactly as sent
(it may be a value Clever added later) and flagged as an alert. A record that cannot be
synced at all (no id, a section with no school) is an error and is not returned.

Each ``convert_*`` function takes one raw list item (``{"data": {...}, "uri": ...}``), appends
any problems to ``out`` and returns the record or ``None``. It lets ``msgspec.ValidationError``
escape for an item of the wrong shape; the caller turns that into an error row.

Users and sections are mapped once per item of a first load (millions of them), so their path
is kept lean: records are named tuples, made with ``tuple.__new__`` straight (``_new``: a
named tuple's own constructor is a Python function, one more frame per record), text is read
as ``value or ""`` (the rare item with a NUL character has its text cleaned first,
``_without_nul``; the ``*_clean`` conversions are for items whose chunk was searched for
one and holds none), and a user's problems are looked for in full only when a quick check
(``_suspect``) finds something to report.
"""

from __future__ import annotations

from typing import TypeVar

import msgspec
from typing_extensions import Buffer

from rostersync.domain.records import (
    RELATIONSHIP_TYPES,
    RELATIONSHIPS,
    ContactInfo,
    CourseRecord,
    DistrictAdminInfo,
    DistrictRecord,
    MappedUser,
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
from rostersync.sources.clever.stream import NUL_ESCAPE

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

# Stand-ins for absent parts of an item, made once (they are never changed).
_NO_USER, _NO_ROLES, _NO_NAME = wire.User(), wire.Roles(), wire.Name()
_NO_SECTION = wire.Section()

S = TypeVar("S", bound=msgspec.Struct)

# Every field given, in order: ``_new(UserRecord, (...))`` is ``UserRecord(...)`` in one C
# call (tests/clever/test_mapping_fast_paths.py holds the records, their reprs included,
# to a plain mapping's made by the constructors, on random items).
_new = tuple.__new__


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


def _ids(values: list[str] | None) -> tuple[str, ...]:
    """Sorted, de-duplicated, without empty ids (one id, the usual case, needs no sort)."""
    if not values:
        return ()
    if len(values) == 1:
        return (values[0],) if values[0] else ()
    return tuple(sorted({v for v in values if v}))


def _without_nul(struct: S) -> S:
    """A copy of a wire struct with NUL characters removed from the text that mapping keeps
    through ``_s``; ids (a record's ``id``, a relationship's ``student``, id lists) are
    kept as sent. Items with a NUL are rare: the rest of mapping can then read text as
    ``value or ""``, which is what ``_s`` gives for text without a NUL."""
    changes: dict[str, object] = {}
    for name in struct.__struct_fields__:
        value = getattr(struct, name)
        if isinstance(value, str):
            if "\x00" in value and name not in ("id", "student"):
                changes[name] = value.replace("\x00", "")
        elif isinstance(value, msgspec.Struct):
            changes[name] = _without_nul(value)
        elif isinstance(value, list) and value and isinstance(value[0], msgspec.Struct):
            changes[name] = [_without_nul(v) for v in value]
    return msgspec.structs.replace(struct, **changes) if changes else struct


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


def convert_school(raw: Buffer, out: list[RowProblem]) -> SchoolRecord | None:
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


def convert_user(raw: Buffer, out: list[RowProblem]) -> UserRecord | None:
    return _convert_user(raw, out, True)


def _convert_user(raw: Buffer, out: list[RowProblem], maybe_nul: bool) -> UserRecord | None:
    user = _USER.decode(raw).data or _NO_USER
    roles = user.roles or _NO_ROLES
    user_id = user.id
    if not user_id:
        _missing_id("user", out, _user_school(roles))
        return None
    sent = roles  # the school of the problems is read from ids as sent
    nul = maybe_nul and NUL_ESCAPE in bytes(raw)
    if nul:
        user = _without_nul(user)
        roles = user.roles or _NO_ROLES
    record = _user_record(user_id, user, roles)
    if nul or _suspect(record, roles.contact):
        rows = _Rows("user", user_id, _user_school(sent), out)
        _user_problems(record, roles.contact, nul, rows)
    return record


def _user_record(user_id: str, user: wire.User, roles: wire.Roles) -> UserRecord:
    name = user.name or _NO_NAME
    admin = roles.district_admin
    person = _new(PersonName, (name.first or "", name.middle or "", name.last or ""))
    return _new(
        UserRecord,
        (
            user_id,
            person,
            user.email or "",
            _student(roles.student),
            _teacher(roles.teacher),
            _staff(roles.staff),
            _contact(roles.contact),
            None if admin is None else DistrictAdminInfo(admin.title or ""),
        ),
    )


def _suspect(record: UserRecord, contact: wire.Contact | None) -> bool:
    """Whether ``_user_problems`` may find something (never False when it would)."""
    name, student = record.name, record.student
    if (
        len(name.first) > MAX_NAME_LENGTH
        or len(name.middle) > MAX_NAME_LENGTH
        or len(name.last) > MAX_NAME_LENGTH
        or (student is not None and student.grade not in GRADES)
        or (record.teacher is not None and not record.email)
        or (contact is not None and _suspect_contact(contact))
    ):
        return True
    return (  # no role: ``UserRecord.roles`` is empty
        student is None
        and record.teacher is None
        and record.staff is None
        and record.contact is None
        and record.district_admin is None
    )


def _suspect_contact(contact: wire.Contact) -> bool:
    if (contact.phone_type or "") not in PHONE_TYPES:
        return True
    for rel in contact.student_relationships or ():
        if not rel.student or (rel.relationship or "") not in RELATIONSHIPS:
            return True
        if (rel.type or "") not in RELATIONSHIP_TYPES:
            return True
    return False


def _user_problems(
    record: UserRecord, contact: wire.Contact | None, nul: bool, rows: _Rows
) -> None:
    """A user's problems, in the order a reader of the item meets them."""
    rows.name_length("first name", record.name.first)
    rows.name_length("middle name", record.name.middle)
    rows.name_length("last name", record.name.last)
    if record.student is not None:
        rows.enum("grade", record.student.grade, GRADES)
    if contact is not None:
        for rel in contact.student_relationships or ():
            if not rel.student:
                rows.add(
                    Severity.ALERT,
                    "relationship_without_student",
                    f"The contact {rows.source_id} has a student relationship with no student "
                    "id; that relationship was skipped. Fix the contact's relationships in the "
                    "SIS.",
                )
                continue
            rows.enum("relationship", rel.relationship or "", RELATIONSHIPS)
            rows.enum("relationship type", rel.type or "", RELATIONSHIP_TYPES)
        rows.enum("phone_type", contact.phone_type or "", PHONE_TYPES)
    _user_alerts(record, rows)
    if nul:
        rows.add(
            Severity.ALERT,
            "nul_character",
            f"The user {record.source_id} has NUL characters in its data; they were removed. "
            "Check the record in the SIS.",
        )


def convert_user_item(raw: Buffer, out: list[RowProblem]) -> RawItem | None:
    """A user with only its id read (the JSON is still checked whole): most users of a
    resync are the items the last fetch had, and need nothing more. An item without an id
    is mapped in full, to report it as ``convert_user`` does."""
    item = _USER_ID.decode(raw).data
    if item is None or not item.id:
        convert_user(raw, out)
        return None
    return RawItem(item.id, bytes(raw))


def convert_user_mapped(raw: Buffer, out: list[RowProblem]) -> RawItem | None:
    """``convert_user_item`` with the user mapped too (``RawItem.mapped``: its record and
    own problems, as ``convert_user`` finds them), in one decode. An item that does not
    map for its shape is left unmapped, exactly as ``convert_user_item`` leaves it: its
    mapping then reports it as for any other fetch."""
    return _mapped(raw, out, True)


def convert_user_mapped_clean(raw: Buffer, out: list[RowProblem]) -> RawItem | None:
    """``convert_user_mapped`` for an item known to hold no escaped NUL (``stream.RawPage``
    searched its chunk once): the item's own search is left out."""
    return _mapped(raw, out, False)


def _mapped(raw: Buffer, out: list[RowProblem], maybe_nul: bool) -> RawItem | None:
    own: list[RowProblem] = []
    try:
        user = _convert_user(raw, own, maybe_nul)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        return convert_user_item(raw, out)
    if user is None:  # no id: reported as ``convert_user_item`` reports it
        out += own
        return None
    return _new(RawItem, (user.source_id, bytes(raw), _new(MappedUser, (user, tuple(own)))))


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


def _student(student: wire.Student | None) -> StudentInfo | None:
    if student is None:
        return None
    return _new(
        StudentInfo,
        (
            student.sis_id or "",
            student.student_number or "",
            student.state_id or "",
            student.grade or "",
            student.school or "",
            _ids(student.schools),
            student.graduation_year or "",
        ),
    )


def _teacher(teacher: wire.Teacher | None) -> TeacherInfo | None:
    if teacher is None:
        return None
    return _new(
        TeacherInfo,
        (
            teacher.sis_id or "",
            teacher.teacher_number or "",
            teacher.state_id or "",
            teacher.title or "",
            teacher.school or "",
            _ids(teacher.schools),
        ),
    )


def _staff(staff: wire.Staff | None) -> StaffInfo | None:
    if staff is None:
        return None
    return StaffInfo(
        staff.staff_id or "", staff.title or "", staff.department or "", _ids(staff.schools)
    )


def _contact(contact: wire.Contact | None) -> ContactInfo | None:
    """Relationships without a student are left out (``_user_problems`` reports them), the
    rest de-duplicated and sorted by student, relationship and type."""
    if contact is None:
        return None
    rels = contact.student_relationships or ()
    links: tuple[StudentRelationship, ...] = ()
    if len(rels) == 1:
        rel = rels[0]
        if rel.student:
            link = (rel.student, rel.relationship or "", rel.type or "")
            links = (_new(StudentRelationship, link),)
    elif rels:
        keys = {(r.student, r.relationship or "", r.type or "") for r in rels if r.student}
        links = tuple([_new(StudentRelationship, key) for key in sorted(keys)])
    values = (contact.sis_id or "", contact.phone or "", contact.phone_type or "", links)
    return _new(ContactInfo, values)


def convert_section(raw: Buffer, out: list[RowProblem]) -> SectionRecord | None:
    return _convert_section(raw, out, True)


def convert_section_clean(raw: Buffer, out: list[RowProblem]) -> SectionRecord | None:
    """``convert_section`` for an item known to hold no escaped NUL."""
    return _convert_section(raw, out, False)


def _convert_section(raw: Buffer, out: list[RowProblem], maybe_nul: bool) -> SectionRecord | None:
    section = _SECTION.decode(raw).data or _NO_SECTION
    if maybe_nul and NUL_ESCAPE in bytes(raw):
        section = _without_nul(section)
    school_id = section.school or ""
    if not section.id:
        _missing_id("section", out, school_id)
        return None
    name, grade, subject = section.name or "", section.grade or "", section.subject or ""
    suspect = len(name) > MAX_NAME_LENGTH or grade not in GRADES or subject not in SUBJECTS
    if suspect or not school_id:
        rows = _Rows("section", section.id, school_id, out)
        if not school_id:
            rows.add(
                Severity.ERROR,
                "missing_school",
                f"The section {section.id} ({name!r}) belongs to no school, so it "
                "cannot be synced. Assign it to a school in the SIS.",
            )
            return None
        rows.name_length("name", name)
        rows.enum("grade", grade, GRADES)
        rows.enum("subject", subject, SUBJECTS)
    teacher_id = section.teacher or ""
    return SectionRecord(
        section.id,
        school_id,
        name,
        section.sis_id or "",
        section.section_number or "",
        section.period or "",
        grade,
        subject,
        section.course or "",
        section.term_id or "",
        teacher_id,
        _ids([*section.teachers, teacher_id] if section.teachers else [teacher_id]),
        _ids(section.students),
    )


def convert_term(raw: Buffer, out: list[RowProblem]) -> TermRecord | None:
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


def convert_course(raw: Buffer, out: list[RowProblem]) -> CourseRecord | None:
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
