"""Turn pages of raw Clever items into a stream of records and row problems.

Each item is decoded on its own, so one item of the wrong shape becomes an error row and the
rest of its page still syncs. Duplicates are caught without remembering the whole district:
Clever lists are sorted by id, so a repeated id is either on the same page or equal to the
last id seen. An id that goes backwards breaks that promise; the record is still yielded (it
is real data, and dropping it would read as a removal) with an ``out_of_order`` alert, and
duplicate detection for it is then limited to its own page.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Protocol, TypeVar

import msgspec

from rostersync.domain.records import RowProblem, Severity
from rostersync.sources.clever.wire import loose_id


class _Keyed(Protocol):
    @property
    def source_id(self) -> str: ...


R = TypeVar("R", bound=_Keyed)
Convert = Callable[[bytes, list[RowProblem]], R | None]


def records(
    pages: Iterable[list[msgspec.Raw]], entity: str, convert: Convert[R]
) -> Iterator[R | RowProblem]:
    """Yield each page's records (and problems) before the next page is fetched."""
    last_id = ""
    for items in pages:
        page_ids: set[str] = set()
        for raw in items:
            problems: list[RowProblem] = []
            record = convert_one(raw, entity, convert, problems)
            if record is not None:
                record_id = record.source_id
                if record_id in page_ids or record_id == last_id:
                    problems[:] = [_duplicate(entity, record_id, problems)]
                    record = None
                else:
                    if last_id and record_id < last_id:
                        problems.append(_out_of_order(entity, record_id, last_id))
                    page_ids.add(record_id)
                    last_id = max(last_id, record_id)
            yield from problems
            if record is not None:
                yield record


def convert_one(
    raw: bytes, entity: str, convert: Convert[R], problems: list[RowProblem]
) -> R | None:
    """``convert(raw)``, or ``None`` with an ``undecodable`` error in ``problems`` (which
    then holds nothing else) when the item is not of the right shape."""
    try:
        return convert(raw, problems)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError) as exc:
        problems.clear()
        problems.append(
            RowProblem(
                Severity.ERROR,
                entity,
                loose_id(raw),
                "undecodable",
                f"A {entity} record from Clever could not be read ({exc}), so it was skipped. "
                "Check the record in Clever; report it if its data looks right.",
            )
        )
        return None


def _duplicate(entity: str, record_id: str, problems: list[RowProblem]) -> RowProblem:
    school_id = problems[0].school_id if problems else ""
    return RowProblem(
        Severity.ERROR,
        entity,
        record_id,
        "duplicate_id",
        f"Clever sent the {entity} {record_id} twice in one list; the first copy was kept "
        "and this one skipped. Report it if it keeps happening.",
        school_id,
    )


def _out_of_order(entity: str, record_id: str, last_id: str) -> RowProblem:
    return RowProblem(
        Severity.ALERT,
        entity,
        record_id,
        "out_of_order",
        f"Clever sent the {entity} {record_id} after {last_id}, out of id order; it was kept, "
        "but a repeat of it on another page would not be noticed. Report it if it recurs.",
    )
