"""Clever Data API v3.0 records as they travel on the wire, as msgspec Structs.

Typed Structs decode several times faster than dicts and hold far less memory, which matters
for districts of millions of records. Only the fields rostersync uses are declared: unknown
keys are ignored, every field is optional and nullable (Clever marks most fields
``x-nullable`` and omits non-guaranteed ones), and mapping turns ``None`` into ``""``/``()``.
Field names and shapes follow ``v3.0.yml`` (see docs/clever-client.md).
"""

from __future__ import annotations

from typing import Any

import msgspec
from typing_extensions import Buffer

Str = str | None


class Link(msgspec.Struct):
    rel: Str = None
    uri: Str = None


class Page(msgspec.Struct):
    """A list reply: ``data`` holds one raw ``{"data": record, "uri": ...}`` item per record.

    Items stay raw so that one bad item cannot sink its page: each is decoded on its own.
    """

    data: list[msgspec.Raw]
    links: list[Link] | None = None


class Single(msgspec.Struct):
    """A one-record reply, ``{"data": {...}}``; the record is decoded by its own type later."""

    data: msgspec.Raw


class Name(msgspec.Struct):
    first: Str = None
    middle: Str = None
    last: Str = None


class Student(msgspec.Struct):
    sis_id: Str = None
    student_number: Str = None
    state_id: Str = None
    grade: Str = None
    school: Str = None
    schools: list[str] | None = None
    graduation_year: Str = None


class Teacher(msgspec.Struct):
    sis_id: Str = None
    teacher_number: Str = None
    state_id: Str = None
    title: Str = None
    school: Str = None
    schools: list[str] | None = None


class Staff(msgspec.Struct):
    staff_id: Str = None
    title: Str = None
    department: Str = None
    schools: list[str] | None = None


class Relationship(msgspec.Struct):
    student: Str = None
    relationship: Str = None
    type: Str = None


class Contact(msgspec.Struct):
    sis_id: Str = None
    phone: Str = None
    phone_type: Str = None
    student_relationships: list[Relationship] | None = None


class DistrictAdmin(msgspec.Struct):
    title: Str = None


class Roles(msgspec.Struct):
    student: Student | None = None
    teacher: Teacher | None = None
    staff: Staff | None = None
    contact: Contact | None = None
    district_admin: DistrictAdmin | None = None


class User(msgspec.Struct):
    id: Str = None
    email: Str = None
    name: Name | None = None
    roles: Roles | None = None


class School(msgspec.Struct):
    id: Str = None
    name: Str = None
    sis_id: Str = None
    school_number: Str = None
    state_id: Str = None
    low_grade: Str = None
    high_grade: Str = None


class Section(msgspec.Struct):
    id: Str = None
    school: Str = None
    name: Str = None
    sis_id: Str = None
    section_number: Str = None
    period: Str = None
    grade: Str = None
    subject: Str = None
    course: Str = None
    term_id: Str = None
    teacher: Str = None
    teachers: list[str] | None = None
    students: list[str] | None = None


class Term(msgspec.Struct):
    id: Str = None
    name: Str = None
    start_date: Str = None
    end_date: Str = None


class Course(msgspec.Struct):
    id: Str = None
    name: Str = None
    number: Str = None


class District(msgspec.Struct):
    id: Str = None
    name: Str = None
    state: Str = None
    error: Str = None
    sis_type: Str = None
    pause_start: Str = None
    pause_end: Str = None


class UserItem(msgspec.Struct):
    data: User | None = None


class SchoolItem(msgspec.Struct):
    data: School | None = None


class SectionItem(msgspec.Struct):
    data: Section | None = None


class TermItem(msgspec.Struct):
    data: Term | None = None


class CourseItem(msgspec.Struct):
    data: Course | None = None


class DistrictItem(msgspec.Struct):
    data: District | None = None


class IdOnly(msgspec.Struct):
    id: Str = None


class IdItem(msgspec.Struct):
    """Any item with only its id read: the rest of the JSON is checked but not built."""

    data: IdOnly | None = None


class LooseItem(msgspec.Struct):
    """Any item, to recover what we can (its id) when the typed decode failed."""

    data: Any = None


def loose_id(raw: Buffer) -> str:
    """The id of an item that failed to decode, or "" if even that cannot be read."""
    try:
        item = msgspec.json.decode(raw, type=LooseItem)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        return ""
    if isinstance(item.data, dict):
        value = item.data.get("id")
        if isinstance(value, str):
            return value
    return ""
