"""The benchmark itself, on a small district: every mode runs, on SQLite and PostgreSQL, and
the figures it reports are the exact ones the tests elsewhere assert (requests, zero writes).
Times are reported, never asserted."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from rostersync.bench.child import PHASES
from rostersync.bench.report import markdown, phase_line
from rostersync.bench.run import MODES, run_all
from tests.conftest import DEFAULT_PG_URL, PG_URL_ENV

STUDENTS = 1_500


@pytest.mark.parametrize("store", ["SQLite", "PostgreSQL"])
def test_every_mode_runs_and_reports_exact_figures(
    tmp_path: Path, store: str, pg_database_factory
) -> None:
    pg_url = database = None
    if store == "PostgreSQL":
        pg_database_factory()  # skips or fails (in CI) when PostgreSQL is not reachable
        pg_url = os.environ.get(PG_URL_ENV, DEFAULT_PG_URL)
        database = f"rostersync_bench_test_{uuid.uuid4().hex[:8]}"
    try:
        results = run_all(STUDENTS, tmp_path, pg_url, database or "unused")
    finally:
        if database is not None:
            _drop(pg_url or "", database)

    assert set(results) == set(MODES)
    for mode in MODES:
        figures = results[mode]
        assert figures["requests"] <= figures["request_budget"]
        assert figures["cpu_s"] > 0 and figures["peak_rss_mib"] > 0
    assert results["first_load"]["requests"] == results["floor"]["requests"]
    assert sum(results["first_load"]["rows_written"].values()) > STUDENTS
    assert sum(results["no_change"]["rows_written"].values()) == 0
    assert results["no_change"]["outcomes"] == {
        "unchanged": results["first_load"]["outcomes"]["applied"]
    }
    assert sum(results["one_percent"]["rows_written"].values()) > 0
    for mode in ("first_load", "no_change", "one_percent"):
        _check_phases(mode, results[mode])
    summary = markdown(STUDENTS, results, store)
    assert f"Store: {store}." in summary
    limit = "60" if store == "PostgreSQL" else "90"
    assert f"first_load: {results['first_load']['cpu_s']:.1f} s CPU (target ≤ {limit} s)" in summary
    assert phase_line("one_percent", results["one_percent"]) in summary


def _check_phases(mode: str, figures: dict) -> None:
    """The phases nest as reported, each within the run's own CPU time."""
    phases = figures["phases_cpu_s"]
    assert set(phases) == set(PHASES)
    parts = phases["stage_users"] + phases["stage_sections"] + phases["staging_finish"]
    # Each phase is measured on its own clock reads: allow for their rounding.
    slack = 0.01
    assert 0 < parts <= phases["fetch"] + slack
    inner = phases["build"] + phases["load"] + figures["apply_cpu_s"]
    assert inner <= phases["evaluate"] + slack
    assert phases["fetch"] + phases["evaluate"] <= figures["cpu_s"] + slack
    if mode == "no_change":  # every school is skipped: nothing built, loaded or applied
        assert phases["build"] == phases["load"] == figures["apply_cpu_s"] == 0
    else:
        assert phases["build"] > 0 and figures["apply_cpu_s"] > 0
    assert phase_line(mode, figures).startswith(f"- {mode} CPU s by phase: fetch ")
    assert phase_line("floor", {"cpu_s": 1.0}) == ""


def _drop(url: str, database: str) -> None:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    finally:
        engine.dispose()
