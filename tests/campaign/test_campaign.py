"""A short fault campaign on each engine (``make campaign`` runs the long one)."""

from __future__ import annotations

from pathlib import Path

from tests.campaign.harness import run_campaign


def test_a_seeded_fault_campaign_finds_no_violation(store_url: str, tmp_path: Path) -> None:
    tally = run_campaign(
        seed=3, runs=30, store_url=store_url, mirror_url=f"sqlite:///{tmp_path / 'm.db'}"
    )
    assert tally.runs == 30
    assert tally.faults > 5
    assert tally.violations == []
