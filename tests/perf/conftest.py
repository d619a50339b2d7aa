"""Fixtures for the performance tests: generated districts cached for the session."""

from __future__ import annotations

from pathlib import Path

import pytest

from rostersync.bench.workload import district_dir
from tests.integration.conftest import district_data, env  # the sync engine's fixtures

__all__ = ["district_data", "env"]


@pytest.fixture(scope="session")
def bench_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where this session generates its districts (each size once)."""
    return tmp_path_factory.mktemp("bench")


@pytest.fixture(scope="session")
def district_50k(bench_root: Path) -> Path:
    return district_dir(bench_root, 50_000)


@pytest.fixture(scope="session")
def district_200k(bench_root: Path) -> Path:
    return district_dir(bench_root, 200_000)
