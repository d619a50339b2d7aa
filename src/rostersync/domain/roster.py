"""A school's roster as rostersync stores it, and how to build it from source records.

The roster is what a school *should* look like after a sync: the accounts linked to it,
its classes, class memberships and contact links. Building it is pure: the district's
records go in, one ``SchoolRoster`` per school comes out, plus the row problems found on
the way (a section naming a student who does not exist, ...).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import chain, product
from operator import itemgetter
from typing import NamedTuple

from rostersync.domain.records import (
    ContactInfo,
    CourseRecord,
    Role,
    RowProblem,
    SchoolRecord,
    SectionRecord,
    Severity,
    StaffInfo,
    StudentInfo,
    TeacherInfo,
    TermRecord,
    UserRecord,
)

ACCOUNT_ROLES: tuple[Role, ...] = (Role.STUDENT, Role.TEACHER, Role.STAFF, Role.CONTACT)
# The roles as the plain strings the roster holds, read once: an enum's ``.value`` is a
# Python-level property, and the build would otherwise read it for every link.
_ACCOUNT_ROLE_VALUES: tuple[str, ...] = tuple(role.value for role in ACCOUNT_ROLES)
_STUDENT, _TEACHER, _STAFF, _CONTACT = _ACCOUNT_ROLE_VALUES


class Account(NamedTuple):
    """A district-wide SIS-linked account, keyed by the source id.

    A named tuple, like the records it is made from: a build makes one per user of each
    school (millions on a first load of a large district), and a tuple is made and
    compared in C, where a frozen dataclass sets and compares its fields one by one in
    Python (about four times the cost). The fields after ``roles`` are in the order of
    the store's columns (``storage.codec.ACCOUNT_COLUMNS``), so rows are built by slicing."""

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

    def is_empty(self) -> bool:
        """Whether the school holds no row at all (as before its first load)."""
        return not (
            self.links or self.accounts or self.classes or self.memberships or self.contact_links
        )

    def size(self) -> int:
        """Its rows: links, classes, memberships and contact links."""
        return len(self.links) + len(self.classes) + len(self.memberships) + len(self.contact_links)

    def counts(self) -> dict[str, int]:
        """Current counts per entity, as the status and the removal policy see them."""
        per_role = Counter(map(_second, self.links))  # counted in C; a missing role is 0
        per_member_role = Counter(map(_third, self.memberships))
        return {
            "students": per_role[_STUDENT],
            "teachers": per_role[_TEACHER],
            "staff": per_role[_STAFF],
            "contacts": per_role[_CONTACT],
            "classes": len(self.classes),
            "enrollments": per_member_role[_STUDENT],
            "class_teachers": per_member_role[_TEACHER],
            "contact_links": len(self.contact_links),
        }


_second, _third = itemgetter(1), itemgetter(2)
_tuple_new = tuple.__new__


def account_from_user(user: UserRecord) -> Account:
    """The account fields rostersync keeps for a user, whatever their roles."""
    # Unpacked rather than read by name: Python 3.11 reads a named tuple's field through a
    # descriptor it does not specialize (slower than a dataclass slot), and this runs for
    # every user of every school built; unpacking wins part of that back.
    user_id, (first, middle, last), email, student, teacher, staff, contact, _ = user
    sis_id = number = grade = phone = ""
    if student is not None:
        sis_id, number, _, grade, _, _, _ = student
    elif teacher is not None:
        sis_id, number, _, _, _, _ = teacher
    elif staff is not None:
        sis_id = staff.staff_id
    if contact is not None:
        contact_sis_id, phone, _, _ = contact
        sis_id = sis_id or contact_sis_id
    roles = _ACCOUNT_ROLES_OF[
        student is not None, teacher is not None, staff is not None, contact is not None
    ]
    # ``tuple.__new__`` straight: a named tuple's own constructor is a Python function.
    values = (user_id, roles, first, middle, last, email, sis_id, number, grade, phone)
    return _tuple_new(Account, values)


def _account_roles_table() -> dict[tuple[bool, bool, bool, bool], tuple[str, ...]]:
    """An account's roles for each combination of role infos a user can hold, taken from
    ``UserRecord.roles`` itself, so the two cannot drift apart."""
    table: dict[tuple[bool, bool, bool, bool], tuple[str, ...]] = {}
    for student, teacher, staff, contact in product((False, True), repeat=4):
        user = UserRecord(
            "",
            student=StudentInfo() if student else None,
            teacher=TeacherInfo() if teacher else None,
            staff=StaffInfo() if staff else None,
            contact=ContactInfo() if contact else None,
        )
        roles = tuple(r.value for r in user.roles if r in ACCOUNT_ROLES)
        table[student, teacher, staff, contact] = roles
    return table


_ACCOUNT_ROLES_OF = _account_roles_table()


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
    students: dict[str, tuple[str, ...]] = {}
    for user in user_list:
        if user.student is not None:
            students[user.source_id] = _student_schools(user)
        place_user(user, rosters, problems)
    for user in user_list:
        if user.contact is not None:
            place_contact(user, students, rosters, problems)
    for section in sections:
        _place_section(section, rosters, terms or {}, courses or {}, problems)
    return DistrictRosters(schools=school_map, rosters=rosters, problems=problems)


def place_user(
    user: UserRecord, rosters: dict[str, SchoolRoster], problems: list[RowProblem]
) -> None:
    user_id = user.source_id
    account: Account | None = None
    for role, info_schools in _direct_schools(user):
        for school_id in info_schools:
            roster = rosters.get(school_id)
            if roster is None:
                continue  # a school not shared with us (or not in this fetch)
            if account is None:
                account = account_from_user(user)
            roster.accounts[user_id] = account
            roster.links.add((user_id, role))
    if user.teacher is not None and not user.email:
        problems += missing_email_alerts(user)


def missing_email_alerts(user: UserRecord) -> list[RowProblem]:
    """A teacher without an email address: an alert for each of their schools."""
    teacher = user.teacher
    if teacher is None or user.email:
        return []
    return [
        RowProblem(
            Severity.ALERT,
            "teacher",
            user.source_id,
            "missing_email",
            f"Teacher {user.name.display or user.source_id} has no email address, "
            "so they cannot be invited. Add one in the SIS.",
            school_id=school_id,
        )
        for school_id in _with_primary(teacher.schools, teacher.school)
    ]


def _direct_schools(user: UserRecord) -> list[tuple[str, tuple[str, ...]]]:
    """(role, schools) for each role that places a user in schools by itself: student,
    teacher and staff, in that order."""
    out: list[tuple[str, tuple[str, ...]]] = []
    if user.student is not None:
        out.append((_STUDENT, _with_primary(user.student.schools, user.student.school)))
    if user.teacher is not None:
        out.append((_TEACHER, _with_primary(user.teacher.schools, user.teacher.school)))
    if user.staff is not None:
        out.append((_STAFF, user.staff.schools))
    return out


def _student_schools(user: UserRecord) -> tuple[str, ...]:
    student = user.student
    return () if student is None else _with_primary(student.schools, student.school)


def _with_primary(schools: tuple[str, ...], primary: str) -> tuple[str, ...]:
    if primary and primary not in schools:
        return (*schools, primary)
    return schools


def place_contact(
    user: UserRecord,
    schools_of_student: Mapping[str, tuple[str, ...]],
    rosters: dict[str, SchoolRoster],
    problems: list[RowProblem],
) -> None:
    """``schools_of_student``: each student of the fetch and the schools where they are a
    student (worked out once per student, not once per contact link)."""
    assert user.contact is not None
    user_id = user.source_id
    account: Account | None = None
    for rel in user.contact.relationships:
        student_at = schools_of_student.get(rel.student_id)
        if student_at is None:
            problems.append(unknown_student(user_id, rel.student_id))
            continue
        for school_id in student_at:
            roster = rosters.get(school_id)
            if roster is None:
                continue
            if account is None:
                account = account_from_user(user)
            roster.accounts[user_id] = account
            roster.links.add((user_id, _CONTACT))
            roster.contact_links[(user_id, rel.student_id)] = _link_info(rel.relationship, rel.type)


@lru_cache(maxsize=256)
def _link_info(relationship: str, type_: str) -> LinkInfo:
    """One shared (immutable) LinkInfo per relationship and type: a handful of pairs repeat
    on every link, and each object built would be kept in the roster for the GC to scan."""
    return LinkInfo(relationship=relationship, type=type_)


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


# A user's direct roles in a school, as bits (``placement``).
STUDENT_BIT, TEACHER_BIT, STAFF_BIT = 1, 2, 4


def placement(user: UserRecord) -> tuple[list[tuple[str, int]], list[str]]:
    """Where a user belongs: its schools, each with the roles it holds there directly (a
    sum of ``STUDENT_BIT``, ``TEACHER_BIT``, ``STAFF_BIT``: exactly its links of those
    roles in the school's roster), and the students it is a contact of (through whom it
    belongs to their schools)."""
    _, _, _, student, teacher, staff, contact, _ = user  # see account_from_user
    students = [rel.student_id for rel in contact.relationships] if contact is not None else []
    if teacher is None and staff is None:  # most users: a contact, or a student of a school
        if student is None:
            return [], students
        _, _, _, _, primary, schools, _ = student
        if not schools:
            return ([(primary, STUDENT_BIT)] if primary else []), students
        if len(schools) == 1 and (not primary or primary == schools[0]):
            return [(schools[0], STUDENT_BIT)], students
    return _placed_schools(user), students


def _placed_schools(user: UserRecord) -> list[tuple[str, int]]:
    """``placement``'s schools, in general."""
    roles: dict[str, int] = {}
    for role, info_schools in _direct_schools(user):
        bit = _ROLE_BIT[role]
        for school in info_schools:
            roles[school] = roles.get(school, 0) | bit
    return sorted(roles.items())


_ROLE_BIT = {_STUDENT: STUDENT_BIT, _TEACHER: TEACHER_BIT, _STAFF: STAFF_BIT}


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
    roster = SchoolRoster(school_id=school_id)
    problems: list[RowProblem] = []
    user_list = list(users)
    student_here = _place_users_here(roster, user_list, problems)
    for user in user_list:
        if user.contact is not None:
            _place_contact_here(roster, user, student_here)
    problems.extend(unknown)
    rosters = {school_id: roster}
    for section in sections:
        _place_section(section, rosters, terms, courses, problems)
    return roster, problems


def _place_users_here(
    roster: SchoolRoster, users: list[UserRecord], problems: list[RowProblem]
) -> dict[str, bool]:
    """``place_user`` for each user, for the one school of ``roster`` (the same accounts,
    links and problems, in the same order, without the per-user list of role schools);
    returns, for each student, whether they are a student of this school."""
    school_id, accounts, links = roster.school_id, roster.accounts, roster.links
    student_here: dict[str, bool] = {}
    for user in users:
        user_id, _, email, student, teacher, staff, _, _ = user  # see account_from_user
        as_student = False
        if student is not None:
            _, _, _, _, primary, schools, _ = student
            as_student = _lists(schools, primary, school_id)
            student_here[user_id] = as_student
        as_teacher = False
        if teacher is not None:
            _, _, _, _, primary, schools = teacher
            as_teacher = _lists(schools, primary, school_id)
        as_staff = staff is not None and school_id in staff.schools
        if as_student or as_teacher or as_staff:
            accounts[user_id] = account_from_user(user)
            if as_student:
                links.add((user_id, _STUDENT))
            if as_teacher:
                links.add((user_id, _TEACHER))
            if as_staff:
                links.add((user_id, _STAFF))
        if teacher is not None and not email:
            problems += missing_email_alerts(user)
    return student_here


def _lists(schools: tuple[str, ...], primary: str, school_id: str) -> bool:
    """``school_id in _with_primary(schools, primary)``, without building the tuple."""
    return school_id in schools or (bool(primary) and primary == school_id)


def _place_contact_here(
    roster: SchoolRoster, user: UserRecord, student_here: Mapping[str, bool]
) -> None:
    """``place_contact`` for the one school of ``roster``; a link to a student outside the
    fetch makes no problem here (``build_school_roster`` reports those district-wide)."""
    contact = user.contact
    assert contact is not None
    user_id = user.source_id
    account: Account | None = None
    for student_id, relationship, type_ in contact.relationships:  # see account_from_user
        if student_here.get(student_id, False):
            if account is None:
                account = account_from_user(user)
            roster.accounts[user_id] = account
            roster.links.add((user_id, _CONTACT))
            roster.contact_links[(user_id, student_id)] = _link_info(relationship, type_)


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
    roster.classes[section.source_id] = class_info(section, terms, courses)
    section_id, links, memberships = section.source_id, roster.links, roster.memberships
    for role, ids in section_members(section):
        for account_id in ids:
            if (account_id, role) in links:
                memberships.add((section_id, account_id, role))
            else:
                problems.append(dangling(section, role, account_id))


def class_info(
    section: SectionRecord, terms: Mapping[str, TermRecord], courses: Mapping[str, CourseRecord]
) -> ClassInfo:
    """The class a section makes (its term and course by name)."""
    term = terms.get(section.term_id)
    course = courses.get(section.course_id)
    return ClassInfo(
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


def section_members(section: SectionRecord) -> tuple[tuple[str, Iterable[str]], ...]:
    """(role, account ids) of a section's students, then of its teachers (sorted)."""
    teachers = set(section.teacher_ids)
    if section.teacher_id:
        teachers.add(section.teacher_id)
    return ((_STUDENT, section.student_ids), (_TEACHER, sorted(teachers)))


def dangling(section: SectionRecord, role: str, account_id: str) -> RowProblem:
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


@dataclass(slots=True)
class FreshRoster:
    """A school's whole roster for its first load, held in the order it is written.

    The same rows as the ``SchoolRoster`` that ``build_school_roster`` makes from the same
    records (``roster`` gives it), without the sets a diff needs: a first load that is not
    held writes every row as added, so its links are kept as each role's sorted account
    ids and its memberships as a list grouped by class, which is what the store's bulk
    writes take (``storage.roster_plan.plan_fresh``). At R1M that spares 3.26 M link tuples
    and 5.2 M membership tuples put in sets and sorted again.

    - ``accounts``: every account linked to the school, by source id
    - ``links_by_role``: for each role of ``ACCOUNT_ROLES`` that has any, its account ids,
      sorted
    - ``classes``: by class id, in id order
    - ``memberships``: (class id, account id, role), unique, grouped by class in class order
    - ``contact_links``: (contact id, student id) -> relationship and type
    """

    school_id: str
    accounts: dict[str, Account] = field(default_factory=dict)
    links_by_role: dict[str, list[str]] = field(default_factory=dict)
    classes: dict[str, ClassInfo] = field(default_factory=dict)
    memberships: list[tuple[str, str, str]] = field(default_factory=list)
    contact_links: dict[tuple[str, str], LinkInfo] = field(default_factory=dict)

    def is_empty(self) -> bool:
        """Whether the school would hold no row at all."""
        return not (self.links_by_role or self.classes or self.memberships or self.contact_links)

    def counts(self) -> dict[str, int]:
        """``SchoolRoster.counts`` of the same roster."""
        by_role = self.links_by_role
        member_roles = list(map(_third, self.memberships))  # counted in C
        return {
            "students": len(by_role.get(_STUDENT, ())),
            "teachers": len(by_role.get(_TEACHER, ())),
            "staff": len(by_role.get(_STAFF, ())),
            "contacts": len(by_role.get(_CONTACT, ())),
            "classes": len(self.classes),
            "enrollments": member_roles.count(_STUDENT),
            "class_teachers": member_roles.count(_TEACHER),
            "contact_links": len(self.contact_links),
        }

    def size(self) -> int:
        """Its rows: links, classes, memberships and contact links."""
        links = sum(map(len, self.links_by_role.values()))
        return links + len(self.classes) + len(self.memberships) + len(self.contact_links)

    def roster(self) -> SchoolRoster:
        """The same roster as a ``SchoolRoster`` (for a diff, when the store turns out to
        hold rows of the school after all, or when the first load is held)."""
        links = {(a, role) for role, ids in self.links_by_role.items() for a in ids}
        return SchoolRoster(
            school_id=self.school_id,
            accounts=dict(self.accounts),
            links=links,
            classes=dict(self.classes),
            memberships=set(self.memberships),
            contact_links=dict(self.contact_links),
        )

    @classmethod
    def of(cls, roster: SchoolRoster) -> FreshRoster:
        """The fresh form of a roster (the general path of ``build_fresh_roster``)."""
        by_role: dict[str, list[str]] = {}
        for account_id, role in roster.links:
            by_role.setdefault(role, []).append(account_id)
        # The roles in the order a first load writes them, then any other (kept, so the
        # store can refuse it as it refuses it in a change set).
        order = {role: n for n, role in enumerate(_ACCOUNT_ROLE_VALUES)}
        links_by_role = {
            role: sorted(by_role[role]) for role in sorted(by_role, key=lambda r: order.get(r, 99))
        }
        linked = dict.fromkeys(chain.from_iterable(links_by_role.values()))
        return cls(
            school_id=roster.school_id,
            accounts={a: roster.accounts[a] for a in linked if a in roster.accounts},
            links_by_role=links_by_role,
            classes={c: roster.classes[c] for c in sorted(roster.classes)},
            memberships=sorted(roster.memberships, key=_first),  # by class, stable
            contact_links=dict(roster.contact_links),
        )


_first = itemgetter(0)


def build_fresh_roster(
    school_id: str,
    users: Iterable[UserRecord],
    sections: Iterable[SectionRecord],
    terms: Mapping[str, TermRecord],
    courses: Mapping[str, CourseRecord],
    unknown: Iterable[RowProblem] = (),
) -> tuple[FreshRoster, list[RowProblem]]:
    """``build_school_roster`` for a school's first load: the same rows (as a
    ``FreshRoster``) and the same row problems in the same order, tests pin it.

    Users whose ids repeat (never the case from the staging file, whose users are
    unique) take the general build, whose later records win."""
    user_list = list(users)
    if len(set(map(_first, user_list))) != len(user_list):
        roster, general = build_school_roster(
            school_id, user_list, sections, terms, courses, unknown
        )
        return FreshRoster.of(roster), general
    problems: list[RowProblem] = []
    accounts: dict[str, Account] = {}
    students: list[str] = []
    teachers: list[str] = []
    staff_ids: list[str] = []
    student_here: dict[str, bool] = {}
    contact_users: list[tuple[UserRecord, ContactInfo]] = []
    for user in user_list:
        user_id, _, email, student, teacher, staff, contact, _ = user  # see account_from_user
        as_student = False
        if student is not None:
            _, _, _, _, primary, schools, _ = student
            as_student = school_id in schools or (bool(primary) and primary == school_id)
            student_here[user_id] = as_student
        as_teacher = False
        if teacher is not None:
            _, _, _, _, primary, schools = teacher
            as_teacher = school_id in schools or (bool(primary) and primary == school_id)
        as_staff = staff is not None and school_id in staff.schools
        if as_student or as_teacher or as_staff:
            accounts[user_id] = account_from_user(user)
            if as_student:
                students.append(user_id)
            if as_teacher:
                teachers.append(user_id)
            if as_staff:
                staff_ids.append(user_id)
        if teacher is not None and not email:
            problems += missing_email_alerts(user)
        if contact is not None:
            contact_users.append((user, contact))
    contacts: list[str] = []
    contact_links: dict[tuple[str, str], LinkInfo] = {}
    here = student_here.get
    for user, contact in contact_users:
        user_id = user[0]
        linked = False
        for student_id, relationship, type_ in contact.relationships:
            if here(student_id, False):
                contact_links[(user_id, student_id)] = _link_info(relationship, type_)
                linked = True
        if linked:
            contacts.append(user_id)
            accounts[user_id] = account_from_user(user)
    problems.extend(unknown)
    fresh = FreshRoster(school_id=school_id, accounts=accounts, contact_links=contact_links)
    by_role = (students, teachers, staff_ids, contacts)
    for role, ids in zip(_ACCOUNT_ROLE_VALUES, by_role, strict=True):
        if ids:
            ids.sort()  # in order already from the staging file: a pass to check it
            fresh.links_by_role[role] = ids
    members = {_STUDENT: frozenset(students), _TEACHER: frozenset(teachers)}
    _place_sections_fresh(fresh, sections, members, terms, courses, problems)
    return fresh, problems


def _place_sections_fresh(
    fresh: FreshRoster,
    sections: Iterable[SectionRecord],
    members: Mapping[str, frozenset[str]],
    terms: Mapping[str, TermRecord],
    courses: Mapping[str, CourseRecord],
    problems: list[RowProblem],
) -> None:
    """``_place_section`` for each section of the school, into a ``FreshRoster``: classes
    by id, memberships by class. The row problems come in the order of ``sections``."""
    school_id = fresh.school_id
    mine = [section for section in sections if section.school_id == school_id]
    classes: dict[str, ClassInfo] = {}
    by_class: dict[str, list[tuple[str, str, str]]] = {}
    for section in mine:
        section_id = section.source_id
        classes[section_id] = class_info(section, terms, courses)
        rows = by_class.setdefault(section_id, [])
        for role, ids in section_members(section):
            present = members[role]
            for account_id in ids:
                if account_id in present:
                    rows.append((section_id, account_id, role))
                else:
                    problems.append(dangling(section, role, account_id))
    memberships = fresh.memberships
    for class_id in sorted(classes):
        fresh.classes[class_id] = classes[class_id]
        memberships += by_class[class_id]
    if len(set(memberships)) != len(memberships):  # a section listed twice, or a member
        fresh.memberships = list(dict.fromkeys(memberships))
