"""Canonical roster records, one per entity, independent of any source's wire format.

Every record carries its natural key (``source_id``: the source's own id, e.g. a Clever id).
Records are frozen value objects so that two fetches of the same data compare equal and a
diff is a plain comparison. Sequences are tuples, sorted where order carries no meaning, so
equality does not depend on the order the source happened to send.

A user and its parts, and a section, are named tuples; the other records are frozen
dataclasses. Users are most of a district (3.3 million at 1M students): each is built once
by the mapping, staged as bytes, and read back and decoded for every school it belongs to.
A named tuple is built about twice as fast as a slotted dataclass, and serializers write it
as an array of its values rather than a map of field names, which halves a staged user and
speeds up its encoding and decoding (``storage.staging``). Only what a tuple adds differs:
such a record also equals a plain tuple of the same values and compares by position, so
code compares it only with records of its own class.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple


class Role(StrEnum):
    """A person's role in the roster."""

    STUDENT = "student"
    TEACHER = "teacher"
    STAFF = "staff"
    CONTACT = "contact"
    DISTRICT_ADMIN = "district_admin"


# Clever's exact enums for a contact's relationship to a student. Values outside them are
# kept as sent and flagged as an alert, never dropped.
RELATIONSHIPS: frozenset[str] = frozenset(
    {"Parent", "Grandparent", "Self", "Aunt/Uncle", "Sibling", "Other", ""}
)
RELATIONSHIP_TYPES: frozenset[str] = frozenset(
    {"Parent/Guardian", "Emergency", "Primary", "Secondary", "Family", "Other", ""}
)


class PersonName(NamedTuple):
    first: str = ""
    middle: str = ""
    last: str = ""

    @property
    def display(self) -> str:
        return " ".join(part for part in (self.first, self.middle, self.last) if part)


@dataclass(frozen=True, slots=True)
class DistrictRecord:
    source_id: str
    name: str
    state: str = ""
    error: str = ""
    sis_type: str = ""
    pause_start: str = ""
    pause_end: str = ""


@dataclass(frozen=True, slots=True)
class SchoolRecord:
    source_id: str
    name: str
    sis_id: str = ""
    school_number: str = ""
    state_id: str = ""
    low_grade: str = ""
    high_grade: str = ""


class StudentInfo(NamedTuple):
    sis_id: str = ""
    student_number: str = ""
    state_id: str = ""
    grade: str = ""
    school: str = ""
    schools: tuple[str, ...] = ()
    graduation_year: str = ""


class TeacherInfo(NamedTuple):
    sis_id: str = ""
    teacher_number: str = ""
    state_id: str = ""
    title: str = ""
    school: str = ""
    schools: tuple[str, ...] = ()


class StaffInfo(NamedTuple):
    staff_id: str = ""
    title: str = ""
    department: str = ""
    schools: tuple[str, ...] = ()


class StudentRelationship(NamedTuple):
    """One contact-to-student link, as the source states it."""

    student_id: str
    relationship: str = ""
    type: str = ""


class ContactInfo(NamedTuple):
    sis_id: str = ""
    phone: str = ""
    phone_type: str = ""
    relationships: tuple[StudentRelationship, ...] = ()


class DistrictAdminInfo(NamedTuple):
    title: str = ""


class UserRecord(NamedTuple):
    """A person. One user may hold several roles (a teacher who is also a parent)."""

    source_id: str
    name: PersonName = PersonName()
    email: str = ""
    student: StudentInfo | None = None
    teacher: TeacherInfo | None = None
    staff: StaffInfo | None = None
    contact: ContactInfo | None = None
    district_admin: DistrictAdminInfo | None = None

    @property
    def roles(self) -> tuple[Role, ...]:
        found: list[Role] = []
        if self.student is not None:
            found.append(Role.STUDENT)
        if self.teacher is not None:
            found.append(Role.TEACHER)
        if self.staff is not None:
            found.append(Role.STAFF)
        if self.contact is not None:
            found.append(Role.CONTACT)
        if self.district_admin is not None:
            found.append(Role.DISTRICT_ADMIN)
        return tuple(found)


class RawItem(NamedTuple):
    """A record as the source sent it, with only its id read: a fetch hashes it and decodes
    it in full only when it differs from the last fetch (see ``storage.staging``).
    ``mapped``: the user already mapped as it was read, for a fetch with no last fetch to
    compare with, where every item is mapped (one decode instead of two)."""

    source_id: str
    raw: bytes
    mapped: MappedUser | None = None


class PageKey(NamedTuple):
    """What identifies a page of a list: its first and last ids, its size, and a digest of
    its items in order. A page with the key of one the last fetch staged whole, unchanged,
    holds the very same items (see ``storage.staging``)."""

    first_id: str
    last_id: str
    size: int
    digest: bytes


class ChunkKey(NamedTuple):
    """A run of consecutive items of a page (cut where an item's hash says so, so that a
    change moves only the cuts around it): a digest of its items in order, and how many."""

    digest: str
    size: int


class MappedUser(NamedTuple):
    """A user as a fetch stages it: its record, and the row problems (alerts) its mapping
    found, which the reports of the schools it belongs to show."""

    record: UserRecord
    problems: tuple[RowProblem, ...] = ()


class SectionRecord(NamedTuple):
    source_id: str
    school_id: str
    name: str
    sis_id: str = ""
    section_number: str = ""
    period: str = ""
    grade: str = ""
    subject: str = ""
    course_id: str = ""
    term_id: str = ""
    teacher_id: str = ""
    teacher_ids: tuple[str, ...] = ()
    student_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TermRecord:
    source_id: str
    name: str = ""
    start_date: str = ""
    end_date: str = ""


@dataclass(frozen=True, slots=True)
class CourseRecord:
    source_id: str
    name: str = ""
    number: str = ""


class Severity(StrEnum):
    """Errors: the record could not be synced. Alerts: it synced, but something is off."""

    ERROR = "error"
    ALERT = "alert"


@dataclass(frozen=True, slots=True)
class RowProblem:
    """A problem with one source record, kept as data for the report (never a crash)."""

    severity: Severity
    entity: str
    source_id: str
    code: str
    message: str
    school_id: str = ""


AnyRecord = DistrictRecord | SchoolRecord | UserRecord | SectionRecord | TermRecord | CourseRecord
