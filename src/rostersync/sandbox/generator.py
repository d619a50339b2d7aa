"""The deterministic district generator: realistic Clever data from a seed and a size.

Same seed and arguments give byte-identical files. Records are produced school by school and
handed to a sink as encoded bytes in ascending id order, so a 1M-student district streams
straight to disk without ever holding the district as Python dicts.

Distributions (checked by tests): about 22 students per section, 5 sections per student,
one teacher per 15 students, one staff member per 30, 1-5 contacts per student (mean about
2.3), siblings sharing their family's contacts, no ``Emergency``/``Secondary`` contacts.
"""

from __future__ import annotations

import random
from bisect import bisect_right
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

from rostersync.sandbox import vocabulary as vocab
from rostersync.sandbox.catalog import (
    SchoolPlan,
    SectionSpec,
    course_record,
    district_record,
    school_record,
    section_record,
    term_records,
)
from rostersync.sandbox.district import (
    DistrictData,
    IdSequence,
    RecordTable,
    derive_token,
    empty_tables,
    encode_record,
)
from rostersync.sandbox.district_files import DistrictWriter, load_district, write_district
from rostersync.sandbox.people import (
    Household,
    Stamp,
    contact_record,
    district_admin_record,
    household,
    relationship,
    staff_record,
    student_record,
    teacher_record,
)

__all__ = ["generate_district", "generate_to_dir", "load_district", "write_district"]

T = TypeVar("T")
MAX_DEFAULT_SCHOOLS = 2000
STUDENTS_PER_SECTION = 22
STUDENTS_PER_TEACHER = 15
STUDENTS_PER_STAFF = 30
_BAND_CYCLE = ("elementary", "middle", "high", "elementary")
_EPOCH = datetime(2025, 7, 1, 8, 0, tzinfo=UTC)


class _Weighted(Generic[T]):
    """A weighted choice, precomputed once (``random.choices`` rebuilds its table per call)."""

    def __init__(self, pairs: Sequence[tuple[T, int]]) -> None:
        self.values = [value for value, _ in pairs]
        self.cumulative = list(accumulate(weight for _, weight in pairs))
        self.total = self.cumulative[-1]

    def pick(self, rng: random.Random) -> T:
        return self.values[bisect_right(self.cumulative, rng.random() * self.total)]


_FAMILY_SIZES = _Weighted([(1, 88), (2, 11), (3, 1)])
_CONTACTS_PER_FAMILY = _Weighted([(1, 12), (2, 48), (3, 28), (4, 8), (5, 4)])
_FIRST_CONTACT = _Weighted([((rel, typ), w) for rel, typ, w in vocab.FIRST_CONTACT_KINDS])
_OTHER_CONTACT = _Weighted([((rel, typ), w) for rel, typ, w in vocab.OTHER_CONTACT_KINDS])


class RecordSink(Protocol):
    """Where generated records go, in ascending id order per table."""

    def set_district(self, blob: bytes) -> None: ...

    def add(self, kind: str, record_id: str, blob: bytes) -> None: ...


class _MemorySink:
    def __init__(self) -> None:
        self.district = b""
        self.tables: dict[str, RecordTable] = empty_tables()

    def set_district(self, blob: bytes) -> None:
        self.district = blob

    def add(self, kind: str, record_id: str, blob: bytes) -> None:
        self.tables[kind].append_sorted(record_id, blob)


def default_school_count(students: int) -> int:
    """One school per 500 students, at least one, at most ``MAX_DEFAULT_SCHOOLS``."""
    return min(MAX_DEFAULT_SCHOOLS, max(1, students // 500))


def generate_district(seed: int, students: int, schools: int | None = None) -> DistrictData:
    """Generate a district in memory (as encoded bytes)."""
    sink = _MemorySink()
    meta = _Generator(seed, students, schools, sink).run()
    token = str(meta.pop("token"))
    return DistrictData(district=sink.district, tables=sink.tables, token=token, meta=meta)


def generate_to_dir(
    seed: int,
    students: int,
    out_dir: Path,
    schools: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> dict[str, int]:
    """Generate a district straight to files (same bytes as ``write_district``); return counts.

    ``progress`` is called with the number of students written so far, once per school.
    """
    with DistrictWriter(out_dir) as writer:
        meta = _Generator(seed, students, schools, writer, progress).run()
        token = str(meta.pop("token"))
        writer.finish(token, meta)
    return writer.counts


def _stamp_time(offset_s: int) -> str:
    moment = _EPOCH + timedelta(seconds=offset_s)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


class _Generator:
    """One generation run; all randomness flows from one ``random.Random(seed)``."""

    def __init__(
        self,
        seed: int,
        students: int,
        schools: int | None,
        sink: RecordSink,
        progress: Callable[[int], None] | None = None,
    ) -> None:
        if students < 0:
            raise ValueError("The number of students must be zero or more.")
        if schools is not None and schools < 1:
            raise ValueError("The number of schools must be at least one.")
        self.seed = seed
        self.students = students
        self.school_count = schools if schools is not None else default_school_count(students)
        self.sink = sink
        self.progress = progress
        self.rng = random.Random(seed)
        stamp_bits = 0x5F000000 + self.rng.randrange(0x08000000)
        self.ids = IdSequence(
            (stamp_bits << 64) | (self.rng.randrange(1 << 24) << 40) | self.rng.randrange(1 << 20)
        )
        self.counters = {"student": 0, "contact": 0, "teacher": 0, "staff": 0, "section": 0}
        self.students_done = 0

    def run(self) -> dict[str, Any]:
        district_id = self.ids.next_id()
        domain = f"district{self.seed % 100000}.example.org"
        stamp = Stamp(district_id, domain, _stamp_time(0))
        admin_id = self.ids.next_id()
        contact_legacy = f"{self.rng.getrandbits(96):024x}"
        self.sink.set_district(
            encode_record(district_record(self.rng, district_id, contact_legacy, domain))
        )
        self.emit("users", district_admin_record(self.rng, stamp, admin_id, contact_legacy))
        term_ids = [self.ids.next_id() for _ in range(3)]
        for term in term_records(district_id, term_ids):
            self.emit("terms", term)
        plans = self._plan_schools()
        courses = self._courses(stamp, plans)
        for plan in plans:
            grades = vocab.BANDS[plan.band]
            self.emit("schools", school_record(self.rng, stamp, plan, grades))
        for plan in plans:
            school_stamp = Stamp(district_id, domain, _stamp_time(60 + plan.number))
            _SchoolRoster(self, school_stamp, plan, plans, courses, term_ids).build()
        return {
            "token": derive_token(str(self.seed)),
            "seed": self.seed,
            "students": self.students,
            "schools": self.school_count,
        }

    def emit(self, kind: str, record: dict[str, Any]) -> None:
        self.sink.add(kind, record["id"], encode_record(record))

    def _plan_schools(self) -> list[SchoolPlan]:
        count = self.school_count
        bands = ["k12"] if count == 1 else [_BAND_CYCLE[i % 4] for i in range(count)]
        weights = [self.rng.uniform(0.75, 1.25) for _ in range(count)]
        sizes = _split(self.students, weights)
        return [
            SchoolPlan(self.ids.next_id(), number, bands[number], sizes[number])
            for number in range(count)
        ]

    def _courses(self, stamp: Stamp, plans: list[SchoolPlan]) -> dict[tuple[str, str], str]:
        courses: dict[tuple[str, str], str] = {}
        for band in ("k12", "elementary", "middle", "high"):
            if not any(plan.band == band for plan in plans):
                continue
            for grade in vocab.BANDS[band]:
                for subject in _subjects_for(grade):
                    if (subject, grade) not in courses:
                        course_id = self.ids.next_id()
                        courses[(subject, grade)] = course_id
                        self.emit(
                            "courses", course_record(stamp.district_id, course_id, subject, grade)
                        )
        return courses

    def next_number(self, kind: str) -> int:
        self.counters[kind] += 1
        return self.counters[kind]


def _subjects_for(grade: str) -> tuple[str, ...]:
    """The five period subjects of a grade (a K-12 school teaches each grade its band's)."""
    for band in ("elementary", "middle", "high"):
        if grade in vocab.BANDS[band]:
            return vocab.BAND_SUBJECTS[band]
    raise ValueError(f"The grade {grade!r} belongs to no known grade band.")


def _split(total: int, weights: list[float]) -> list[int]:
    """Split ``total`` in proportion to ``weights`` (largest remainder; sums exactly)."""
    scale = total / sum(weights)
    shares = [weight * scale for weight in weights]
    sizes = [int(share) for share in shares]
    by_remainder = sorted(range(len(shares)), key=lambda i: sizes[i] - shares[i])
    for i in by_remainder[: total - sum(sizes)]:
        sizes[i] += 1
    return sizes


class _SchoolRoster:
    """Teachers, staff, students with their contacts, and sections of one school."""

    def __init__(
        self,
        gen: _Generator,
        stamp: Stamp,
        plan: SchoolPlan,
        plans: list[SchoolPlan],
        courses: dict[tuple[str, str], str],
        term_ids: list[str],
    ) -> None:
        self.gen = gen
        self.rng = gen.rng
        self.stamp = stamp
        self.plan = plan
        self.plans = plans
        self.courses = courses
        self.term_ids = term_ids
        self.grades = vocab.BANDS[plan.band]
        self.by_grade: dict[str, list[str]] = {grade: [] for grade in self.grades}

    def build(self) -> None:
        teachers = self._teachers()
        self._staff()
        remaining = self.plan.students
        while remaining > 0:
            size = min(remaining, _FAMILY_SIZES.pick(self.rng))
            self._family(size)
            remaining -= size
        self._sections(teachers)
        self.gen.students_done += self.plan.students
        if self.gen.progress is not None:
            self.gen.progress(self.gen.students_done)

    def _other_school(self) -> list[str]:
        if len(self.plans) > 1 and self.rng.random() < 0.03:
            return [self.plans[(self.plan.number + 1) % len(self.plans)].school_id]
        return []

    def _teachers(self) -> list[str]:
        count = max(1, round(self.plan.students / STUDENTS_PER_TEACHER))
        ids = []
        for _ in range(count):
            user_id = self.gen.ids.next_id()
            schools = [self.plan.school_id, *self._other_school()]
            number = self.gen.next_number("teacher")
            self.gen.emit("users", teacher_record(self.rng, self.stamp, user_id, number, schools))
            ids.append(user_id)
        return ids

    def _staff(self) -> None:
        for _ in range(max(1, round(self.plan.students / STUDENTS_PER_STAFF))):
            user_id = self.gen.ids.next_id()
            schools = [self.plan.school_id, *self._other_school()]
            number = self.gen.next_number("staff")
            self.gen.emit("users", staff_record(self.rng, self.stamp, user_id, number, schools))

    def _family(self, size: int) -> None:
        home = household(self.rng)
        siblings = []
        for _ in range(size):
            user_id = self.gen.ids.next_id()
            grade = self.rng.choice(self.grades)
            number = self.gen.next_number("student")
            record = student_record(
                self.rng, self.stamp, user_id, number, self.plan.school_id, grade, home
            )
            self.gen.emit("users", record)
            self.by_grade[grade].append(user_id)
            siblings.append(user_id)
        self._contacts(siblings, home)

    def _contacts(self, siblings: list[str], home: Household) -> None:
        for index in range(_CONTACTS_PER_FAMILY.pick(self.rng)):
            kind = (_FIRST_CONTACT if index == 0 else _OTHER_CONTACT).pick(self.rng)
            links = [relationship(student, kind) for student in siblings]
            user_id = self.gen.ids.next_id()
            number = self.gen.next_number("contact")
            record = contact_record(self.rng, self.stamp, user_id, number, home, links)
            self.gen.emit("users", record)

    def _sections(self, teachers: list[str]) -> None:
        turn = 0
        for grade in self.grades:
            students = self.by_grade[grade]
            if not students:
                continue
            per_period = max(1, round(len(students) / STUDENTS_PER_SECTION))
            for period, subject in enumerate(_subjects_for(grade), start=1):
                order = list(students)
                self.rng.shuffle(order)
                for part in range(per_period):
                    staff = [teachers[turn % len(teachers)]]
                    turn += 1
                    if len(teachers) > 1 and self.rng.random() < 0.08:
                        staff.append(teachers[turn % len(teachers)])
                    self._section(grade, period, subject, staff, sorted(order[part::per_period]))

    def _section(
        self, grade: str, period: int, subject: str, teachers: list[str], students: list[str]
    ) -> None:
        roll = self.rng.random()
        term_id = self.term_ids[0] if roll < 0.8 else self.term_ids[1 if roll < 0.9 else 2]
        spec = SectionSpec(
            school_id=self.plan.school_id,
            school_number=self.plan.number,
            sequence=self.gen.next_number("section"),
            grade=grade,
            period=period,
            subject=subject,
            course_id=self.courses[(subject, grade)],
            term_id=term_id,
            teachers=teachers,
            students=students,
        )
        self.gen.emit("sections", section_record(self.stamp, self.gen.ids.next_id(), spec))
