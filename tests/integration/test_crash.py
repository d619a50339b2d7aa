"""A sync killed with SIGKILL mid-apply leaves the previous roster; the next one completes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from rostersync.domain.state import Outcome
from tests.integration.conftest import Env, decode_table


def run_cli(env: Env, *args: str, crash_at: str | None = None) -> subprocess.CompletedProcess:
    environ = {
        **os.environ,
        "ROSTERSYNC_DATABASE_URL": str(env.store.engine.url),
        "ROSTERSYNC_EMAIL_BACKEND": "console",
    }
    environ.pop("ROSTERSYNC_TEST_CRASH_AT", None)
    if crash_at:
        environ["ROSTERSYNC_TEST_CRASH_AT"] = crash_at
    return subprocess.run(
        [sys.executable, "-m", "rostersync", *args],
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("point", ["mid_apply", "mid_diff", "after_fetch"])
def test_sigkill_during_a_sync_keeps_the_last_good_roster(env: Env, point: str) -> None:
    env.sync()
    schools = [s["id"] for s in decode_table(env.data, "schools")]
    before = {s: env.roster(s) for s in schools}
    env.state.remove_share_of_sections(schools[0], 0.05)
    crashed = run_cli(env, "sync", crash_at=point)
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    assert env.roster(schools[0]) == before[schools[0]]
    finished = run_cli(env, "sync", "--json")
    assert finished.returncode == 0, finished.stderr
    result = env.sync()
    assert {r.outcome for r in result.runs} == {Outcome.UNCHANGED}
    assert env.roster(schools[0]) != before[schools[0]]
