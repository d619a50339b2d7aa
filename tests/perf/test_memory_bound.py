"""Memory is bounded by the page, not the district.

The sync runs in a child process (the benchmark's measured run) against a sandbox in another
process, at 50k and at 200k students; the child's peak RSS may grow by less than 20 % while
the district grows four times. No duration is asserted.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from rostersync.bench.run import measure, start_server

pytestmark = pytest.mark.slow


def peak_rss_of_first_load(directory: Path, database: Path) -> float:
    server = start_server(directory, one_percent=False)
    try:
        report = measure(["sync", server.base_url, server.token, f"sqlite:///{database}"])
    finally:
        server.stop()
    assert set(report["outcomes"]) == {"applied"}
    return float(report["peak_rss_mib"])


@pytest.mark.timeout(600)
def test_peak_memory_does_not_grow_with_the_district(
    district_50k: Path, district_200k: Path, tmp_path: Path
) -> None:
    small = peak_rss_of_first_load(district_50k, tmp_path / "small.db")
    large = peak_rss_of_first_load(district_200k, tmp_path / "large.db")
    assert large < small * 1.2, f"peak RSS grew from {small} MiB to {large} MiB"
