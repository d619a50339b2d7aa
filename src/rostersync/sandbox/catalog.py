"""Builders for the sandbox's non-person records: district, schools, terms, courses, sections.

Kept apart from the people builders so each stays small; the shapes follow spec v3.0's
``District``, ``School``, ``Term``, ``Course`` and ``Section`` definitions.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from rostersync.sandbox import vocabulary as vocab
from rostersync.sandbox.people import SCHOOL_YEAR_END, SCHOOL_YEAR_START, Stamp, phone_number


@dataclass(frozen=True, slots=True)
class SchoolPlan:
    """A school to generate: its id, number, grade band and how many students it gets."""

    school_id: str
    number: int
    band: str
    students: int


def district_record(
    rng: random.Random, district_id: str, contact_id: str, domain: str
) -> dict[str, Any]:
    """The district record, in state ``success`` (tests switch it with a mutation)."""
    city = rng.choice(vocab.CITIES)[0]
    return {
        "id": district_id,
        "name": f"{city} Unified School District",
        "sis_type": "sftp",
        "portal_url": f"https://clever.com/in/{domain.split('.')[0]}",
        "launch_date": "2025-07-01",
        "login_methods": ["Clever Badges", "Google"],
        "last_sync": "2025-08-01T06:00:00.000Z",
        "state": "success",
        "error": "",
        "mdr_number": str(rng.randrange(1000000, 9999999)),
        "nces_id": str(rng.randrange(1000000, 9999999)),
        "district_contact": {
            "id": contact_id,
            "district": district_id,
            "email": f"it-director@{domain}",
            "title": "Director of Technology",
            "name": {"first": "Renée", "last": "Østergaard"},
        },
    }


def school_record(
    rng: random.Random, stamp: Stamp, plan: SchoolPlan, grades: tuple[str, ...]
) -> dict[str, Any]:
    """A school serving ``grades``."""
    place = vocab.SCHOOL_PLACES[plan.number % len(vocab.SCHOOL_PLACES)]
    series = plan.number // len(vocab.SCHOOL_PLACES)
    name = f"{place} {vocab.BAND_NAMES[plan.band]}" + (f" {series + 1}" if series else "")
    city, state, zip_prefix = rng.choice(vocab.CITIES)
    return {
        "id": plan.school_id,
        "district": stamp.district_id,
        "name": name,
        "sis_id": f"SCH{plan.number + 1:04d}",
        "school_number": str(100 + plan.number),
        "state_id": f"{state}-{plan.number + 1:05d}",
        "nces_id": str(rng.randrange(100000000000, 999999999999)),
        "mdr_number": str(rng.randrange(10000000, 99999999)),
        "phone": phone_number(rng, f"{rng.randrange(201, 990)}"),
        "low_grade": grades[0],
        "high_grade": grades[-1],
        "principal": {
            "name": f"Dr. {place} Principal",
            "email": f"principal{plan.number}@{stamp.domain}",
        },
        "location": {
            "address": f"{rng.randrange(100, 9999)} {rng.choice(vocab.STREETS)}",
            "city": city,
            "state": state,
            "zip": f"{zip_prefix}{rng.randrange(100):02d}",
        },
        "created": stamp.created,
        "last_modified": stamp.created,
    }


def term_records(district_id: str, ids: list[str]) -> list[dict[str, Any]]:
    """The school year and its two semesters (``ids`` gives three ids, ascending)."""
    spans = (
        ("2025-2026 School Year", SCHOOL_YEAR_START, SCHOOL_YEAR_END),
        ("Fall 2025", SCHOOL_YEAR_START, "2026-01-16T00:00:00.000Z"),
        ("Spring 2026", "2026-01-20T00:00:00.000Z", SCHOOL_YEAR_END),
    )
    return [
        {"id": term_id, "district": district_id, "name": name, "start_date": start, "end_date": end}
        for term_id, (name, start, end) in zip(ids, spans, strict=True)
    ]


def course_record(district_id: str, course_id: str, subject: str, grade: str) -> dict[str, Any]:
    """A district course: one subject at one grade."""
    label = "K" if grade == "Kindergarten" else grade
    return {
        "id": course_id,
        "district": district_id,
        "name": f"{vocab.SUBJECT_NAMES[subject]} {label}",
        "number": f"{vocab.SUBJECT_CODES[subject]}-{label.zfill(2)}",
    }


@dataclass(frozen=True, slots=True)
class SectionSpec:
    """Everything a section record needs beyond its id."""

    school_id: str
    school_number: int
    sequence: int
    grade: str
    period: int
    subject: str
    course_id: str
    term_id: str
    teachers: list[str]
    students: list[str]


def section_record(stamp: Stamp, section_id: str, spec: SectionSpec) -> dict[str, Any]:
    """A section (class) with its teachers and enrolled students."""
    label = "K" if spec.grade == "Kindergarten" else spec.grade
    return {
        "id": section_id,
        "district": stamp.district_id,
        "school": spec.school_id,
        "name": f"{vocab.SUBJECT_NAMES[spec.subject]} {label} - Period {spec.period}",
        "sis_id": f"SEC-{spec.school_number + 1:04d}-{spec.sequence:05d}",
        "section_number": f"{spec.period}{spec.sequence % 100:02d}",
        "period": str(spec.period),
        "grade": spec.grade,
        "subject": spec.subject,
        "course": spec.course_id,
        "term_id": spec.term_id,
        "teacher": spec.teachers[0],
        "teachers": spec.teachers,
        "students": spec.students,
        "created": stamp.created,
        "last_modified": stamp.created,
    }
