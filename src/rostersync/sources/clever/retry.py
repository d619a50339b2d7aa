"""When to try a Clever request again, and how long to wait first.

Kept apart from the HTTP code so the waiting rules can be read (and tested) on their own:
exponential backoff with full jitter for failures that may pass, and the server's own word
(``Retry-After``, else ``X-RateLimit-Reset``) for rate limits. Clever documents
``X-RateLimit-Reset`` (unix seconds); ``Retry-After`` appears in no Clever source, so it is
honoured if present but never required. Values may be comma-separated lists, one per rate-limit
bucket (the legacy Clever SDK's tests mock that), in which case the latest reset wins.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard to try before giving up on one request.

    ``attempts`` counts every try, the first included. ``max_total`` bounds the time spent on
    one request, waits included: a wait that would overrun it is not started.
    """

    attempts: int = 6
    base_delay: float = 0.5
    max_delay: float = 30.0
    max_total: float = 120.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("RetryPolicy.attempts must be at least 1; use 1 to never retry.")
        if self.base_delay < 0 or self.max_delay < 0 or self.max_total < 0:
            raise ValueError("RetryPolicy delays must not be negative.")

    def backoff(self, retry_number: int, rng: random.Random) -> float:
        """Full-jitter exponential backoff: uniform in [0, min(max_delay, base * 2**n)].

        ``retry_number`` is 0 for the wait before the second attempt.
        """
        ceiling = min(self.max_delay, self.base_delay * (2.0 ** min(retry_number, 60)))
        return rng.uniform(0.0, ceiling)


def rate_limit_wait(headers: Mapping[str, str], wall_now: float) -> float | None:
    """Seconds the server asks us to wait before the next request, or None if it does not say.

    ``headers`` must look keys up case-insensitively (``httpx.Headers`` does). ``wall_now`` is
    the current unix time, needed to turn ``X-RateLimit-Reset`` into a duration.
    """
    retry_after = headers.get("retry-after")
    if retry_after:
        wait = _parse_retry_after(retry_after, wall_now)
        if wait is not None:
            return wait
    reset = headers.get("x-ratelimit-reset")
    if reset:
        resets = [_to_float(part) for part in reset.split(",")]
        known = [value for value in resets if value is not None]
        if known:
            return max(0.0, max(known) - wall_now)
    return None


def _parse_retry_after(value: str, wall_now: float) -> float | None:
    """``Retry-After`` is either delta-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    seconds = [_to_float(part) for part in value.split(",")]
    known = [s for s in seconds if s is not None]
    if known:
        return max(0.0, max(known))
    try:
        when = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - wall_now)


def _to_float(text: str) -> float | None:
    try:
        number = float(text.strip())
    except ValueError:
        return None
    if number != number or number in (float("inf"), float("-inf")):
        return None
    return number
