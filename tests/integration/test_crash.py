"""A sync killed with SIGKILL mid-apply leaves the previous roster; the next one completes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from rostersync.domain.state import Outcome
from tests.integration.conftest import TEST_SECRET, Env, decode_table


def run_cli(env: Env, *args: str, crash_at: str | None = None) -> subprocess.CompletedProcess:
    environ = {
        **os.environ,
        "ROSTERSYNC_DATABASE_URL": str(env.store.engine.url),
        "ROSTERSYNC_EMAIL_BACKEND": "console",
        "ROSTERSYNC_SECRET_KEY": TEST_SECRET,
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


@pytest.mark.parametrize("point", ["after_commit", "before_email"])
def test_sigkill_after_commit_loses_no_email_and_sends_none_twice(env: Env, point: str) -> None:
    env.sync()
    school = decode_table(env.data, "schools")[0]["id"]
    env.state.remove_share_of_students(school, 0.3)
    crashed = run_cli(env, "sync", crash_at=point)
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    with env.store.unit_of_work() as uow:
        pending = uow.pending_emails()
    if env.school(school).status.hold_kind is not None:  # its commit came before the kill
        assert [m.payload["school"]["source_id"] for m in pending] == [school]
    env.sync()  # the next run finishes the work and delivers what is pending
    env.sync()
    assert env.school(school).status.hold_kind is not None
    sent = [m.payload["school"]["source_id"] for m in env.mailer.sent]
    assert sent == [school]
