"""Paging: every record once, in id order, in a known number of requests, and no broken chain
is ever passed off as a complete list."""

from __future__ import annotations

import math
import random
from collections.abc import Callable

import httpx
import pytest

from rostersync.domain.records import RowProblem, SchoolRecord
from rostersync.errors import IncompleteFetchError, TransientSourceError
from rostersync.sources.clever import CleverSource, RetryPolicy

from .fakes import FakeClever, oid

SourceFactory = Callable[..., CleverSource]


def _schools(count: int) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = [{"id": oid(n), "name": f"School {n}"} for n in range(count)]
    random.Random(count).shuffle(rows)
    return rows


def _page(ids: list[int], next_uri: str | None) -> httpx.Response:
    links = [{"rel": "self", "uri": "/v3.0/schools"}]
    if next_uri:
        links.append({"rel": "next", "uri": next_uri})
    data = [{"data": {"id": oid(n), "name": "S"}, "uri": f"/v3.0/schools/{oid(n)}"} for n in ids]
    return httpx.Response(200, json={"data": data, "links": links})


@pytest.mark.parametrize("limit", [1, 7, 100, 10_000])
@pytest.mark.parametrize("count", [0, 1, 6, 7, 8, 100, 233])
def test_every_record_once_in_id_order_in_ceil_n_over_limit_requests(
    clever: FakeClever, make_source: SourceFactory, limit: int, count: int
) -> None:
    clever.records["schools"] = _schools(count)
    source = make_source(page_size=limit)

    got = list(source.schools())

    assert [s.source_id for s in got if isinstance(s, SchoolRecord)] == [
        oid(n) for n in range(count)
    ]
    assert not [p for p in got if isinstance(p, RowProblem)]
    # A server that sends `next` only while records remain: exactly ceil(N/limit) requests,
    # and one request for an empty list. The constant beyond ceil(N/limit) is 0.
    assert source.requests_made == max(1, math.ceil(count / limit))
    assert clever.paths()[0] == f"/v3.0/schools?limit={limit}"


@pytest.mark.parametrize("limit", [1, 7, 100])
@pytest.mark.parametrize("count", [7, 14, 100])
def test_server_that_links_past_a_full_last_page_costs_one_empty_page(
    clever: FakeClever, make_source: SourceFactory, limit: int, count: int
) -> None:
    clever.next_on_full_page = True
    clever.records["schools"] = _schools(count)
    source = make_source(page_size=limit)

    assert len(list(source.schools())) == count
    # floor(N/limit) full pages, then one empty page that ends the list.
    assert source.requests_made == count // limit + 1


def test_streams_page_by_page(clever: FakeClever, make_source: SourceFactory) -> None:
    clever.records["schools"] = _schools(10)
    stream = make_source(page_size=4).schools()

    first = [next(stream) for _ in range(4)]

    assert len(first) == 4
    assert len(clever.requests) == 1
    assert len(list(stream)) == 6
    assert len(clever.requests) == 3


def test_follows_next_links_verbatim(clever: FakeClever, make_source: SourceFactory) -> None:
    clever.fail(
        "/v3.0/schools?limit=2", _page([1, 2], f"/v3.0/schools?limit=2&x=y&starting_after={oid(2)}")
    )
    clever.fail("x=y", _page([3], None))

    got = list(make_source(page_size=2).schools())

    assert len(got) == 3
    assert clever.paths()[1] == f"/v3.0/schools?limit=2&x=y&starting_after={oid(2)}"


def test_stops_on_an_empty_page_even_with_a_next_link(
    clever: FakeClever, make_source: SourceFactory
) -> None:
    clever.fail("limit=5", _page([], f"/v3.0/schools?limit=5&starting_after={oid(9)}"))
    source = make_source(page_size=5)

    assert list(source.schools()) == []
    assert source.requests_made == 1


def test_a_next_link_seen_before_is_a_loop(clever: FakeClever, make_source: SourceFactory) -> None:
    again = f"/v3.0/schools?limit=2&starting_after={oid(2)}"
    clever.fail("/v3.0/schools", _page([1, 2], again))
    clever.fail("/v3.0/schools", _page([3, 4], again))

    with pytest.raises(IncompleteFetchError, match="already followed"):
        list(make_source(page_size=2).schools())
    assert len(clever.requests) == 2


def test_a_repeated_cursor_is_a_loop(clever: FakeClever, make_source: SourceFactory) -> None:
    clever.fail("/v3.0/schools", _page([1, 2], f"/v3.0/schools?limit=2&starting_after={oid(2)}"))
    clever.fail("/v3.0/schools", _page([2], f"/v3.0/schools?limit=3&starting_after={oid(2)}"))

    with pytest.raises(IncompleteFetchError, match="repeats the cursor"):
        list(make_source(page_size=2).schools())


def test_a_cursor_that_skips_records_breaks_the_chain(
    clever: FakeClever, make_source: SourceFactory
) -> None:
    clever.fail("/v3.0/schools", _page([1, 2], f"/v3.0/schools?limit=2&starting_after={oid(5)}"))

    with pytest.raises(IncompleteFetchError, match="skipped"):
        list(make_source(page_size=2).schools())
    assert len(clever.requests) == 1


def test_a_next_link_to_another_host_is_refused_without_sending_the_token(
    clever: FakeClever, make_source: SourceFactory
) -> None:
    clever.fail("/v3.0/schools", _page([1], "https://evil.example/v3.0/schools?starting_after=x"))

    with pytest.raises(IncompleteFetchError, match="not a path on the same server"):
        list(make_source(page_size=1).schools())
    assert all(r.url.host == "clever.test" for r in clever.requests)


def test_a_next_link_to_another_list_is_refused(
    clever: FakeClever, make_source: SourceFactory
) -> None:
    clever.fail("/v3.0/schools", _page([1], f"/v3.0/sections?starting_after={oid(1)}"))

    with pytest.raises(IncompleteFetchError, match="leaves the list"):
        list(make_source(page_size=1).schools())
    assert len(clever.requests) == 1


def test_a_next_link_that_answers_404_is_a_broken_chain_not_an_unshare(
    clever: FakeClever, make_source: SourceFactory
) -> None:
    clever.fail("/v3.0/schools", _page([1], f"/v3.0/schools?limit=1&starting_after={oid(1)}"))
    clever.fail("starting_after", httpx.Response(404, json={"message": "gone"}))

    with pytest.raises(IncompleteFetchError, match="HTTP 404"):
        list(make_source(page_size=1).schools())


def test_a_page_without_data_is_retried_then_incomplete(
    clever: FakeClever, make_source: SourceFactory
) -> None:
    clever.fail("/v3.0/schools", httpx.Response(200, json={"links": []}), count=3)
    source = make_source(retry=RetryPolicy(attempts=3))

    with pytest.raises(IncompleteFetchError, match="not a Clever reply"):
        list(source.schools())
    assert source.requests_made == 3


def test_a_page_that_is_not_json_is_retried_then_transient(
    clever: FakeClever, make_source: SourceFactory
) -> None:
    clever.fail("/v3.0/schools", httpx.Response(200, content=b'{"data": [tru'), count=4)
    source = make_source(retry=RetryPolicy(attempts=4))

    with pytest.raises(TransientSourceError, match="instead of JSON"):
        list(source.schools())
    assert source.requests_made == 4


def test_a_malformed_second_page_is_refetched_and_the_list_is_exact(
    clever: FakeClever, make_source: SourceFactory
) -> None:
    clever.records["schools"] = _schools(5)
    clever.fail("starting_after", httpx.Response(200, content=b"<html>oops"))

    got = list(make_source(page_size=3).schools())

    assert [s.source_id for s in got if isinstance(s, SchoolRecord)] == [oid(n) for n in range(5)]
    assert len(clever.requests) == 3


def test_a_failure_mid_list_raises_after_yielding_only_whole_pages(
    clever: FakeClever, make_source: SourceFactory
) -> None:
    clever.records["schools"] = _schools(5)
    clever.fail("starting_after", httpx.Response(503), count=2)
    seen: list[object] = []

    with pytest.raises(TransientSourceError):
        seen.extend(make_source(page_size=3, retry=RetryPolicy(attempts=2)).schools())
    assert len(seen) == 3
