"""The ``/v3.0`` endpoints: routing a path to a list page or a single record, as bytes.

Framework-free on purpose: ``handle_api`` takes the path and query and returns an
``Answer``. Lists are joined from the records' pre-rendered bytes; nothing is re-encoded per
request. Records of unshared schools are invisible here (lists skip them, paths answer 404).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rostersync.sandbox.answer import JSON, Answer, ApiError, error_answer
from rostersync.sandbox.events import EVENT_RECORD_TYPES
from rostersync.sandbox.indexes import USER_ROLES
from rostersync.sandbox.paging import (
    PageRequest,
    list_body,
    page_items,
    page_links,
    parse_page_request,
    select_page,
    single_body,
)
from rostersync.sandbox.relations import RelatedList, RelatedOne, resolve
from rostersync.sandbox.store import DistrictStore

API_PREFIX = "/v3.0"
LIST_KINDS: tuple[str, ...] = ("schools", "sections", "users", "terms", "courses")
BOGUS_PATH = "/v3.0/sandbox-broken-link"


def handle_api(
    store: DistrictStore,
    path: str,
    raw_query: str,
    params: Sequence[tuple[str, str]],
    error_style: str = "message",
    broken_next: str | None = None,
) -> Answer:
    """Answer one GET under ``/v3.0`` (``path`` includes the prefix).

    ``broken_next`` (``repeat`` or ``bogus``) corrupts the page's ``next`` link, for the
    ``broken_next`` fault.
    """
    segments = [part for part in path[len(API_PREFIX) :].split("/") if part]
    try:
        with store.lock:
            return _route(store, segments, path, raw_query, params, broken_next)
    except ApiError as error:
        return error_answer(error.status, error.message, error_style)


def _route(
    store: DistrictStore,
    segments: list[str],
    path: str,
    raw_query: str,
    params: Sequence[tuple[str, str]],
    broken_next: str | None,
) -> Answer:
    values = dict(params)
    if len(segments) == 1:
        kind = segments[0]
        if kind == "districts":
            item = [(store.district_id, store.district_blob)]
            links = [{"rel": "self", "uri": path + (f"?{raw_query}" if raw_query else "")}]
            return Answer(200, list_body(f"{API_PREFIX}/districts/", item, links))
        request = parse_page_request(path, raw_query, params)
        if kind == "events":
            return _events(store, request, params, broken_next)
        if kind in LIST_KINDS:
            return _table_list(store, kind, request, values.get("role"), broken_next)
    elif len(segments) == 2:
        return _single(store, segments[0], segments[1])
    elif len(segments) == 3 and segments[0] in LIST_KINDS:
        kind, record_id, sub = segments
        _single(store, kind, record_id)  # 404 when absent or unshared
        related = resolve(store, kind, record_id, sub, values)
        if isinstance(related, RelatedOne):
            return _single(store, related.kind, related.record_id)
        request = parse_page_request(path, raw_query, params)
        return _related_list(store, related, request, broken_next)
    raise ApiError(404, f"The sandbox has no endpoint {path}.")


def _single(store: DistrictStore, kind: str, record_id: str) -> Answer:
    if kind == "districts":
        if record_id != store.district_id:
            raise ApiError(404, f"The district {record_id!r} was not found.")
        return Answer(200, single_body(store.district_blob))
    if kind == "events":
        blob = store.events.table.get(record_id)
    elif kind in LIST_KINDS:
        blob = None if record_id in store.hidden() else store.tables[kind].get(record_id)
    else:
        raise ApiError(404, f"The sandbox has no endpoint /v3.0/{kind}/{{id}}.")
    if blob is None:
        raise ApiError(404, f"The {kind} record {record_id!r} was not found.")
    return Answer(200, single_body(blob))


def _table_list(
    store: DistrictStore,
    kind: str,
    request: PageRequest,
    role: str | None,
    broken_next: str | None,
) -> Answer:
    table = store.tables[kind]
    if kind == "users" and role:
        if role not in USER_ROLES:
            raise ApiError(400, f"The role {role!r} is not one of {USER_ROLES}.")
        ids = store.role_index().by_role[role]
        return _render(kind, ids, lambda at: table.get(ids[at]), request, store, broken_next)
    return _render(kind, table.ids, lambda at: table.blobs[at], request, store, broken_next)


def _related_list(
    store: DistrictStore, related: RelatedList, request: PageRequest, broken_next: str | None
) -> Answer:
    table, ids = store.tables[related.kind], related.ids
    return _render(related.kind, ids, lambda at: table.get(ids[at]), request, store, broken_next)


def _events(
    store: DistrictStore,
    request: PageRequest,
    params: Sequence[tuple[str, str]],
    broken_next: str | None,
) -> Answer:
    record_types = {value for key, value in params if key == "record_type" and value}
    unknown = record_types - set(EVENT_RECORD_TYPES)
    if unknown:
        raise ApiError(400, f"Unknown record_type {sorted(unknown)}; use {EVENT_RECORD_TYPES}.")
    school = dict(params).get("school") or None
    table = store.events.table
    ids = store.events.matching(record_types, school)
    fetch: Callable[[int], bytes | None] = (
        (lambda at: table.blobs[at]) if ids is table.ids else (lambda at: table.get(ids[at]))
    )
    return _render("events", ids, fetch, request, None, broken_next)


def _render(
    kind: str,
    ids: Sequence[str],
    fetch: Callable[[int], bytes | None],
    request: PageRequest,
    store: DistrictStore | None,
    broken_next: str | None,
) -> Answer:
    hidden = store.hidden() if store is not None else frozenset()
    window = select_page(ids, request, hidden)
    items = page_items(ids, window, fetch)
    first = items[0][0] if items else None
    last = items[-1][0] if items else None
    links = page_links(request, first, last, window)
    if broken_next is not None:
        links = _broken_links(links, request, broken_next, last)
    return Answer(200, list_body(f"{API_PREFIX}/{kind}/", items, links), JSON)


def _broken_links(
    links: list[dict[str, str]], request: PageRequest, mode: str, last: str | None
) -> list[dict[str, str]]:
    """Replace ``next`` by a link to this same page again, or (``bogus``) to a 404 path."""
    kept = [link for link in links if link["rel"] != "next"]
    if mode == "bogus":
        uri = f"{BOGUS_PATH}?starting_after={last or 'none'}"
    else:
        uri = request.path + (f"?{request.raw_query}" if request.raw_query else "")
    return [*kept, {"rel": "next", "uri": uri}]
