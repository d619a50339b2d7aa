"""Fixtures for the Clever client tests: a fake Clever, fake time, and a source wired to both."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import pytest

from rostersync.sources.clever import CleverSource, RetryPolicy

from .fakes import BASE_URL, TOKEN, FakeClever, FakeTime


@pytest.fixture
def clever() -> FakeClever:
    return FakeClever()


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def make_source(clever: FakeClever, fake_time: FakeTime) -> Callable[..., CleverSource]:
    """Build a ``CleverSource`` on the fake Clever; keyword arguments override the defaults."""

    def build(**overrides: Any) -> CleverSource:
        options: dict[str, Any] = {
            "transport": clever.transport(),
            "retry": RetryPolicy(),
            "sleep": fake_time.sleep,
            "clock": fake_time.monotonic,
            "wall_clock": fake_time.wall,
            "rng": random.Random(7),
        }
        options.update(overrides)
        return CleverSource(BASE_URL, TOKEN, **options)

    return build
