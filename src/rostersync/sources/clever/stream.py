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
from typing import Generic, Protocol, TypeVar

import msgspec
import xxhash
from typing_extensions import Buffer

from rostersync.domain.records import ChunkKey, PageKey, RowProblem, Severity
from rostersync.sources.clever.wire import loose_id


class _Keyed(Protocol):
    @property
    def source_id(self) -> str: ...


R = TypeVar("R", bound=_Keyed)
Convert = Callable[[Buffer, list[RowProblem]], R | None]


class _Order:
    """The highest id a list has yielded so far, across its pages."""

    __slots__ = ("last_id",)

    def __init__(self) -> None:
        self.last_id = ""


def records(
    pages: Iterable[list[msgspec.Raw]], entity: str, convert: Convert[R]
) -> Iterator[R | RowProblem]:
    """Yield each page's records (and problems) before the next page is fetched."""
    order = _Order()
    for items in pages:
        yield from RawPage(items, entity, convert, _unread, order).items()


def item_pages(
    pages: Iterable[list[msgspec.Raw]],
    entity: str,
    convert: Convert[R],
    identify: Callable[[bytes], str],
    clean: Convert[R] | None = None,
) -> Iterator[RawPage[R]]:
    """``records``, a page at a time; each page's items are converted only if asked for.
    ``identify`` reads an item's id (``""`` when it cannot). ``clean``: ``convert`` for an
    item known to hold no escaped NUL (``NUL_ESCAPE``), used for the items of a chunk
    without one (the chunk is searched once, not each item)."""
    order = _Order()
    for items in pages:
        yield RawPage(items, entity, convert, identify, order, clean)


# An item whose hash has these low bits all set closes a chunk: 16 items on average.
CHUNK_MASK = 15
# An escaped NUL character as it appears in JSON text: the only way a NUL reaches a decoded
# string (mapping removes them, and flags the record).
NUL_ESCAPE = b"\\u0000"


class RawPage(Generic[R]):
    """One page of raw items (the ``ItemPage`` port)."""

    def __init__(
        self,
        items: list[msgspec.Raw],
        entity: str,
        convert: Convert[R],
        identify: Callable[[bytes], str],
        order: _Order,
        clean: Convert[R] | None = None,
    ) -> None:
        self._items = items
        self._entity = entity
        self._convert = convert
        self._clean = clean or convert
        self._identify = identify
        self._order = order
        self._key: PageKey | None = None
        self._keyed = False
        # The ids yielded from the page so far, and the chunks passed over unread (first
        # and last id, item range): read only if a later item may repeat one of their ids.
        self._seen: set[str] = set()
        self._passed: list[tuple[str, str, int, int]] = []

    @property
    def key(self) -> PageKey | None:
        """Found when first asked, after the previous page is done with."""
        if not self._keyed:
            self._key = _key(self._items, self._identify, self._order.last_id)
            self._keyed = True
        return self._key

    def items(self) -> Iterator[R | RowProblem]:
        return self._records(0, len(self._items))

    def skip(self) -> None:
        if self.key is None:
            raise ValueError("A page without a key cannot be skipped: its items must be read.")
        self._order.last_id = max(self._order.last_id, self.key.last_id)

    def chunks(self) -> Iterator[RawChunk[R]]:
        """The page cut into chunks, in order: an item ends one where its hash says so
        (``CHUNK_MASK``), so that a changed, added or removed item moves only its own
        chunk's cuts, and the chunks around it come back the same."""
        items = self._items
        hash_of = xxhash.xxh3_64_intdigest
        ends = [i + 1 for i, raw in enumerate(items) if hash_of(raw) & CHUNK_MASK == CHUNK_MASK]
        if not ends or ends[-1] != len(items):
            ends.append(len(items))
        start = 0
        for end in ends:
            joined = b"".join(items[start:end])
            digest = xxhash.xxh3_128_hexdigest(joined)
            # Items are whole JSON values, so no escape straddles two. A backslash is rare
            # in JSON text and found at memchr's speed, which spares most chunks the
            # slower search for the escape itself (every chunk of a resync is searched).
            nul = b"\\" in joined and NUL_ESCAPE in joined
            yield RawChunk(self, start, end, ChunkKey(digest, end - start), nul)
            start = end

    def _records(self, start: int, end: int, nul: bool = True) -> Iterator[R | RowProblem]:
        """The items from ``start`` to ``end``, converted (``nul``: they may hold an escaped
        NUL; if not, with the ``clean`` conversion)."""
        order, seen, entity = self._order, self._seen, self._entity
        convert = self._convert if nul else self._clean
        for raw in self._items[start:end]:
            problems: list[RowProblem] = []
            record = convert_one(raw, entity, convert, problems)
            if record is not None:
                record_id = record.source_id
                last_id = order.last_id
                if last_id and record_id <= last_id and self._passed:
                    self._reveal(record_id)
                if record_id in seen or record_id == last_id:
                    problems[:] = [_duplicate(entity, record_id, problems)]
                    record = None
                else:
                    if last_id and record_id < last_id:
                        problems.append(_out_of_order(entity, record_id, last_id))
                    seen.add(record_id)
                    order.last_id = max(last_id, record_id)
            yield from problems
            if record is not None:
                yield record

    def _pass(self, start: int, end: int, first_id: str, last_id: str) -> None:
        self._passed.append((first_id, last_id, start, end))
        self._order.last_id = max(self._order.last_id, last_id)

    def _reveal(self, record_id: str) -> None:
        """Read the ids of the chunks passed over whose range holds ``record_id``, so that a
        repeat of one of them is caught as if they had been read."""
        keep = []
        for passed in self._passed:
            first_id, last_id, start, end = passed
            if first_id <= record_id <= last_id:
                self._seen.update(self._identify(raw) for raw in self._items[start:end])
            else:
                keep.append(passed)
        self._passed = keep


class RawChunk(Generic[R]):
    """A run of a page's items (the ``ItemChunk`` port)."""

    def __init__(
        self, page: RawPage[R], start: int, end: int, key: ChunkKey, nul: bool = True
    ) -> None:
        self._page = page
        self._start = start
        self._end = end
        self.key = key
        self._nul = nul  # whether an item may hold an escaped NUL

    def follows(self, first_id: str) -> bool:
        """Whether a chunk starting at ``first_id`` comes after every id yielded so far
        (only then may it be passed over)."""
        return first_id > self._page._order.last_id

    def items(self) -> Iterator[R | RowProblem]:
        return self._page._records(self._start, self._end, self._nul)

    def skip(self, first_id: str, last_id: str) -> None:
        """Pass over the chunk, known to hold the ids from ``first_id`` to ``last_id``."""
        if not self.follows(first_id):
            raise ValueError("A chunk that does not follow the ids already read must be read.")
        self._page._pass(self._start, self._end, first_id, last_id)


def _unread(raw: Buffer) -> str:
    """For a page that is only read whole: no key, no chunk to pass over."""
    return ""


def _key(items: list[msgspec.Raw], identify: Callable[[bytes], str], after: str) -> PageKey | None:
    """The page's key: the ids of its first and last items, its size, and a digest of its
    items in order (JSON values, so their concatenation splits back one way only). ``None``
    when an id cannot be read or the page does not start above ``after``."""
    if not items:
        return None
    first, last = identify(items[0]), identify(items[-1])
    if not first or not last or first <= after or last < first:
        return None
    digest = xxhash.xxh3_128_digest(b"".join(items))
    return PageKey(first, last, len(items), digest)


def convert_one(
    raw: Buffer, entity: str, convert: Convert[R], problems: list[RowProblem]
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
