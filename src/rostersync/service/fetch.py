"""Fetch a whole district from its source and split it into per-school rosters.

The fetch is all or nothing: any page that fails after the client's retries raises, and
the caller fails the run without touching the roster. A partial list is never taken as
"these records were removed".
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TypeVar

from rostersync.domain.records import (
    CourseRecord,
    DistrictRecord,
    RowProblem,
    SchoolRecord,
    SectionRecord,
    TermRecord,
    UserRecord,
)
from rostersync.domain.roster import DistrictRosters, build_rosters
from rostersync.service.ports import RosterSource

T = TypeVar("T")

# District states that mean the connection is not usable (see the Clever wire notes).
BROKEN_DISTRICT_STATES: dict[str, str] = {
    "error": "Clever reports the district's sync is in an error state",
    "paused": "Clever reports the district's sync is paused",
}


@dataclass(slots=True)
class FetchedDistrict:
    district: DistrictRecord
    rosters: DistrictRosters
    problems: list[RowProblem]
    requests: int


def split(items: Iterable[T | RowProblem], problems: list[RowProblem]) -> Iterator[T]:
    """Yield the records and set the row problems aside."""
    for item in items:
        if isinstance(item, RowProblem):
            problems.append(item)
        else:
            yield item


def district_breakage(district: DistrictRecord) -> str | None:
    """A sentence saying why the district's connection is unusable, or ``None``."""
    reason = BROKEN_DISTRICT_STATES.get(district.state)
    if reason is None:
        return None
    detail = f": {district.error}" if district.error else ""
    return f"{reason}{detail}. Fix it in Clever, then use 'I fixed it'."


def fetch_district(
    source: RosterSource, progress: Callable[[str], None] | None = None
) -> FetchedDistrict:
    """Read everything the source shares. Raises ``SourceError`` on any incomplete read."""
    note = progress or (lambda _stage: None)
    problems: list[RowProblem] = []
    district = source.district()
    note("schools")
    schools: list[SchoolRecord] = list(split(source.schools(), problems))
    note("terms")
    terms: dict[str, TermRecord] = {t.source_id: t for t in split(source.terms(), problems)}
    note("courses")
    courses: dict[str, CourseRecord] = {c.source_id: c for c in split(source.courses(), problems)}
    note("users")
    users: list[UserRecord] = list(split(source.users(), problems))
    note("sections")
    sections: list[SectionRecord] = list(split(source.sections(), problems))
    rosters = build_rosters(schools, users, sections, terms, courses)
    problems.extend(rosters.problems)
    return FetchedDistrict(district, rosters, problems, source.requests_made)


def problems_for_school(problems: Iterable[RowProblem], school_source_id: str) -> list[RowProblem]:
    """The problems a school's report shows: its own, and those tied to no school."""
    return [p for p in problems if p.school_id in ("", school_source_id)]
