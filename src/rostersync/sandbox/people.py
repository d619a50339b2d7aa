"""Builders for the sandbox's user records: students, contacts, teachers, staff, admins.

Each builder returns one record in exactly the shape Clever's ``/users`` items carry under
``data`` (spec v3.0 plus what real data shows, minus keys the spec does not list), so the
generator, the mutations and hand-written districts all agree on one shape.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from rostersync.sandbox import vocabulary as vocab

SCHOOL_YEAR_START = "2025-08-20T00:00:00.000Z"
SCHOOL_YEAR_END = "2026-06-10T00:00:00.000Z"
_GENDERS = ("M",) * 24 + ("F",) * 24 + ("X", "")
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Stamp:
    """The district a record belongs to and the time it was created."""

    district_id: str
    domain: str
    created: str


@dataclass(frozen=True, slots=True)
class Household:
    """What siblings share: a family name, an address, a phone area code."""

    last_name: str
    address: str
    city: str
    state: str
    zip_code: str
    area_code: str


def choose(rng: random.Random, values: Sequence[T]) -> T:
    """``rng.choice`` for the generator's hot loop (one float draw, no rejection sampling)."""
    return values[int(rng.random() * len(values))]


def between(rng: random.Random, low: int, high: int) -> int:
    """An int in ``[low, high)``, like ``rng.randrange`` but cheaper."""
    return low + int(rng.random() * (high - low))


def person_name(rng: random.Random, last: str | None = None) -> dict[str, str]:
    """A first/middle/last name, drawn with non-ASCII letters in the mix."""
    return {
        "first": choose(rng, vocab.FIRST_NAMES),
        "middle": choose(rng, vocab.MIDDLE_INITIALS),
        "last": last if last is not None else choose(rng, vocab.LAST_NAMES),
    }


def phone_number(rng: random.Random, area_code: str) -> str:
    """A US phone number in the free format Clever passes through (``1-(330) 280-1898``)."""
    return f"1-({area_code}) {between(rng, 200, 1000)}-{between(rng, 0, 10000):04d}"


def household(rng: random.Random) -> Household:
    """A family's shared details."""
    city, state, zip_prefix = choose(rng, vocab.CITIES)
    return Household(
        last_name=choose(rng, vocab.LAST_NAMES),
        address=f"{between(rng, 10, 9999)} {choose(rng, vocab.STREETS)}",
        city=city,
        state=state,
        zip_code=f"{zip_prefix}{between(rng, 0, 100):02d}",
        area_code=f"{between(rng, 201, 990)}",
    )


def _common(stamp: Stamp, user_id: str, email: str | None, name: dict[str, str]) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": user_id,
        "district": stamp.district_id,
        "created": stamp.created,
        "last_modified": stamp.created,
    }
    if email is not None:
        record["email"] = email
    record["name"] = name
    return record


def _grade_number(grade: str) -> int:
    return 0 if grade == "Kindergarten" else int(grade)


def student_record(
    rng: random.Random,
    stamp: Stamp,
    user_id: str,
    number: int,
    school_id: str,
    grade: str,
    home: Household,
) -> dict[str, Any]:
    """A student enrolled at one school, living in ``home``."""
    name = person_name(rng, home.last_name)
    username = f"{vocab.ascii_fold(name['first'])}{vocab.ascii_fold(name['last'])[:1]}{number}"
    age_grade = _grade_number(grade)
    birth_year = 2019 - age_grade - (1 if rng.random() < 0.3 else 0)
    student = {
        "sis_id": str(100000 + number),
        "student_number": str(100000 + number),
        "state_id": f"{home.state}{700000000 + number}",
        "school": school_id,
        "schools": [school_id],
        "grade": grade,
        "dob": f"{between(rng, 1, 13)}/{between(rng, 1, 29)}/{birth_year}",
        "gender": choose(rng, _GENDERS),
        "race": choose(rng, vocab.RACES),
        "hispanic_ethnicity": choose(rng, ("Y", "N", "N", "")),
        "ell_status": choose(rng, ("Y", "N", "N", "N", "")),
        "graduation_year": str(2026 + 12 - age_grade),
        "credentials": {"district_username": username},
        "enrollments": [{"school": school_id, "start_date": SCHOOL_YEAR_START}],
        "location": {
            "address": home.address,
            "city": home.city,
            "state": home.state,
            "zip": home.zip_code,
        },
    }
    record = _common(stamp, user_id, f"{username}@students.{stamp.domain}", name)
    record["roles"] = {"student": student}
    return record


def contact_record(
    rng: random.Random,
    stamp: Stamp,
    user_id: str,
    number: int,
    home: Household,
    relationships: list[dict[str, str]],
) -> dict[str, Any]:
    """A contact (parent, guardian, ...) of one or more students; whole name in ``name.last``."""
    first = choose(rng, vocab.FIRST_NAMES)
    last = home.last_name if rng.random() < 0.85 else choose(rng, vocab.LAST_NAMES)
    email = None
    if rng.random() < 0.92:
        email = f"{vocab.ascii_fold(first)}.{vocab.ascii_fold(last)}{number}@example.com"
    contact = {
        "phone": phone_number(rng, home.area_code) if rng.random() < 0.95 else "",
        "phone_type": choose(rng, vocab.PHONE_TYPES),
        "sis_id": f"P{500000 + number}" if rng.random() < 0.8 else "",
        "student_relationships": relationships,
    }
    record = _common(stamp, user_id, email, {"last": f"{first} {last}"})
    record["roles"] = {"contact": contact}
    return record


def relationship(student_id: str, kind: tuple[str, str]) -> dict[str, str]:
    """One ``student_relationships`` entry (key order as Clever sends it)."""
    return {"relationship": kind[0], "student": student_id, "type": kind[1]}


def teacher_record(
    rng: random.Random, stamp: Stamp, user_id: str, number: int, schools: list[str]
) -> dict[str, Any]:
    """A teacher whose primary school is ``schools[0]``."""
    name = person_name(rng)
    username = f"{vocab.ascii_fold(name['first'])[:1]}{vocab.ascii_fold(name['last'])}{number}"
    teacher = {
        "sis_id": f"T{20000 + number}",
        "teacher_number": f"T{20000 + number}",
        "state_id": f"TX{900000 + number}",
        "title": choose(rng, vocab.TEACHER_TITLES),
        "school": schools[0],
        "schools": schools,
        "credentials": {"district_username": username},
    }
    record = _common(stamp, user_id, f"{username}@{stamp.domain}", name)
    record["roles"] = {"teacher": teacher}
    return record


def staff_record(
    rng: random.Random, stamp: Stamp, user_id: str, number: int, schools: list[str]
) -> dict[str, Any]:
    """A non-teaching staff member (counselor, nurse, ...)."""
    name = person_name(rng)
    title, department, role = choose(rng, vocab.STAFF_POSITIONS)
    username = f"{vocab.ascii_fold(name['first'])[:1]}{vocab.ascii_fold(name['last'])}{number}"
    staff = {
        "staff_id": f"S{30000 + number}",
        "title": title,
        "department": department,
        "roles": [role],
        "schools": schools,
        "credentials": {"district_username": username},
    }
    record = _common(stamp, user_id, f"{username}@{stamp.domain}", name)
    record["roles"] = {"staff": staff}
    return record


def district_admin_record(
    rng: random.Random, stamp: Stamp, user_id: str, legacy_id: str
) -> dict[str, Any]:
    """The district's administrator (its ``legacy_id`` is the district contact's id)."""
    name = person_name(rng)
    email = f"{vocab.ascii_fold(name['first'])}.{vocab.ascii_fold(name['last'])}@{stamp.domain}"
    record = _common(stamp, user_id, email, name)
    record["roles"] = {
        "district_admin": {"title": "Director of Technology", "legacy_id": legacy_id}
    }
    return record
