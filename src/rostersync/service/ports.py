"""Ports: what the use cases need from the outside world, as Protocols.

Adapters (``sources``, ``storage``, ``notify``) implement these; tests use fakes.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from rostersync.domain.records import (
    CourseRecord,
    DistrictRecord,
    RowProblem,
    SchoolRecord,
    SectionRecord,
    TermRecord,
    UserRecord,
)


class RosterSource(Protocol):
    """A district's roster as the source shares it.

    Each iterator yields the records of one kind in ascending source-id order, page by page,
    and a ``RowProblem`` in place of any record that could not be read. Any failure to read
    the whole list raises a ``rostersync.errors.SourceError``: a partial list is never
    returned as if it were complete.
    """

    @property
    def requests_made(self) -> int: ...

    def district(self) -> DistrictRecord: ...

    def schools(self) -> Iterator[SchoolRecord | RowProblem]: ...

    def users(self) -> Iterator[UserRecord | RowProblem]: ...

    def sections(self) -> Iterator[SectionRecord | RowProblem]: ...

    def terms(self) -> Iterator[TermRecord | RowProblem]: ...

    def courses(self) -> Iterator[CourseRecord | RowProblem]: ...

    def close(self) -> None: ...
