"""Walk a Clever list endpoint page by page, refusing any chain that cannot be trusted.

Clever pages with ``rel: next`` links (``starting_after=<last id on the page>``); the client
follows them verbatim and stops when there is no ``next`` or a page is empty (Clever may
send a ``next`` that leads to ``"data": []``). A list that silently skipped or repeated
records would look like removals to the sync, so every doubtful chain raises
``IncompleteFetchError`` instead of ending early:

* a ``next`` uri or ``starting_after`` cursor seen before (a loop);
* a ``starting_after`` cursor that is not the last id of the page (records would be skipped);
* a ``next`` link that is not a path on the same server (it would also leak the token), or
  that leads to another list;
* a ``next`` link that answers 404 (the chain broke; nothing was unshared).

Only one page is held at a time: the caller gets each page's raw items as it arrives.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import msgspec

from rostersync.errors import IncompleteFetchError, NotSharedError
from rostersync.sources.clever.transport import CleverHttp
from rostersync.sources.clever.wire import Link, Page, loose_id

_PAGE = msgspec.json.Decoder(Page)


def list_uri(path: str, page_size: int) -> str:
    """The first page's uri, e.g. ``/v3.0/users?limit=10000``."""
    return f"/v3.0/{path}?limit={page_size}"


def iter_pages(http: CleverHttp, first_uri: str) -> Iterator[list[msgspec.Raw]]:
    """Yield the raw items of every page of a list, in the order Clever sends them."""
    seen_uris = {first_uri}
    seen_cursors: set[str] = set()
    uri = first_uri
    while True:
        page = _get_page(http, uri, following=uri != first_uri)
        if not page.data:
            return
        yield page.data
        next_uri = _next_uri(page.links)
        if next_uri is None:
            return
        _check_next(uri, next_uri, page.data, seen_uris, seen_cursors)
        uri = next_uri


def _get_page(http: CleverHttp, uri: str, *, following: bool) -> Page:
    """One page; a 404 on a ``next`` link means the chain broke, not that data was unshared."""
    try:
        return http.get(uri, _PAGE.decode)
    except NotSharedError as exc:
        if not following:
            raise
        raise _broken(uri, f"following its next link got HTTP 404 ({exc.message})") from exc


def _next_uri(links: list[Link] | None) -> str | None:
    for link in links or ():
        if link.rel == "next" and link.uri:
            return link.uri
    return None


def _check_next(
    uri: str,
    next_uri: str,
    items: list[msgspec.Raw],
    seen_uris: set[str],
    seen_cursors: set[str],
) -> None:
    """Raise ``IncompleteFetchError`` unless ``next_uri`` continues the chain after ``uri``."""
    if not next_uri.startswith("/") or next_uri.startswith("//"):
        raise _broken(uri, f"its next link {next_uri!r} is not a path on the same server")
    if urlsplit(next_uri).path != urlsplit(uri).path:
        raise _broken(uri, f"its next link {next_uri} leaves the list it belongs to")
    if next_uri in seen_uris:
        raise _broken(uri, f"its next link {next_uri} was already followed (a page loop)")
    seen_uris.add(next_uri)
    cursor = _cursor(next_uri)
    if cursor is None:
        return
    if cursor in seen_cursors:
        raise _broken(uri, f"its next link repeats the cursor starting_after={cursor}")
    seen_cursors.add(cursor)
    last_id = loose_id(items[-1])
    if last_id and cursor != last_id:
        raise _broken(
            uri,
            f"its next link starts after {cursor}, not after the page's last record {last_id}, "
            "so records would be skipped or repeated",
        )


def _cursor(uri: str) -> str | None:
    values = parse_qs(urlsplit(uri).query).get("starting_after")
    return values[-1] if values else None


def _broken(uri: str, why: str) -> IncompleteFetchError:
    return IncompleteFetchError(
        f"The Clever page chain broke after GET {uri}: {why}. The list is incomplete, so "
        "nothing was taken from it; try again later, and report it if it keeps happening.",
        path=uri,
    )
