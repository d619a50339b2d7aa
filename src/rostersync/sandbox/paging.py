"""Clever's cursor paging, and list envelopes assembled by joining pre-rendered bytes.

Rules (NOTES §3): ids ascending; ``limit`` defaults to 100, 1..10000 (413 above, 400 when
not a positive integer); ``starting_after``/``ending_before`` by id; a ``self`` link always
(echoing the query); ``next`` only when more records remain, so the last page carries no
``next`` and no empty page is needed to end a list; ``prev`` on a ``starting_after`` page
(and on an ``ending_before`` page with records before it). next/prev keep the other query
parameters (limit, role, ...).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlencode

import msgspec

from rostersync.sandbox.answer import ApiError

DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000
_CURSORS = ("starting_after", "ending_before")


@dataclass(frozen=True, slots=True)
class PageRequest:
    """The paging part of a list request, plus what its links need to echo."""

    path: str
    raw_query: str
    params: tuple[tuple[str, str], ...]
    limit: int
    starting_after: str | None
    ending_before: str | None


def parse_page_request(path: str, raw_query: str, params: Sequence[tuple[str, str]]) -> PageRequest:
    """Read ``limit``/``starting_after``/``ending_before``; raise ``ApiError`` when invalid."""
    values = dict(params)
    raw_limit = values.get("limit")
    limit = DEFAULT_LIMIT
    if raw_limit is not None:
        try:
            limit = int(raw_limit)
        except ValueError:
            raise ApiError(400, f"The limit {raw_limit!r} is not an integer.") from None
        if limit < 1:
            raise ApiError(400, "The limit must be at least 1.")
        if limit > MAX_LIMIT:
            raise ApiError(413, f"The limit must be at most {MAX_LIMIT}.")
    after = values.get("starting_after") or None
    before = values.get("ending_before") or None
    if after is not None and before is not None:
        raise ApiError(400, "Use either starting_after or ending_before, not both.")
    return PageRequest(path, raw_query, tuple(params), limit, after, before)


@dataclass(frozen=True, slots=True)
class Window:
    """Positions (into the id sequence) of one page, and whether records lie beyond it."""

    positions: Sequence[int]
    more_after: bool
    more_before: bool


def _visible(ids: Sequence[str], at: int, hidden: Collection[str]) -> bool:
    return ids[at] not in hidden


def select_page(ids: Sequence[str], request: PageRequest, hidden: Collection[str]) -> Window:
    """Choose the page's positions in ``ids`` (ascending), skipping ``hidden`` ids."""
    limit = request.limit
    if request.ending_before is not None:
        end = bisect_left(ids, request.ending_before)
        if not hidden:
            start = max(0, end - limit)
            return Window(range(start, end), end < len(ids), start > 0)
        picked: list[int] = []
        at = end - 1
        while at >= 0 and len(picked) < limit:
            if _visible(ids, at, hidden):
                picked.append(at)
            at -= 1
        picked.reverse()
        before = any(_visible(ids, i, hidden) for i in range(at, -1, -1))
        after = any(_visible(ids, i, hidden) for i in range(end, len(ids)))
        return Window(picked, after, before)
    start = bisect_right(ids, request.starting_after) if request.starting_after else 0
    if not hidden:
        stop = min(len(ids), start + limit)
        return Window(range(start, stop), stop < len(ids), start > 0)
    chosen: list[int] = []
    at = start
    while at < len(ids) and len(chosen) < limit:
        if _visible(ids, at, hidden):
            chosen.append(at)
        at += 1
    after = any(_visible(ids, i, hidden) for i in range(at, len(ids)))
    return Window(chosen, after, start > 0)


def _link_uri(request: PageRequest, cursor: str, value: str) -> str:
    kept = [(key, val) for key, val in request.params if key not in _CURSORS]
    return f"{request.path}?{urlencode([*kept, (cursor, value)])}"


def page_links(
    request: PageRequest, first_id: str | None, last_id: str | None, window: Window
) -> list[dict[str, str]]:
    """The ``links`` of a page: self always, next/prev per the rules in the module doc."""
    self_uri = request.path + (f"?{request.raw_query}" if request.raw_query else "")
    links = [{"rel": "self", "uri": self_uri}]
    if last_id is not None and window.more_after:
        links.append({"rel": "next", "uri": _link_uri(request, "starting_after", last_id)})
    on_after_page = request.starting_after is not None
    if first_id is not None and (on_after_page or window.more_before):
        links.append({"rel": "prev", "uri": _link_uri(request, "ending_before", first_id)})
    return links


def list_body(
    uri_prefix: str, items: Iterable[tuple[str, bytes]], links: list[dict[str, str]]
) -> bytes:
    """``{"data":[{"data":<record>,"uri":"<prefix><id>"},...],"links":[...]}`` from bytes."""
    head = b'{"data":'
    middle = b',"uri":"' + uri_prefix.encode()
    parts: list[bytes] = [b'{"data":[']
    first = True
    for record_id, blob in items:
        if not first:
            parts.append(b",")
        first = False
        parts.extend((head, blob, middle, record_id.encode(), b'"}'))
    parts.append(b'],"links":')
    parts.append(msgspec.json.encode(links))
    parts.append(b"}")
    return b"".join(parts)


def single_body(blob: bytes) -> bytes:
    """``{"data":<record>}``."""
    return b'{"data":' + blob + b"}"


def page_items(
    ids: Sequence[str], window: Window, fetch: Callable[[int], bytes | None]
) -> list[tuple[str, bytes]]:
    """The (id, bytes) pairs of a window; ``fetch`` maps a position to the record's bytes."""
    items = []
    for at in window.positions:
        blob = fetch(at)
        if blob is not None:
            items.append((ids[at], blob))
    return items
