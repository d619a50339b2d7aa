"""A small district held in memory, served as a ``RosterSource``, and the hypothesis
strategies that draw one and the sequence of states it goes through (for
``test_partial_diff.py``).

A user's raw item is the msgspec encoding of a ``UserItem``; ``map_user`` decodes it into
a ``UserRecord`` (as Clever's mapping would) with its mapping problems: an alert for a
flagged item, ``missing_email`` for a teacher without email, ``no_role`` for a user with no
role, and an error (no record) for an item flagged ``broken``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import msgspec
import xxhash
from hypothesis import strategies as st

from rostersync.domain.policy import Policy
from rostersync.domain.records import (
    ChunkKey,
    ContactInfo,
    CourseRecord,
    DistrictRecord,
    PageKey,
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
from rostersync.errors import TransientSourceError

PAGE_SIZE = 4


Listed = RawItem | SectionRecord | RowProblem


@dataclass
class ListChunk:
    """The ``ItemChunk`` port over a list of items (raw users, or sections); ``order``
    holds the last id read."""

    listed: list[Any]
    key: ChunkKey
    order: list[str]

    def follows(self, first_id: str) -> bool:
        return first_id > self.order[0]

    def items(self) -> Iterator[Any]:
        for item in self.listed:
            if not isinstance(item, RowProblem):
                self.order[0] = max(self.order[0], item.source_id)
            yield item

    def skip(self, first_id: str, last_id: str) -> None:
        assert self.follows(first_id)
        self.order[0] = max(self.order[0], last_id)


@dataclass
class ListPage:
    """The ``ItemPage`` port over a list of items, in chunks of two."""

    listed: list[Any]
    key: PageKey | None
    order: list[str]

    def items(self) -> Iterator[Any]:
        for chunk in self.chunks():
            yield from chunk.items()

    def skip(self) -> None:
        assert self.key is not None
        self.order[0] = max(self.order[0], self.key.last_id)

    def chunks(self) -> Iterator[ListChunk]:
        for start in range(0, len(self.listed), 2):
            part = self.listed[start : start + 2]
            raws = [_raw(item) for item in part]
            digest = xxhash.xxh3_128_hexdigest(b"\n".join(raws))
            yield ListChunk(part, ChunkKey(digest, len(part)), self.order)


def _raw(item: Listed) -> bytes:
    return item.raw if isinstance(item, RawItem) else repr(item).encode()


def _pages(listed: list[Any], order: list[str]) -> Iterator[ListPage]:
    """Pages of ``PAGE_SIZE`` records, keyed."""
    for start in range(0, len(listed), PAGE_SIZE):
        part = listed[start : start + PAGE_SIZE]
        digest = xxhash.xxh3_128_digest(b"\n".join(_raw(item) for item in part))
        key = PageKey(part[0].source_id, part[-1].source_id, len(part), digest)
        yield ListPage(part, key, order)


SCHOOLS = ("sch1", "sch2", "sch3")
USER_IDS = [f"u{n:02d}" for n in range(40)]
SECTION_IDS = [f"c{n:02d}" for n in range(16)]
TERM_IDS = ("t1", "t2", "t3")
COURSE_IDS = ("k1", "k2")
UNKNOWN_STUDENTS = ("x90", "x91")  # never users: a contact naming them names nobody
RELATIONSHIPS = ("Parent", "Grandparent", "Other", "")
# Mostly harmless types; the blocked ones (Emergency, Secondary) now and then.
TYPES = ("Parent/Guardian",) * 6 + ("Primary", "Family", "", "Parent", "Emergency", "Secondary")
SAFE_TYPES = ("Parent/Guardian", "Primary", "Family", "", "Parent")
FIRST_NAMES = ("Ana", "Ben", "Chloe", "Dev", "")
KINDS = (
    ("student",) * 6
    + ("teacher",) * 2
    + ("staff", "contact", "contact", "contact")
    + ("teacher+contact", "student+contact", "staff+teacher", "nobody")
)


class UserItem(msgspec.Struct, frozen=True, omit_defaults=True):
    """A user as the in-memory source sends it. School lists have the primary school first."""

    id: str
    first: str = ""
    last: str = ""
    email: str = ""
    grade: str = ""
    phone: str = ""
    student: tuple[str, ...] | None = None
    teacher: tuple[str, ...] | None = None
    staff: tuple[str, ...] | None = None
    # (student id, relationship, type)
    contact: tuple[tuple[str, str, str], ...] | None = None
    flag: str = ""  # "", "alert" (a mapping alert) or "broken" (cannot be mapped)

    def primary_school(self) -> str:
        for schools in (self.student, self.teacher):
            if schools:
                return schools[0]
        return min(self.staff) if self.staff else ""


_DECODE = msgspec.json.Decoder(UserItem)


def map_item(raw: bytes, problems: list[RowProblem]) -> UserRecord | None:
    """The record of a raw item, deterministically, with its mapping problems."""
    item = _DECODE.decode(raw)
    school = item.primary_school()
    if item.flag == "broken":
        problems.append(
            RowProblem(Severity.ERROR, "user", item.id, "unreadable", "Cannot map.", school)
        )
        return None
    record = UserRecord(
        source_id=item.id,
        name=PersonName(first=item.first, last=item.last),
        email=item.email,
        student=(
            StudentInfo(
                sis_id=f"S-{item.id}",
                grade=item.grade,
                school=item.student[0],
                schools=tuple(sorted(item.student)),
            )
            if item.student
            else None
        ),
        teacher=(
            TeacherInfo(
                sis_id=f"T-{item.id}", school=item.teacher[0], schools=tuple(sorted(item.teacher))
            )
            if item.teacher
            else None
        ),
        staff=StaffInfo(staff_id=f"F-{item.id}", schools=tuple(sorted(item.staff)))
        if item.staff
        else None,
        contact=(
            ContactInfo(
                phone=item.phone,
                relationships=tuple(
                    sorted(
                        {StudentRelationship(s, r, t) for s, r, t in item.contact},
                        key=lambda rel: (rel.student_id, rel.relationship, rel.type),
                    )
                ),
            )
            if item.contact is not None
            else None
        ),
    )
    if item.flag == "alert":
        problems.append(
            RowProblem(Severity.ALERT, "user", item.id, "odd_value", f"{item.id} is odd.", school)
        )
    if not record.roles:
        problems.append(RowProblem(Severity.ALERT, "user", item.id, "no_role", "No role.", school))
    if record.teacher is not None and not record.email:
        problems.append(
            RowProblem(Severity.ALERT, "user", item.id, "missing_email", "No email.", school)
        )
    return record


@dataclass(frozen=True, repr=False)
class World:
    """One state of the district as its source shares it."""

    users: dict[str, UserItem]
    sections: dict[str, SectionRecord]
    terms: dict[str, TermRecord]
    courses: dict[str, CourseRecord]
    schools: tuple[str, ...] = SCHOOLS  # the schools shared with the app
    bad_items: tuple[RowProblem, ...] = ()  # user items the source could not read
    policy: Policy = field(default_factory=Policy)
    fails: bool = False  # the fetch breaks half-way through the users (a transient failure)

    def lines(self) -> dict[str, str]:
        """One line per record (and per setting), keyed: for a compact report."""
        out = {"schools": f"shared schools {self.schools}", "policy": repr(self.policy)}
        out["bad_items"] = f"unreadable user items: {len(self.bad_items)}"
        out["fails"] = f"the fetch fails half-way: {self.fails}"
        for term in self.terms.values():
            out[term.source_id] = f"term {term.source_id} named {term.name!r}"
        for course in self.courses.values():
            out[course.source_id] = f"course {course.source_id} named {course.name!r}"
        for user_id, item in sorted(self.users.items()):
            out[user_id] = msgspec.json.encode(item).decode()
        for section_id, sec in sorted(self.sections.items()):
            out[section_id] = (
                f"section {section_id} at {sec.school_id} term={sec.term_id!r} "
                f"course={sec.course_id!r} teachers={sec.teacher_ids} students={sec.student_ids}"
            )
        return out

    def __repr__(self) -> str:
        return "\n".join(self.lines().values())

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))

    def students(self) -> list[str]:
        return sorted(u.id for u in self.users.values() if u.student)

    def members(self, school: str, role: str) -> list[str]:
        return sorted(u.id for u in self.users.values() if school in (getattr(u, role) or ()))


class MemorySource:
    """The ``RosterSource`` port over a ``World``."""

    def __init__(self, world: World) -> None:
        self.world = world

    @property
    def requests_made(self) -> int:
        return 1

    def district(self) -> DistrictRecord:
        return DistrictRecord("d1", "Memory district")

    def schools(self) -> Iterator[SchoolRecord | RowProblem]:
        for school in sorted(self.world.schools):
            yield SchoolRecord(school, f"School {school}")

    def user_pages(self, mapped: bool = False) -> Iterator[ListPage]:
        """Pages of four users (the first also holds the bad items, and has no key); a
        failing world fails halfway through the list."""
        ids = sorted(self.world.users)
        order = [""]
        for start in range(0, max(len(ids), 1), PAGE_SIZE):
            if self.world.fails and start >= len(ids) // 2:
                raise TransientSourceError("Users page 2 failed after retries.", 503, "/users")
            chunk = ids[start : start + PAGE_SIZE]
            raws = [msgspec.json.encode(self.world.users[user_id]) for user_id in chunk]
            items: list[RawItem | RowProblem] = [
                RawItem(u, r) for u, r in zip(chunk, raws, strict=True)
            ]
            if start == 0:
                yield ListPage([*self.world.bad_items, *items], None, order)
            else:
                digest = xxhash.xxh3_128_digest(b"".join(raws))
                yield ListPage(items, PageKey(chunk[0], chunk[-1], len(chunk), digest), order)

    def users(self) -> Iterator[UserRecord | RowProblem]:
        for page in self.user_pages():
            for item in page.items():
                if isinstance(item, RowProblem):
                    yield item
                    continue
                problems: list[RowProblem] = []
                record = self.map_user(item.raw, problems)
                yield from problems
                if record is not None:
                    yield record

    def map_user(self, raw: bytes, problems: list[RowProblem]) -> UserRecord | None:
        return map_item(raw, problems)

    def sections(self) -> Iterator[SectionRecord | RowProblem]:
        for section_id in sorted(self.world.sections):
            yield self.world.sections[section_id]

    def section_pages(self) -> Iterator[ListPage]:
        """``sections``, pages of four."""
        return _pages(list(self.sections()), [""])

    def terms(self) -> Iterator[TermRecord | RowProblem]:
        for term_id in sorted(self.world.terms):
            yield self.world.terms[term_id]

    def courses(self) -> Iterator[CourseRecord | RowProblem]:
        for course_id in sorted(self.world.courses):
            yield self.world.courses[course_id]

    def close(self) -> None:
        pass


class Feed:
    """The source factory of a test: every source it makes serves the current ``world``."""

    def __init__(self, world: World) -> None:
        self.world = world

    def __call__(self, base_url: str, token: str) -> MemorySource:
        return MemorySource(self.world)


# --- strategies -------------------------------------------------------------------------


def _schools(draw: st.DrawFn, most: int = 2) -> tuple[str, ...]:
    return tuple(draw(st.lists(st.sampled_from(SCHOOLS), min_size=1, max_size=most, unique=True)))


Link = tuple[str, str, str]  # (student id, relationship, type)


def _links(draw: st.DrawFn, students: list[str], types: tuple[str, ...]) -> tuple[Link, ...]:
    """1-7 relationships: mostly known students, sometimes unknown ones or non-students;
    now and then the same student twice (with another type), as a source may send."""
    pool = [*students, *UNKNOWN_STUDENTS, USER_IDS[0]] if students else list(UNKNOWN_STUDENTS)
    weighted = students * 4 + pool if students else pool
    count = draw(st.integers(1, 7))
    return tuple(
        (
            draw(st.sampled_from(weighted)),
            draw(st.sampled_from(RELATIONSHIPS)),
            draw(st.sampled_from(types)),
        )
        for _ in range(count)
    )


def _user(draw: st.DrawFn, user_id: str, kind: str, world_students: list[str]) -> UserItem:
    roles = set(kind.split("+"))
    teacher = "teacher" in roles
    return UserItem(
        id=user_id,
        first=draw(st.sampled_from(FIRST_NAMES)),
        last=f"L{user_id}",
        email="" if teacher and draw(st.integers(0, 3)) == 0 else f"{user_id}@x.example",
        grade=draw(st.sampled_from(("3", "4", "5"))),
        phone=draw(st.sampled_from(("", "555-0100"))),
        student=_schools(draw) if "student" in roles else None,
        teacher=_schools(draw) if teacher else None,
        staff=_schools(draw) if "staff" in roles else None,
        contact=(
            _links(draw, [s for s in world_students if s != user_id], SAFE_TYPES)
            if "contact" in roles
            else None
        ),
        flag=draw(st.sampled_from(("",) * 8 + ("alert", "broken"))),
    )


def _section(draw: st.DrawFn, section_id: str, world: World) -> SectionRecord:
    school = draw(st.sampled_from(SCHOOLS))
    students = world.members(school, "student")
    teachers = world.members(school, "teacher")
    listed = draw(st.lists(st.sampled_from(students), max_size=6, unique=True)) if students else []
    if draw(st.integers(0, 3)) == 0:  # a dangling member: not a student of this school
        listed.append(draw(st.sampled_from(USER_IDS)))
    teacher_ids = []
    if teachers:
        teacher_ids = draw(st.lists(st.sampled_from(teachers), max_size=2, unique=True))
    if draw(st.integers(0, 5)) == 0:
        teacher_ids.append(draw(st.sampled_from(USER_IDS)))
    return SectionRecord(
        source_id=section_id,
        school_id=school,
        name=f"Section {section_id}",
        period=draw(st.sampled_from(("1", "2"))),
        course_id=draw(st.sampled_from((*COURSE_IDS, "", "k9"))),
        term_id=draw(st.sampled_from((*TERM_IDS, "", "t9"))),
        teacher_ids=tuple(sorted(set(teacher_ids))),
        student_ids=tuple(sorted(set(listed))),
    )


@st.composite
def policies(draw: st.DrawFn) -> Policy:
    return Policy(
        removal_pct=draw(st.sampled_from((10.0, 30.0))),
        removal_min=draw(st.sampled_from((2, 4, 10))),
        removal_total=draw(st.sampled_from((500, 25))),
        max_contacts=draw(st.sampled_from((5, 3))),
    )


@st.composite
def worlds(draw: st.DrawFn) -> World:
    """A first state: ~30 users of every kind over 3 schools, sections, terms, courses."""
    count = draw(st.integers(3, 30))  # ~30 (shrinks to a few)
    ids = sorted(
        draw(st.lists(st.sampled_from(USER_IDS[:34]), min_size=count, max_size=count, unique=True))
    )
    kinds = {user_id: draw(st.sampled_from(KINDS)) for user_id in ids}
    students = [u for u, k in kinds.items() if "student" in k]
    users = {u: _user(draw, u, k, students) for u, k in kinds.items()}
    world = World(
        users=users,
        sections={},
        terms={t: TermRecord(t, f"Term {t}") for t in TERM_IDS},
        courses={c: CourseRecord(c, f"Course {c}") for c in COURSE_IDS},
        policy=draw(policies()),
    )
    count = draw(st.integers(1, 8))
    section_ids = draw(
        st.lists(st.sampled_from(SECTION_IDS[:10]), min_size=count, max_size=count, unique=True)
    )
    return replace(world, sections={s: _section(draw, s, world) for s in sorted(section_ids)})


# The edits that lead from one state to the next, each a function of (draw, world).


def _pick_user(draw: st.DrawFn, world: World, role: str | None = None) -> UserItem | None:
    pool = sorted(u.id for u in world.users.values() if role is None or getattr(u, role))
    return world.users[draw(st.sampled_from(pool))] if pool else None


def _with_user(world: World, item: UserItem) -> World:
    return replace(world, users={**world.users, item.id: item})


def edit_fields(draw: st.DrawFn, world: World) -> World:
    item = _pick_user(draw, world)
    if item is None:
        return world
    what = draw(st.sampled_from(("first", "email", "grade", "phone", "flag")))
    values = {
        "first": FIRST_NAMES,
        "email": ("", f"{item.id}@y.example"),
        "grade": ("3", "6"),
        "phone": ("", "555-0199"),
        "flag": ("", "alert", "broken"),
    }[what]
    return _with_user(world, msgspec.structs.replace(item, **{what: draw(st.sampled_from(values))}))


def move_student(draw: st.DrawFn, world: World) -> World:
    item = _pick_user(draw, world, "student")
    if item is None:
        return world
    return _with_user(world, msgspec.structs.replace(item, student=_schools(draw)))


def remove_users(draw: st.DrawFn, world: World) -> World:
    gone = set(draw(st.lists(st.sampled_from(sorted(world.users)), min_size=1, max_size=3)))
    return replace(world, users={u: i for u, i in world.users.items() if u not in gone})


def add_users(draw: st.DrawFn, world: World) -> World:
    free = [u for u in USER_IDS if u not in world.users]
    if not free:
        return world
    added = draw(st.lists(st.sampled_from(free), min_size=1, max_size=3, unique=True))
    users = dict(world.users)
    for user_id in added:
        users[user_id] = _user(draw, user_id, draw(st.sampled_from(KINDS)), world.students())
    return replace(world, users=users)


def edit_links(draw: st.DrawFn, world: World) -> World:
    item = _pick_user(draw, world, "contact")
    if item is None or item.contact is None:
        return world
    links = list(item.contact)
    how = draw(st.sampled_from(("retype", "replace", "add", "drop")))
    if how == "retype":
        i = draw(st.integers(0, len(links) - 1))
        student = links[i][0]
        links[i] = (student, draw(st.sampled_from(RELATIONSHIPS)), draw(st.sampled_from(TYPES)))
    elif how == "replace":
        links = list(_links(draw, world.students(), TYPES))
    elif how == "add":
        links += _links(draw, world.students(), TYPES)[:2]
    elif len(links) > 1:
        links.pop(draw(st.integers(0, len(links) - 1)))
    return _with_user(world, msgspec.structs.replace(item, contact=tuple(links)))


def block_link(draw: st.DrawFn, world: World) -> World:
    """A contact link becomes Emergency or Secondary, or a blocked one is cleared."""
    item = _pick_user(draw, world, "contact")
    if item is None or not item.contact:
        return world
    i = draw(st.integers(0, len(item.contact) - 1))
    student, relationship, kind = item.contact[i]
    kind = (
        "Parent/Guardian"
        if kind in ("Emergency", "Secondary")
        else draw(st.sampled_from(("Emergency", "Secondary")))
    )
    links = (*item.contact[:i], (student, relationship, kind), *item.contact[i + 1 :])
    return _with_user(world, msgspec.structs.replace(item, contact=links))


def crowd_student(draw: st.DrawFn, world: World) -> World:
    """Several contacts take up one student (too many contacts, when the limit is low)."""
    students = world.students()
    contacts = sorted(u.id for u in world.users.values() if u.contact is not None)
    if not students or not contacts:
        return world
    student = draw(st.sampled_from(students))
    for contact in draw(st.lists(st.sampled_from(contacts), min_size=1, max_size=4, unique=True)):
        item = world.users[contact]
        links = (*(item.contact or ()), (student, "Parent", draw(st.sampled_from(SAFE_TYPES))))
        world = _with_user(world, msgspec.structs.replace(item, contact=links))
    return world


def toggle_role(draw: st.DrawFn, world: World) -> World:
    item = _pick_user(draw, world)
    if item is None:
        return world
    role = draw(st.sampled_from(("student", "teacher", "staff", "contact")))
    if getattr(item, role) is not None:
        value = None
    elif role == "contact":
        value = _links(draw, world.students(), SAFE_TYPES)
    else:
        value = _schools(draw)
    return _with_user(world, msgspec.structs.replace(item, **{role: value}))


def edit_members(draw: st.DrawFn, world: World) -> World:
    if not world.sections:
        return world
    section = world.sections[draw(st.sampled_from(sorted(world.sections)))]
    role = draw(st.sampled_from(("student_ids", "teacher_ids")))
    ids: set[str] = set(getattr(section, role))
    if ids and draw(st.booleans()):
        ids.discard(draw(st.sampled_from(sorted(ids))))
    else:
        pool = world.members(section.school_id, role.split("_")[0]) or USER_IDS
        ids.add(draw(st.sampled_from(pool if draw(st.integers(0, 4)) else USER_IDS)))
    changed = section._replace(**{role: tuple(sorted(ids))})
    return replace(world, sections={**world.sections, section.source_id: changed})


def move_section(draw: st.DrawFn, world: World) -> World:
    if not world.sections:
        return world
    section = world.sections[draw(st.sampled_from(sorted(world.sections)))]
    moved = section._replace(school_id=draw(st.sampled_from(SCHOOLS)))
    return replace(world, sections={**world.sections, section.source_id: moved})


def add_or_remove_section(draw: st.DrawFn, world: World) -> World:
    sections = dict(world.sections)
    free = [s for s in SECTION_IDS if s not in sections]
    if sections and (not free or draw(st.booleans())):
        del sections[draw(st.sampled_from(sorted(sections)))]
    else:
        new_id = draw(st.sampled_from(free))
        sections[new_id] = _section(draw, new_id, world)
    return replace(world, sections=sections)


def empty_school(draw: st.DrawFn, world: World) -> World:
    """Everyone leaves one school (its sections stay, naming people no longer there)."""
    school = draw(st.sampled_from(SCHOOLS))
    users = {}
    for user_id, item in world.users.items():
        changes = {}
        for role in ("student", "teacher", "staff"):
            schools = getattr(item, role)
            if schools and school in schools:
                changes[role] = tuple(s for s in schools if s != school) or None
        if changes:
            item = msgspec.structs.replace(item, **changes)
            if not (item.student or item.teacher or item.staff or item.contact):
                continue  # left with no role: gone from the share
        users[user_id] = item
    return replace(world, users=users)


def rename_term(draw: st.DrawFn, world: World) -> World:
    if draw(st.booleans()):
        term = draw(st.sampled_from(TERM_IDS))
        name = draw(st.sampled_from(("Fall", "Spring", f"Term {term}")))
        return replace(world, terms={**world.terms, term: TermRecord(term, name)})
    course = draw(st.sampled_from(COURSE_IDS))
    name = draw(st.sampled_from(("Math", f"Course {course}")))
    return replace(world, courses={**world.courses, course: CourseRecord(course, name)})


def bad_items(draw: st.DrawFn, world: World) -> World:
    """A user item the source could not read comes or goes (a district-wide error)."""
    if world.bad_items:
        return replace(world, bad_items=())
    school = draw(st.sampled_from(("", *SCHOOLS)))
    problem = RowProblem(Severity.ERROR, "user", "", "missing_id", "No id.", school)
    return replace(world, bad_items=(problem,))


def unshare_school(draw: st.DrawFn, world: World) -> World:
    """A school leaves the share, or every school is shared again."""
    if world.schools != SCHOOLS:
        return replace(world, schools=SCHOOLS)
    return replace(world, schools=tuple(s for s in SCHOOLS if s != draw(st.sampled_from(SCHOOLS))))


def change_policy(draw: st.DrawFn, world: World) -> World:
    return replace(world, policy=draw(policies()))


EDITS = (
    (edit_fields, 6),
    (move_student, 3),
    (remove_users, 3),
    (add_users, 2),
    (edit_links, 3),
    (block_link, 2),
    (crowd_student, 1),
    (toggle_role, 2),
    (edit_members, 3),
    (move_section, 1),
    (add_or_remove_section, 2),
    (empty_school, 3),
    (rename_term, 1),
    (bad_items, 1),
    (unshare_school, 1),
    (change_policy, 1),
)
_WEIGHTED = [edit for edit, weight in EDITS for _ in range(weight)]


@dataclass(frozen=True, repr=False)
class Step:
    """The next state, and whether held ``data_removals`` schools are confirmed first."""

    world: World
    confirm: bool = False
    edits: tuple[str, ...] = ()

    def __repr__(self) -> str:
        return f"Step(edits={self.edits}, confirm={self.confirm},\n{self.world!r})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))


def describe(steps: list[Step]) -> str:
    """The first state in full, then what each step changed: one record a line."""
    text = [f"state 0:\n{steps[0].world!r}"]
    for n in range(1, len(steps)):
        before, after = steps[n - 1].world.lines(), steps[n].world.lines()
        step = steps[n]
        text.append(
            f"state {n} (edits: {', '.join(step.edits) or 'none'}"
            f"{'; confirm removals first' if step.confirm else ''}):"
        )
        for key in [*after, *(k for k in before if k not in after)]:
            if key not in after:
                text.append(f"  - {before[key]}")
            elif before.get(key) != after[key]:
                text.append(f"  {'+' if key not in before else '~'} {after[key]}")
    return "\n".join(text)


@st.composite
def histories(draw: st.DrawFn) -> list[Step]:
    """A first state and 2-4 later ones, each a few random edits of the one before (none,
    now and then: the same fetch again)."""
    world = draw(worlds())
    steps = [Step(world)]
    for _ in range(draw(st.integers(2, 4))):
        names = []
        if draw(st.integers(0, 5)) == 0:  # the share is put back as it was (a hold may end)
            world = replace(draw(st.sampled_from(steps)).world, policy=world.policy)
            names.append("revert")
        for _ in range(draw(st.sampled_from((2, 1, 3, 1, 4, 0)))):
            edit = draw(st.sampled_from(_WEIGHTED))
            world = edit(draw, world)
            names.append(edit.__name__)
        confirm = draw(st.integers(0, 2)) == 0
        fails = draw(st.integers(0, 9)) == 0  # this fetch fails; the next one starts afresh
        steps.append(Step(replace(world, fails=fails), confirm, tuple(names)))
    return steps
