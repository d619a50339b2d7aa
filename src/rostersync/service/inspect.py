"""Inspect a district: read everything its source shares and count it, changing nothing.

This is the first thing an operator runs against a new district token ("does it connect,
how big is it, is the data clean?"). It streams every list once and keeps only counts and
row problems, never the records, so it works for districts of any size.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import TypeVar

from rostersync.domain.records import Role, RowProblem, SectionRecord, Severity, UserRecord
from rostersync.service.ports import RosterSource

Progress = Callable[[str, int], None]
"""Called with a list's name (``"users"``) and how many records of it were read so far."""

PROGRESS_EVERY = 1000
T = TypeVar("T")

_ROLE_COUNT: dict[Role, str] = {
    Role.STUDENT: "students",
    Role.TEACHER: "teachers",
    Role.STAFF: "staff",
    Role.CONTACT: "contacts",
    Role.DISTRICT_ADMIN: "district_admins",
}


@dataclass(frozen=True, slots=True)
class RosterCounts:
    """Records per kind. A user with several roles counts once in each of them."""

    schools: int = 0
    students: int = 0
    teachers: int = 0
    staff: int = 0
    contacts: int = 0
    district_admins: int = 0
    sections: int = 0
    enrollments: int = 0
    terms: int = 0
    courses: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class InspectReport:
    district_id: str
    district_name: str
    district_state: str
    district_error: str
    counts: RosterCounts
    requests: int
    problems: tuple[RowProblem, ...] = ()

    @property
    def errors(self) -> int:
        return sum(1 for p in self.problems if p.severity is Severity.ERROR)

    @property
    def alerts(self) -> int:
        return sum(1 for p in self.problems if p.severity is Severity.ALERT)

    def to_dict(self) -> dict[str, object]:
        """The stable JSON shape of ``rostersync clever inspect --json``."""
        return {
            "district": {
                "id": self.district_id,
                "name": self.district_name,
                "state": self.district_state,
            },
            "counts": self.counts.as_dict(),
            "requests": self.requests,
            "problems": [
                {
                    "severity": str(p.severity),
                    "entity": p.entity,
                    "source_id": p.source_id,
                    "code": p.code,
                    "message": p.message,
                }
                for p in self.problems
            ],
        }


@dataclass(slots=True)
class _Tally:
    counts: dict[str, int] = field(default_factory=lambda: RosterCounts().as_dict())
    problems: list[RowProblem] = field(default_factory=list)

    def user(self, user: UserRecord) -> None:
        for role in user.roles:
            self.counts[_ROLE_COUNT[role]] += 1

    def section(self, section: SectionRecord) -> None:
        self.counts["sections"] += 1
        self.counts["enrollments"] += len(section.student_ids)


def inspect_district(source: RosterSource, progress: Progress | None = None) -> InspectReport:
    """Read the whole district once; return its counts, request count and row problems.

    Raises the source's ``SourceError`` if any list cannot be read whole.
    """
    report = _Progress(progress)
    district = source.district()
    tally = _Tally()
    for _school in report.track("schools", source.schools(), tally.problems):
        tally.counts["schools"] += 1
    for user in report.track("users", source.users(), tally.problems):
        tally.user(user)
    for section in report.track("sections", source.sections(), tally.problems):
        tally.section(section)
    for _term in report.track("terms", source.terms(), tally.problems):
        tally.counts["terms"] += 1
    for _course in report.track("courses", source.courses(), tally.problems):
        tally.counts["courses"] += 1
    return InspectReport(
        district_id=district.source_id,
        district_name=district.name,
        district_state=district.state,
        district_error=district.error,
        counts=RosterCounts(**tally.counts),
        requests=source.requests_made,
        problems=tuple(tally.problems),
    )


@dataclass(slots=True)
class _Progress:
    callback: Progress | None

    def track(
        self, name: str, items: Iterable[T | RowProblem], problems: list[RowProblem]
    ) -> Iterable[T]:
        """Yield the records, set the problems aside, and report progress now and then."""
        seen = 0
        for item in items:
            if isinstance(item, RowProblem):
                problems.append(item)
                continue
            seen += 1
            if self.callback is not None and seen % PROGRESS_EVERY == 0:
                self.callback(name, seen)
            yield item
        if self.callback is not None:
            self.callback(name, seen)
