"""``rostersync clever inspect`` against the in-memory Clever (no sockets).

The sub-app is invoked on its own so these tests do not depend on the other commands.
"""

from __future__ import annotations

import functools
import json

import httpx
import pytest
from typer.testing import CliRunner

from rostersync.cli import clever_cmd
from rostersync.sources.clever import CleverSource, RetryPolicy

from .fakes import TOKEN, FakeClever, FakeTime, oid, student, teacher


@pytest.fixture
def runner(clever: FakeClever, fake_time: FakeTime, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    clever.records["schools"] = [{"id": oid(1), "name": "A"}]
    clever.records["users"] = [student(10), teacher(20, email=None)]
    clever.records["sections"] = [{"id": oid(30), "school": oid(1), "students": [oid(10)]}]
    wired = functools.partial(
        CleverSource,
        transport=clever.transport(),
        retry=RetryPolicy(attempts=2),
        sleep=fake_time.sleep,
        clock=fake_time.monotonic,
    )
    monkeypatch.setattr(clever_cmd, "CleverSource", wired)
    monkeypatch.delenv("ROSTERSYNC_CLEVER_TOKEN", raising=False)
    monkeypatch.delenv("ROSTERSYNC_CLEVER_BASE_URL", raising=False)
    return CliRunner()


def test_inspect_json(runner: CliRunner) -> None:
    result = runner.invoke(clever_cmd.app, ["inspect", "--token", TOKEN, "--json"])

    assert result.exit_code == 0, result.output
    shape = json.loads(result.stdout)
    assert shape["district"] == {"id": oid(999), "name": "Test District", "state": "running"}
    assert shape["counts"]["students"] == 1
    assert shape["counts"]["enrollments"] == 1
    assert shape["requests"] == 6
    assert [p["code"] for p in shape["problems"]] == ["missing_email"]


def test_inspect_table(runner: CliRunner) -> None:
    result = runner.invoke(
        clever_cmd.app, ["inspect", "--page-size", "1"], env={"ROSTERSYNC_CLEVER_TOKEN": TOKEN}
    )

    assert result.exit_code == 0, result.output
    assert "Test District" in result.stdout
    assert "enrollments" in result.stdout
    assert "Requests: 7; row errors: 0; alerts: 1." in result.stdout
    assert "missing_email" in result.stdout
    assert TOKEN not in result.output


def test_a_source_error_exits_1_with_one_line(runner: CliRunner, clever: FakeClever) -> None:
    clever.token = "revoked"

    result = runner.invoke(clever_cmd.app, ["inspect", "--token", TOKEN])

    assert result.exit_code == 1
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("Error: Clever refused the district token (HTTP 401)")
    assert "Traceback" not in result.output
    assert TOKEN not in result.output


def test_transient_failures_exit_1(runner: CliRunner, clever: FakeClever) -> None:
    clever.fail("/v3.0/users", httpx.Response(502), count=2)

    result = runner.invoke(clever_cmd.app, ["inspect", "--token", TOKEN, "--json"])

    assert result.exit_code == 1
    assert "HTTP 502" in result.stderr


def test_the_token_is_required(runner: CliRunner) -> None:
    result = runner.invoke(clever_cmd.app, ["inspect"])

    assert result.exit_code == 2
    assert "--token" in result.output
