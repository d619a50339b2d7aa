"""Exact request counts, and a resync of unchanged data writes no roster row."""

from __future__ import annotations

import math

import pytest

from rostersync.domain.state import Outcome
from rostersync.service.ports import RosterSource
from rostersync.sources.clever.retry import RetryPolicy
from rostersync.sources.clever.source import CleverSource
from tests.integration.conftest import Env

PAGE_SIZE = 100


def small_pages(base_url: str, token: str) -> RosterSource:
    retry = RetryPolicy(attempts=2, base_delay=0.0, max_delay=0.0, max_total=5.0)
    return CleverSource(base_url, token, page_size=PAGE_SIZE, retry=retry, timeout=5.0)


def expected_requests(env: Env) -> int:
    """One for the district, then ceil(n / page size) per list (one for an empty list)."""
    counts = env.data.counts()
    lists = ("schools", "terms", "courses", "users", "sections")
    return 1 + sum(max(1, math.ceil(counts[kind] / PAGE_SIZE)) for kind in lists)


@pytest.fixture
def paged_env(env: Env) -> Env:
    env.services.sources = small_pages
    return env


def test_a_sync_makes_exactly_one_request_per_page(paged_env: Env) -> None:
    result = paged_env.sync()
    assert result.runs
    assert {run.requests for run in result.runs} == {expected_requests(paged_env)}


def test_a_resync_of_unchanged_data_writes_no_roster_row(paged_env: Env) -> None:
    first = paged_env.sync()
    assert {run.outcome for run in first.runs} == {Outcome.APPLIED}
    counter = paged_env.count_writes()
    second = paged_env.sync()
    assert {run.outcome for run in second.runs} == {Outcome.UNCHANGED}
    assert counter.rows == 0
    assert counter.statements == []
    assert {run.requests for run in second.runs} == {expected_requests(paged_env)}
