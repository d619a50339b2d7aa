"""One GET against the Clever Data API, retried and classified.

This is the only module that touches httpx. It turns every way a request can go wrong into
one of the errors of ``rostersync.errors`` so that callers never see an HTTP status:

* 401 → ``TokenInvalidError``; 404 → ``NotSharedError``; 400, 413, 501 and other 4xx →
  ``FatalSourceError``, all without retrying (retrying cannot fix them).
* 429 → wait as the server asks (``Retry-After``, else ``X-RateLimit-Reset``), then retry.
* 5xx, timeouts, connection errors and 200s whose body is not JSON → retry with full-jitter
  backoff; when the attempts or the time budget run out → ``TransientSourceError``.
* A 200 that is JSON but not the expected shape is retried too (a proxy may have served
  something else), then → ``IncompleteFetchError``.

The decoder is called inside the retry loop, so a body that fails to decode is retried like
any other transient failure. The token never appears in a message or a log line.
"""

from __future__ import annotations

import gc
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import httpcore
import httpx
import msgspec

from rostersync.errors import (
    FatalSourceError,
    IncompleteFetchError,
    NotSharedError,
    SourceError,
    TokenInvalidError,
    TransientSourceError,
)
from rostersync.sources.clever.retry import RetryPolicy, rate_limit_wait

T = TypeVar("T")
log = logging.getLogger(__name__)

_MAX_DETAIL = 300

# httpcore reads a response body 64 KiB at a time, and each read goes through h11's parser,
# httpcore's and httpx's stream generators: for a 6 MB page of 10,000 users that is about
# 90 trips and a third of the page's CPU (29 against 20 ms a page, measured on loopback).
# Reads of up to 1 MiB: the socket returns what it has, so small replies cost nothing more.
# ``READ_NUM_BYTES`` is a class attribute httpcore reads per read; only ever raised here.
_READ_BYTES = 1 << 20
if getattr(httpcore.HTTP11Connection, "READ_NUM_BYTES", _READ_BYTES) < _READ_BYTES:
    httpcore.HTTP11Connection.READ_NUM_BYTES = _READ_BYTES


@dataclass(frozen=True, slots=True)
class _Retry:
    """A failed attempt that may succeed if tried again."""

    reason: str
    status: int | None = None
    wait: float | None = None
    exhausted: type[SourceError] = TransientSourceError


class CleverHttp:
    """A Bearer-authenticated GET with Clever's retry and error rules.

    ``transport`` is the test seam (an ``httpx.MockTransport`` or any ``BaseTransport``);
    ``sleep``, ``clock`` (monotonic seconds), ``wall_clock`` (unix seconds) and ``rng`` are
    injected so tests never really wait and backoff stays reproducible.
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        transport: httpx.BaseTransport | None = None,
        retry: RetryPolicy | None = None,
        timeout: float = 30.0,
        sleep: Callable[[float], None],
        clock: Callable[[], float],
        wall_clock: Callable[[], float],
        rng: random.Random | None = None,
    ) -> None:
        if not token:
            raise FatalSourceError(
                "No Clever district token was given. Pass the district-app token "
                "(for the CLI: --token or ROSTERSYNC_CLEVER_TOKEN)."
            )
        self._token = token
        self._retry = retry or RetryPolicy()
        self._timeout = timeout
        self._sleep = sleep
        self._clock = clock
        self._wall_clock = wall_clock
        self._rng = rng or random.Random()
        self._client = httpx.Client(
            base_url=base_url.rstrip("/"),
            transport=transport,
            timeout=httpx.Timeout(timeout),
            follow_redirects=False,
            headers={
                "Authorization": f"Bearer {token}",
                "Accept": "application/json",
                "User-Agent": "rostersync",
            },
        )
        self.requests_made = 0

    def close(self) -> None:
        self._client.close()

    def get(self, uri: str, decode: Callable[[bytes], T], *, single: bool = False) -> T:
        """GET ``uri`` (relative, e.g. ``/v3.0/users?limit=100``) and decode the body.

        ``single`` marks a one-record path, whose 404 means the record was unshared or
        deleted rather than that the token cannot see the collection.
        """
        policy = self._retry
        start = self._clock()
        for attempt in range(1, policy.attempts + 1):
            outcome = self._attempt(uri, decode, single)
            # An httpx response is part of reference cycles (its stream points back to it),
            # so its body (a whole page) outlives it until the cycle collector runs, which
            # may be many pages later when little else is allocated (a resync that passes
            # over most pages: 105 -> 212 MiB at 200k students). The young generations are
            # small: collecting them after each request frees the page now.
            gc.collect(1)
            if not isinstance(outcome, _Retry):
                return outcome
            elapsed = self._clock() - start
            if attempt == policy.attempts:
                raise self._exhausted(uri, outcome, attempt, elapsed)
            delay = (
                outcome.wait if outcome.wait is not None else policy.backoff(attempt - 1, self._rng)
            )
            if elapsed + delay > policy.max_total:
                raise self._exhausted(uri, outcome, attempt, elapsed, next_wait=delay)
            log.warning(
                "Clever GET %s failed (%s); retrying in %.1fs (attempt %d of %d).",
                uri,
                outcome.reason,
                delay,
                attempt + 1,
                policy.attempts,
            )
            self._sleep(delay)
        raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover

    def _attempt(self, uri: str, decode: Callable[[bytes], T], single: bool) -> T | _Retry:
        self.requests_made += 1
        try:
            response = self._client.get(uri)
        except httpx.TimeoutException:
            return _Retry(f"no answer within the {self._timeout:g}s timeout")
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
            raise FatalSourceError(
                f"The Clever base URL or page link is not usable ({self._scrub(str(exc))}) "
                f"for GET {uri}. Check the base URL setting.",
                path=uri,
            ) from None
        except httpx.TransportError as exc:
            return _Retry(f"a connection error ({type(exc).__name__}: {self._scrub(str(exc))})")
        return self._classify(uri, response, decode, single)

    def _classify(
        self, uri: str, response: httpx.Response, decode: Callable[[bytes], T], single: bool
    ) -> T | _Retry:
        status = response.status_code
        if 200 <= status < 300:
            return self._decode(uri, response.content, decode, status)
        if status == 429:
            wait = rate_limit_wait(response.headers, self._wall_clock())
            return _Retry("rate limited (HTTP 429)", status, wait)
        if status >= 500 and status != 501:
            return _Retry(f"HTTP {status}{self._detail(response)}", status)
        raise self._fatal(uri, response, single)

    def _decode(
        self, uri: str, body: bytes, decode: Callable[[bytes], T], status: int
    ) -> T | _Retry:
        try:
            return decode(body)
        except msgspec.ValidationError as exc:
            return _Retry(
                f"a JSON body that is not a Clever reply ({exc})",
                status,
                exhausted=IncompleteFetchError,
            )
        except msgspec.DecodeError:
            return _Retry(f"HTTP {status} with {_describe_body(body)} instead of JSON", status)
        except RecursionError:
            # Absurdly deep nesting: the same bytes will fail again, so do not retry.
            raise IncompleteFetchError(
                f"Clever's reply to GET {uri} is nested too deeply to read, so the list is "
                "incomplete and nothing was applied. Check the records in Clever.",
                status,
                uri,
            ) from None

    def _fatal(self, uri: str, response: httpx.Response, single: bool) -> SourceError:
        status = response.status_code
        detail = self._detail(response)
        if status == 401:
            return TokenInvalidError(
                f"Clever refused the district token (HTTP 401) for GET {uri}{detail}. The token "
                "was revoked or the app was uninstalled from the district: reconnect the "
                "district in Clever or fetch its current token, then try again.",
                status=status,
                path=uri,
            )
        if status == 404:
            what = (
                "the record was unshared from the app or deleted in Clever. Check the "
                "district's data sharing in Clever if it should still be there."
                if single
                else "this token cannot see that list. Check that the token is a district-app "
                "token and that the district shares this data with the app."
            )
            return NotSharedError(
                f"Clever answered HTTP 404 for GET {uri}{detail}: {what}", status=status, path=uri
            )
        return FatalSourceError(_fatal_message(status, uri, detail), status=status, path=uri)

    def _exhausted(
        self, uri: str, last: _Retry, attempts: int, elapsed: float, next_wait: float | None = None
    ) -> SourceError:
        budget = (
            f"; the next wait of {next_wait:.1f}s would exceed the {self._retry.max_total:g}s "
            "retry budget"
            if next_wait is not None
            else ""
        )
        if last.exhausted is IncompleteFetchError:
            advice = "The reply cannot be trusted, so nothing was taken from it; try again later."
        else:
            advice = "This is usually temporary: try again later, and check Clever's status page."
        return last.exhausted(
            f"Clever GET {uri} failed {attempts} time(s) in {elapsed:.1f}s (last: {last.reason})"
            f"{budget}. {advice}",
            status=last.status,
            path=uri,
        )

    def _detail(self, response: httpx.Response) -> str:
        """The server's own explanation, when the body is JSON; else what the body was."""
        message = _json_message(response.content)
        if message:
            return f" (Clever said: {self._scrub(message)})"
        return f" with {_describe_body(response.content)}"

    def _scrub(self, text: str) -> str:
        return text.replace(self._token, "[token]")


def _fatal_message(status: int, uri: str, detail: str) -> str:
    if status == 413:
        return (
            f"Clever rejected GET {uri} as too large (HTTP 413){detail}. Clever serves at most "
            "10000 records per page: lower the page size to 10000 or less."
        )
    if status == 501:
        return (
            f"Clever does not support GET {uri} (HTTP 501){detail}. This request cannot "
            "succeed as sent; report it to the rostersync developers."
        )
    if 400 <= status < 500:
        return (
            f"Clever rejected GET {uri} (HTTP {status}){detail}. Retrying will not help; check "
            "the base URL, the page size and the token's scopes."
        )
    return (
        f"Clever answered GET {uri} with an unexpected HTTP {status}{detail}. Check the base "
        "URL: it should point at the Clever API (or the sandbox), not a proxy or login page."
    )


def _json_message(body: bytes) -> str:
    """``message`` or ``error`` from a JSON error body; "" if the body is not such JSON."""
    try:
        parsed: Any = msgspec.json.decode(body)
    except msgspec.DecodeError:
        return ""
    if not isinstance(parsed, dict):
        return ""
    for key in ("message", "error"):
        value = parsed.get(key)
        if isinstance(value, str) and value.strip():
            return " ".join(value.split())[:_MAX_DETAIL]
    return ""


def _describe_body(body: bytes) -> str:
    stripped = body.lstrip()[:64].lower()
    if not stripped:
        return "an empty body"
    if stripped.startswith((b"<!doctype html", b"<html", b"<")):
        return "an HTML page"
    return "a body that is not JSON"
