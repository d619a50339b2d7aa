"""Retries and error classification: what each failure becomes, how long the client waits,
and that the token never leaks into a message."""

from __future__ import annotations

import random
from collections.abc import Callable

import httpx
import pytest

from rostersync.domain.records import SchoolRecord
from rostersync.errors import (
    FatalSourceError,
    NotSharedError,
    SourceError,
    TokenInvalidError,
    TransientSourceError,
)
from rostersync.sources.clever import CleverSource, RetryPolicy
from rostersync.sources.clever.retry import rate_limit_wait

from .fakes import EPOCH, TOKEN, FakeClever, FakeTime, oid

SourceFactory = Callable[..., CleverSource]


@pytest.fixture
def five_schools(clever: FakeClever) -> list[str]:
    clever.records["schools"] = [{"id": oid(n), "name": f"S{n}"} for n in range(5)]
    return [oid(n) for n in range(5)]


def _ids(source: CleverSource) -> list[str]:
    return [s.source_id for s in source.schools() if isinstance(s, SchoolRecord)]


def _raise(exc: Exception) -> Callable[[httpx.Request], httpx.Response]:
    def handler(_request: httpx.Request) -> httpx.Response:
        raise exc

    return handler


def test_429_waits_until_x_ratelimit_reset(
    clever: FakeClever, make_source: SourceFactory, fake_time: FakeTime, five_schools: list[str]
) -> None:
    reset = str(int(EPOCH) + 7)
    clever.fail("/v3.0/schools", httpx.Response(429, headers={"X-RateLimit-Reset": reset}))

    assert _ids(make_source()) == five_schools
    assert fake_time.sleeps == [7.0]


def test_429_with_several_buckets_waits_for_the_latest_reset(
    clever: FakeClever, make_source: SourceFactory, fake_time: FakeTime, five_schools: list[str]
) -> None:
    headers = {
        "x-ratelimit-reset": f"{int(EPOCH) + 3}, {int(EPOCH) + 12}",
        "X-Ratelimit-Limit": "200, 1200",
        "X-Ratelimit-Remaining": "0, 0",
    }
    clever.fail("/v3.0/schools", httpx.Response(429, headers=headers))

    assert _ids(make_source()) == five_schools
    assert fake_time.sleeps == [12.0]


def test_429_prefers_retry_after(
    clever: FakeClever, make_source: SourceFactory, fake_time: FakeTime, five_schools: list[str]
) -> None:
    headers = {"Retry-After": "2", "X-RateLimit-Reset": str(int(EPOCH) + 50)}
    clever.fail("/v3.0/schools", httpx.Response(429, headers=headers), count=2)

    assert _ids(make_source()) == five_schools
    assert fake_time.sleeps == [2.0, 2.0]


def test_429_without_headers_backs_off(
    clever: FakeClever, make_source: SourceFactory, fake_time: FakeTime, five_schools: list[str]
) -> None:
    clever.fail("/v3.0/schools", httpx.Response(429), count=2)

    assert _ids(make_source(retry=RetryPolicy(base_delay=1.0))) == five_schools
    assert len(fake_time.sleeps) == 2
    assert 0 <= fake_time.sleeps[0] <= 1.0
    assert 0 <= fake_time.sleeps[1] <= 2.0


def test_a_rate_limit_reset_beyond_the_retry_budget_gives_up_at_once(
    clever: FakeClever, make_source: SourceFactory, fake_time: FakeTime
) -> None:
    reset = str(int(EPOCH) + 500)
    clever.fail("/v3.0/schools", httpx.Response(429, headers={"X-RateLimit-Reset": reset}))

    with pytest.raises(TransientSourceError, match="rate limited") as caught:
        list(make_source(retry=RetryPolicy(max_total=120)).schools())
    assert fake_time.sleeps == []
    assert "retry budget" in str(caught.value)


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_is_retried_then_the_exact_records_come_back(
    clever: FakeClever,
    make_source: SourceFactory,
    fake_time: FakeTime,
    five_schools: list[str],
    status: int,
) -> None:
    clever.fail("/v3.0/schools", httpx.Response(status, json={"message": "boom"}), count=3)
    source = make_source(retry=RetryPolicy(base_delay=0.5, max_delay=30))

    assert _ids(source) == five_schools
    assert source.requests_made == 4
    caps = [0.5, 1.0, 2.0]
    assert all(0 <= wait <= cap for wait, cap in zip(fake_time.sleeps, caps, strict=True))


def test_persisting_5xx_is_transient_after_exactly_attempts_requests(
    clever: FakeClever, make_source: SourceFactory, fake_time: FakeTime
) -> None:
    clever.fail("/v3.0/schools", httpx.Response(503), count=100)
    source = make_source(retry=RetryPolicy(attempts=6))

    with pytest.raises(TransientSourceError, match="HTTP 503") as caught:
        list(source.schools())
    assert len(clever.requests) == 6
    assert len(fake_time.sleeps) == 5
    assert caught.value.status == 503
    assert caught.value.retryable


def test_retries_stop_when_the_time_budget_is_spent(
    clever: FakeClever, make_source: SourceFactory, fake_time: FakeTime
) -> None:
    clever.fail("/v3.0/schools", httpx.Response(500), count=100)
    policy = RetryPolicy(attempts=100, base_delay=10, max_delay=10, max_total=30)

    with pytest.raises(TransientSourceError, match="retry budget"):
        list(make_source(retry=policy, rng=random.Random(1)).schools())
    assert sum(fake_time.sleeps) <= 30


@pytest.mark.parametrize(
    "exc",
    [
        httpx.ReadTimeout("timed out"),
        httpx.ConnectTimeout("timed out"),
        httpx.ConnectError("connection refused"),
        httpx.RemoteProtocolError("peer closed connection"),
    ],
)
def test_timeouts_and_connection_errors_are_retried(
    clever: FakeClever, make_source: SourceFactory, five_schools: list[str], exc: Exception
) -> None:
    clever.fail("/v3.0/schools", _raise(exc), count=2)

    assert _ids(make_source()) == five_schools
    assert len(clever.requests) == 3


def test_persisting_timeouts_are_transient(clever: FakeClever, make_source: SourceFactory) -> None:
    clever.fail("/v3.0/schools", _raise(httpx.ReadTimeout("timed out")), count=3)

    with pytest.raises(TransientSourceError, match="no answer within the 5s timeout"):
        list(make_source(retry=RetryPolicy(attempts=3), timeout=5.0).schools())


def test_401_is_token_invalid_without_retry(clever: FakeClever, make_source: SourceFactory) -> None:
    clever.token = "another-token"
    source = make_source()

    with pytest.raises(TokenInvalidError, match="revoked or the app was uninstalled") as caught:
        source.district()
    assert source.requests_made == 1
    assert caught.value.status == 401
    assert not caught.value.retryable


def test_404_on_a_single_record_is_not_shared(make_source: SourceFactory) -> None:
    source = make_source()

    with pytest.raises(NotSharedError, match="unshared from the app or deleted"):
        source.school(oid(42))
    assert source.requests_made == 1


def test_404_on_a_list_is_not_shared(clever: FakeClever, make_source: SourceFactory) -> None:
    clever.fail("/v3.0/terms", httpx.Response(404))

    with pytest.raises(NotSharedError, match="cannot see that list"):
        list(make_source().terms())


@pytest.mark.parametrize(
    ("status", "words"), [(400, "HTTP 400"), (413, "at most 10000"), (501, "does not support")]
)
def test_client_errors_are_fatal_without_retry(
    clever: FakeClever, make_source: SourceFactory, status: int, words: str
) -> None:
    clever.fail("/v3.0/schools", httpx.Response(status, json={"message": "nope"}), count=5)
    source = make_source()

    with pytest.raises(FatalSourceError, match=words) as caught:
        list(source.schools())
    assert type(caught.value) is FatalSourceError
    assert source.requests_made == 1
    assert "Clever said: nope" in str(caught.value)


def test_an_html_error_body_still_gives_a_clear_message(
    clever: FakeClever, make_source: SourceFactory
) -> None:
    html = b"<!DOCTYPE html><html><body><h1>Bad Request</h1></body></html>"
    clever.fail("/v3.0/sections", httpx.Response(400, content=html))

    with pytest.raises(FatalSourceError) as caught:
        list(make_source().sections())
    message = str(caught.value)
    assert "HTTP 400" in message
    assert "/v3.0/sections?limit=10000" in message
    assert "an HTML page" in message
    assert "<html" not in message


def test_an_empty_error_body_still_gives_a_clear_message(
    clever: FakeClever, make_source: SourceFactory
) -> None:
    clever.fail("/v3.0/districts", httpx.Response(401, content=b""))

    with pytest.raises(TokenInvalidError, match="with an empty body"):
        make_source().district()


def test_a_json_error_key_is_read_too(clever: FakeClever, make_source: SourceFactory) -> None:
    clever.fail("/v3.0/districts", httpx.Response(401, json={"error": "Invalid token"}))

    with pytest.raises(TokenInvalidError, match="Clever said: Invalid token"):
        make_source().district()


def _every_failure() -> list[tuple[httpx.Response, type[SourceError]]]:
    echo = {"message": f"bad token {TOKEN}"}
    return [
        (httpx.Response(401, json=echo), TokenInvalidError),
        (httpx.Response(404, json=echo), NotSharedError),
        (httpx.Response(400, json=echo), FatalSourceError),
        (httpx.Response(503, json=echo), TransientSourceError),
        (httpx.Response(200, content=b"nope"), TransientSourceError),
    ]


@pytest.mark.parametrize(("response", "error"), _every_failure())
def test_the_token_never_appears_in_an_error(
    clever: FakeClever,
    make_source: SourceFactory,
    caplog: pytest.LogCaptureFixture,
    response: httpx.Response,
    error: type[SourceError],
) -> None:
    clever.fail("/v3.0/users", response, count=10)

    with pytest.raises(error) as caught:
        list(make_source(retry=RetryPolicy(attempts=2)).users())
    assert TOKEN not in str(caught.value)
    assert TOKEN not in repr(caught.value.args)
    assert TOKEN not in caplog.text


def test_the_token_is_sent_as_a_bearer_header(
    clever: FakeClever, make_source: SourceFactory
) -> None:
    make_source().district()

    assert clever.requests[0].headers["authorization"] == f"Bearer {TOKEN}"


def test_retry_after_as_an_http_date() -> None:
    headers = httpx.Headers({"Retry-After": "Tue, 14 Nov 2023 22:13:30 GMT"})

    assert rate_limit_wait(headers, 1_700_000_000.0) == pytest.approx(10.0)


def test_unreadable_rate_limit_headers_mean_no_advice() -> None:
    headers = httpx.Headers({"Retry-After": "soon", "X-RateLimit-Reset": "later"})

    assert rate_limit_wait(headers, EPOCH) is None


def test_responses_are_read_a_mebibyte_at_a_time() -> None:
    """httpcore's 64 KiB reads cost a third of a large page's CPU; the transport raises them
    (the loopback tests of the sandbox read whole pages through it)."""
    import httpcore

    import rostersync.sources.clever.transport as transport

    assert httpcore.HTTP11Connection.READ_NUM_BYTES == transport._READ_BYTES == 1 << 20
