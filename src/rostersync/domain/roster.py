"""A school's roster as rostersync stores it, and how to build it from source records.

The roster is what a school *should* look like after a sync: the accounts linked to it,
its classes, class memberships and contact links. Building it is pure: the district's
records go in, one ``SchoolRoster`` per school comes out, plus the row problems found on
the way (a section naming a student who does not exist, ...).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from rostersync.domain.records import (
    CourseRecord,
    Role,
    RowProblem,
    SchoolRecord,
    SectionRecord,
    Severity,
    TermRecord,
    UserRecord,
)

ACCOUNT_ROLES: tuple[Role, ...] = (Role.STUDENT, Role.TEACHER, Role.STAFF, Role.CONTACT)


@dataclass(frozen=True, slots=True)
class Account:
    """A district-wide SIS-linked account, keyed by the source id."""

    source_id: str
    roles: tuple[str, ...]
    first_name: str = ""
    middle_name: str = ""
    last_name: str = ""
    email: str = ""
    sis_id: str = ""
    number: str = ""
    grade: str = ""
    phone: str = ""

    @property
    def display_name(self) -> str:
        return " ".join(p for p in (self.first_name, self.middle_name, self.last_name) if p)


@dataclass(frozen=True, slots=True)
class ClassInfo:
    """A class, made from a section."""

    source_id: str
    name: str
    subject: str = ""
    period: str = ""
    grade: str = ""
    section_number: str = ""
    sis_id: str = ""
    term: str = ""
    course: str = ""


@dataclass(frozen=True, slots=True)
class LinkInfo:
    """A contact-to-student link's attributes."""

    relationship: str = ""
    type: str = ""


@dataclass(slots=True)
class SchoolRoster:
    """Everything one school holds. Keys are source ids, so diffs are keyed and ordered.

    - ``links``: (account id, role) pairs tying accounts to the school
    - ``memberships``: (class id, account id, role) with role ``student`` or ``teacher``
    - ``contact_links``: (contact id, student id) -> relationship and type
    """

    school_id: str
    accounts: dict[str, Account] = field(default_factory=dict)
    links: set[tuple[str, str]] = field(default_factory=set)
    classes: dict[str, ClassInfo] = field(default_factory=dict)
    memberships: set[tuple[str, str, str]] = field(default_factory=set)
    contact_links: dict[tuple[str, str], LinkInfo] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        """Current counts per entity, as the status and the removal policy see them."""
        per_role = {role.value: 0 for role in ACCOUNT_ROLES}
        for _, role in self.links:
            per_role[role] = per_role.get(role, 0) + 1
        return {
            "students": per_role["student"],
            "teachers": per_role["teacher"],
            "staff": per_role["staff"],
            "contacts": per_role["contact"],
            "classes": len(self.classes),
            "enrollments": sum(1 for m in self.memberships if m[2] == "student"),
            "class_teachers": sum(1 for m in self.memberships if m[2] == "teacher"),
            "contact_links": len(self.contact_links),
        }


def account_from_user(user: UserRecord) -> Account:
    """The account fields rostersync keeps for a user, whatever their roles."""
    sis_id = number = grade = phone = ""
    if user.student is not None:
        sis_id, number, grade = user.student.sis_id, user.student.student_number, user.student.grade
    elif user.teacher is not None:
        sis_id, number = user.teacher.sis_id, user.teacher.teacher_number
    elif user.staff is not None:
        sis_id = user.staff.staff_id
    if user.contact is not None:
        phone = user.contact.phone
        sis_id = sis_id or user.contact.sis_id
    roles = tuple(r.value for r in user.roles if r in ACCOUNT_ROLES)
    return Account(
        source_id=user.source_id,
        roles=roles,
        first_name=user.name.first,
        middle_name=user.name.middle,
        last_name=user.name.last,
        email=user.email,
        sis_id=sis_id,
        number=number,
        grade=grade,
        phone=phone,
    )


@dataclass(slots=True)
class DistrictRosters:
    """The result of building every school's roster from one district fetch."""

    schools: dict[str, SchoolRecord]
    rosters: dict[str, SchoolRoster]
    problems: list[RowProblem]


def build_rosters(
    schools: Iterable[SchoolRecord],
    users: Iterable[UserRecord],
    sections: Iterable[SectionRecord],
    terms: Mapping[str, TermRecord] | None = None,
    courses: Mapping[str, CourseRecord] | None = None,
) -> DistrictRosters:
    """Split a district's records into one roster per school."""
    school_map = {s.source_id: s for s in schools}
    rosters = {sid: SchoolRoster(school_id=sid) for sid in school_map}
    problems: list[RowProblem] = []
    user_list = list(users)
    students: dict[str, UserRecord] = {}
    for user in user_list:
        if user.student is not None:
            students[user.source_id] = user
        _place_user(user, rosters, problems)
    for user in user_list:
        if user.contact is not None:
            _place_contact(user, students, rosters, problems)
    for section in sections:
        _place_section(section, rosters, terms or {}, courses or {}, problems)
    return DistrictRosters(schools=school_map, rosters=rosters, problems=problems)


def _place_user(
    user: UserRecord, rosters: dict[str, SchoolRoster], problems: list[RowProblem]
) -> None:
    account: Account | None = None
    for role, info_schools in (
        (Role.STUDENT, _schools_of(user, Role.STUDENT)),
        (Role.TEACHER, _schools_of(user, Role.TEACHER)),
        (Role.STAFF, _schools_of(user, Role.STAFF)),
    ):
        for school_id in info_schools:
            roster = rosters.get(school_id)
            if roster is None:
                continue  # a school not shared with us (or not in this fetch)
            account = account or account_from_user(user)
            roster.accounts[user.source_id] = account
            roster.links.add((user.source_id, role.value))
    if user.teacher is not None and not user.email:
        for school_id in _schools_of(user, Role.TEACHER):
            problems.append(
                RowProblem(
                    Severity.ALERT,
                    "teacher",
                    user.source_id,
                    "missing_email",
                    f"Teacher {user.name.display or user.source_id} has no email address, "
                    "so they cannot be invited. Add one in the SIS.",
                    school_id=school_id,
                )
            )


def _schools_of(user: UserRecord, role: Role) -> tuple[str, ...]:
    if role is Role.STUDENT and user.student is not None:
        return _with_primary(user.student.schools, user.student.school)
    if role is Role.TEACHER and user.teacher is not None:
        return _with_primary(user.teacher.schools, user.teacher.school)
    if role is Role.STAFF and user.staff is not None:
        return user.staff.schools
    return ()


def _with_primary(schools: tuple[str, ...], primary: str) -> tuple[str, ...]:
    if primary and primary not in schools:
        return (*schools, primary)
    return schools


def _place_contact(
    user: UserRecord,
    students: Mapping[str, UserRecord],
    rosters: dict[str, SchoolRoster],
    problems: list[RowProblem],
) -> None:
    assert user.contact is not None
    account = account_from_user(user)
    for rel in user.contact.relationships:
        student = students.get(rel.student_id)
        if student is None:
            problems.append(unknown_student(user.source_id, rel.student_id))
            continue
        for school_id in _schools_of(student, Role.STUDENT):
            roster = rosters.get(school_id)
            if roster is None:
                continue
            roster.accounts[user.source_id] = account
            roster.links.add((user.source_id, Role.CONTACT.value))
            roster.contact_links[(user.source_id, rel.student_id)] = LinkInfo(
                relationship=rel.relationship, type=rel.type
            )


def unknown_student(contact_id: str, student_id: str) -> RowProblem:
    """The error for a contact link naming a student who is not in the shared data."""
    return RowProblem(
        Severity.ERROR,
        "contact_link",
        contact_id,
        "unknown_student",
        f"Contact {contact_id} names student {student_id}, who is not in "
        "the data shared with us; the link was skipped. Check the data share.",
    )


def placement(user: UserRecord) -> tuple[list[tuple[str, bool]], list[str]]:
    """Where a user belongs: its schools (and whether as a student there), and the students
    it is a contact of (through whom it belongs to their schools)."""
    student_at = set(_schools_of(user, Role.STUDENT))
    schools = set(student_at)
    schools.update(_schools_of(user, Role.TEACHER), _schools_of(user, Role.STAFF))
    students = [rel.student_id for rel in user.contact.relationships] if user.contact else []
    return [(s, s in student_at) for s in sorted(schools)], students


def build_school_roster(
    school_id: str,
    users: Iterable[UserRecord],
    sections: Iterable[SectionRecord],
    terms: Mapping[str, TermRecord],
    courses: Mapping[str, CourseRecord],
    unknown: Iterable[RowProblem] = (),
) -> tuple[SchoolRoster, list[RowProblem]]:
    """One school's roster from its own records: its students, teachers and staff, their
    contacts and its sections. Gives what ``build_rosters`` gives for that school; the
    contact links to students outside the fetch (``unknown``) are judged district-wide."""
    rosters = {school_id: SchoolRoster(school_id=school_id)}
    problems: list[RowProblem] = []
    user_list = list(users)
    students = {u.source_id: u for u in user_list if u.student is not None}
    for user in user_list:
        _place_user(user, rosters, problems)
    local: list[RowProblem] = []
    for user in user_list:
        if user.contact is not None:
            _place_contact(user, students, rosters, local)  # links to other schools' students
    problems.extend(unknown)
    for section in sections:
        _place_section(section, rosters, terms, courses, problems)
    return rosters[school_id], problems


def _place_section(
    section: SectionRecord,
    rosters: dict[str, SchoolRoster],
    terms: Mapping[str, TermRecord],
    courses: Mapping[str, CourseRecord],
    problems: list[RowProblem],
) -> None:
    roster = rosters.get(section.school_id)
    if roster is None:
        return
    term = terms.get(section.term_id)
    course = courses.get(section.course_id)
    roster.classes[section.source_id] = ClassInfo(
        source_id=section.source_id,
        name=section.name,
        subject=section.subject,
        period=section.period,
        grade=section.grade,
        section_number=section.section_number,
        sis_id=section.sis_id,
        term=term.name if term is not None else "",
        course=course.name if course is not None else "",
    )
    teachers = set(section.teacher_ids)
    if section.teacher_id:
        teachers.add(section.teacher_id)
    for role, ids in (("student", section.student_ids), ("teacher", sorted(teachers))):
        for account_id in ids:
            if (account_id, role) not in roster.links:
                problems.append(_dangling(section, role, account_id))
                continue
            roster.memberships.add((section.source_id, account_id, role))


def _dangling(section: SectionRecord, role: str, account_id: str) -> RowProblem:
    return RowProblem(
        Severity.ERROR,
        "enrollment",
        section.source_id,
        "unknown_member",
        f"Section {section.name!r} ({section.source_id}) lists {role} {account_id}, who is "
        "not a "
        f"{role} of this school in the shared data; that membership was skipped.",
        school_id=section.school_id,
    )
