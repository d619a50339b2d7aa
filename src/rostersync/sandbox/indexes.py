"""Secondary indexes over the sandbox's encoded records, built on first use.

Roles, school memberships, contact links and section memberships are read from the bytes
with small msgspec structs that decode only the fields they need. Each index is built once,
lazily (a 1M-student district pays for it only when an endpoint needs it), then kept in step
by the store: a mutation removes the old record's entries and adds the new record's.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterable
from typing import Any

import msgspec

USER_ROLES: tuple[str, ...] = ("student", "teacher", "staff", "contact", "district_admin")
SCHOOL_ROLES: tuple[str, ...] = ("staff", "student", "teacher")


class _SchoolRole(msgspec.Struct):
    school: str | None = None
    schools: list[str] | None = None


class _Relationship(msgspec.Struct):
    student: str | None = None


class _Contact(msgspec.Struct):
    student_relationships: list[_Relationship] | None = None


class _Roles(msgspec.Struct):
    student: _SchoolRole | None = None
    teacher: _SchoolRole | None = None
    staff: _SchoolRole | None = None
    contact: _Contact | None = None
    district_admin: Any = None


class LightUser(msgspec.Struct):
    """The fields of a user record the indexes need."""

    id: str
    roles: _Roles | None = None

    def role_names(self) -> list[str]:
        if self.roles is None:
            return []
        return [role for role in USER_ROLES if getattr(self.roles, role) is not None]

    def school_role(self, role: str) -> _SchoolRole | None:
        if self.roles is None or role not in SCHOOL_ROLES:
            return None
        value = getattr(self.roles, role)
        return value if isinstance(value, _SchoolRole) else None

    def schools(self) -> tuple[str, ...]:
        """Every school the user belongs to directly (contacts belong through students)."""
        found: set[str] = set()
        for role in SCHOOL_ROLES:
            part = self.school_role(role)
            if part is not None:
                found.update(part.schools or ())
                if part.school:
                    found.add(part.school)
        return tuple(sorted(found))

    def primary_schools(self) -> tuple[str, ...]:
        """The primary schools (``school``) of the student and teacher roles."""
        found = {
            part.school
            for role in ("student", "teacher")
            if (part := self.school_role(role)) is not None and part.school
        }
        return tuple(sorted(found))

    def students(self) -> list[str]:
        """The students a contact is related to, in the order listed, without repeats."""
        if self.roles is None or self.roles.contact is None:
            return []
        links = self.roles.contact.student_relationships or []
        return list(dict.fromkeys(link.student for link in links if link.student))


class LightSection(msgspec.Struct):
    """The fields of a section record the indexes need."""

    id: str
    school: str | None = None
    teacher: str | None = None
    teachers: list[str] | None = None
    students: list[str] | None = None

    def teacher_ids(self) -> list[str]:
        found = list(self.teachers or ())
        if self.teacher and self.teacher not in found:
            found.insert(0, self.teacher)
        return found


user_decoder = msgspec.json.Decoder(LightUser)
section_decoder = msgspec.json.Decoder(LightSection)


def add_sorted(values: list[str], value: str) -> None:
    """Insert ``value`` into a sorted list unless present."""
    at = bisect_left(values, value)
    if at == len(values) or values[at] != value:
        insort(values, value, lo=at)


def discard_sorted(values: list[str], value: str) -> None:
    """Remove ``value`` from a sorted list if present."""
    at = bisect_left(values, value)
    if at < len(values) and values[at] == value:
        del values[at]


def _add_member(values: list[str], value: str, bulk: bool) -> None:
    """Append during a bulk build (ids arrive ascending), insert in order afterwards."""
    if bulk:
        if not values or values[-1] != value:
            values.append(value)
    else:
        add_sorted(values, value)


class RoleIndex:
    """User ids per role, each list in ascending id order (``/users?role=``)."""

    def __init__(self, blobs: Iterable[bytes]) -> None:
        self.by_role: dict[str, list[str]] = {role: [] for role in USER_ROLES}
        for blob in blobs:
            user = user_decoder.decode(blob)
            for role in user.role_names():
                self.by_role[role].append(user.id)
        for ids in self.by_role.values():
            if any(ids[i] >= ids[i + 1] for i in range(len(ids) - 1)):
                ids.sort()

    def add(self, user: LightUser) -> None:
        for role in user.role_names():
            add_sorted(self.by_role[role], user.id)

    def discard(self, user: LightUser) -> None:
        for role in user.role_names():
            discard_sorted(self.by_role[role], user.id)


class LinkIndex:
    """The members of each school (per role) and the contacts of each student.

    Kept lean for 3.3M users: anything about one user (its schools, a contact's students)
    is read from that user's record when needed instead.
    """

    def __init__(self, blobs: Iterable[bytes]) -> None:
        self.by_school: dict[str, dict[str, list[str]]] = {}
        self.contacts_of: dict[str, list[str]] = {}
        for blob in blobs:
            self._link(user_decoder.decode(blob), bulk=True)
        self._sort_if_needed()

    def school_members(self, school_id: str, role: str) -> list[str]:
        return self.by_school.get(school_id, {}).get(role, [])

    def add(self, user: LightUser) -> None:
        self._link(user, bulk=False)

    def _link(self, user: LightUser, bulk: bool) -> None:
        roles = user.roles
        if roles is None:
            return
        for role in SCHOOL_ROLES:
            part = getattr(roles, role)
            if part is None:
                continue
            per_role = self.by_school.setdefault
            for school in _role_schools(part):
                _add_member(per_role(school, {}).setdefault(role, []), user.id, bulk)
        if roles.contact is not None:
            for link in roles.contact.student_relationships or ():
                if link.student:
                    _add_member(self.contacts_of.setdefault(link.student, []), user.id, bulk)

    def _sort_if_needed(self) -> None:
        """Hand-written files may list users out of id order; keep every list sorted."""
        lists = [members for per_role in self.by_school.values() for members in per_role.values()]
        for values in [*lists, *self.contacts_of.values()]:
            if any(values[i] >= values[i + 1] for i in range(len(values) - 1)):
                values[:] = sorted(set(values))

    def discard(self, user: LightUser) -> None:
        for role in SCHOOL_ROLES:
            part = user.school_role(role)
            if part is None:
                continue
            for school in _role_schools(part):
                discard_sorted(self.by_school.get(school, {}).get(role, []), user.id)
        for student in user.students():
            discard_sorted(self.contacts_of.get(student, []), user.id)


def _role_schools(part: _SchoolRole) -> list[str]:
    schools = list(part.schools or ())
    if part.school and part.school not in schools:
        schools.append(part.school)
    return schools


class SectionIndex:
    """Sections per school and per member (student or teacher), ids ascending."""

    def __init__(self, blobs: Iterable[bytes]) -> None:
        self.by_school: dict[str, list[str]] = {}
        self.by_member: dict[str, list[str]] = {}
        for blob in blobs:
            self._link(section_decoder.decode(blob), bulk=True)
        for values in [*self.by_school.values(), *self.by_member.values()]:
            if any(values[i] >= values[i + 1] for i in range(len(values) - 1)):
                values[:] = sorted(set(values))

    def add(self, section: LightSection) -> None:
        self._link(section, bulk=False)

    def _link(self, section: LightSection, bulk: bool) -> None:
        if section.school:
            _add_member(self.by_school.setdefault(section.school, []), section.id, bulk)
        for member in {*(section.students or ()), *section.teacher_ids()}:
            _add_member(self.by_member.setdefault(member, []), section.id, bulk)

    def discard(self, section: LightSection) -> None:
        if section.school:
            discard_sorted(self.by_school.get(section.school, []), section.id)
        for member in {*(section.students or ()), *section.teacher_ids()}:
            discard_sorted(self.by_member.get(member, []), section.id)
