"""The command line end to end: every sync-engine command against the sandbox over HTTP."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rostersync.cli.main import app
from rostersync.sandbox.generator import generate_district
from rostersync.sandbox.server import SandboxServer
from rostersync.sandbox.state import SandboxState


class Cli:
    def __init__(self, tmp_path: Path, server: SandboxServer, database_url: str) -> None:
        self.server = server
        self.state: SandboxState = server.state
        self.runner = CliRunner()
        self.env = {
            "ROSTERSYNC_DATABASE_URL": database_url,
            "ROSTERSYNC_EMAIL_BACKEND": "file",
            "ROSTERSYNC_EMAIL_FILE_DIR": str(tmp_path / "mail"),
            "ROSTERSYNC_RETRY_ATTEMPTS": "1",
            "ROSTERSYNC_SECRET_KEY_FILE": str(tmp_path / "secret.key"),
        }

    def __call__(self, *args: str, code: int = 0, stdin: str | None = None) -> str:
        result = self.runner.invoke(app, list(args), env=self.env, input=stdin)
        assert result.exit_code == code, (args, result.output, result.exception)
        return result.stdout

    def json(self, *args: str, code: int = 0) -> dict:
        return json.loads(self(*args, "--json", code=code))


@pytest.fixture
def cli(tmp_path: Path, store_url: str) -> Iterator[Cli]:
    """The CLI against a sandbox, on SQLite and on PostgreSQL."""
    state = SandboxState.from_data(generate_district(seed=5, students=600, schools=3))
    with SandboxServer(state) as server:
        yield Cli(tmp_path, server, store_url)


@pytest.fixture
def synced(cli: Cli) -> tuple[Cli, str, list[dict]]:
    cli.json("init")
    district = cli.json(
        "district",
        "add",
        "--name",
        "CLI district",
        "--clever-token",
        cli.server.token,
        "--clever-base-url",
        cli.server.base_url,
    )["id"]
    cli("admin", "add", "--email", "admin@district.example", "--district", district)
    runs = cli.json("sync")["runs"]
    assert {r["outcome"] for r in runs} == {"applied"}
    schools = cli.json("status")["schools"]
    return cli, district, schools


def test_status_json_has_the_documented_shape(synced) -> None:
    _, _, schools = synced
    assert len(schools) == 3
    keys = {
        "id",
        "source_id",
        "district_id",
        "name",
        "state",
        "hold",
        "last_success_at",
        "last_error",
        "plan",
        "counts",
    }
    assert set(schools[0]) == keys
    assert set(schools[0]["counts"]) == {
        "students",
        "teachers",
        "staff",
        "contacts",
        "classes",
        "enrollments",
        "class_teachers",
        "contact_links",
    }
    assert all(s["state"] == "healthy" and s["hold"] is None for s in schools)


def test_sync_json_reports_changes_per_entity(synced) -> None:
    cli, _, schools = synced
    school = schools[0]["source_id"]
    cli.state.remove_share_of_sections(school, 0.05)
    runs = {r["school_id"]: r for r in cli.json("sync")["runs"]}
    run = runs[schools[0]["id"]]
    assert run["outcome"] == "applied"
    assert run["changes"]["classes"]["removed"] >= 1
    assert {r["outcome"] for r in runs.values() if r is not run} == {"unchanged"}


def test_removals_hold_report_csv_and_confirm(synced, tmp_path: Path) -> None:
    cli, _, schools = synced
    school = schools[0]["source_id"]
    removed = cli.state.remove_share_of_students(school, 0.4)
    cli.json("sync")
    status = {s["source_id"]: s for s in cli.json("status")["schools"]}
    assert status[school]["hold"]["kind"] == "data_removals"
    changes_path, issues_path = tmp_path / "changes.csv", tmp_path / "issues.csv"
    report = cli.json(
        "report", school, "--changes-csv", str(changes_path), "--issues-csv", str(issues_path)
    )
    assert report["actions"] == ["check_new_data", "confirm_removals"]
    rows = list(csv.DictReader(io.StringIO(changes_path.read_text(encoding="utf-8"))))
    removed_students = {r["key"] for r in rows if r["entity"] == "students"}
    assert removed_students == set(removed)
    assert issues_path.read_text(encoding="utf-8").startswith("severity,entity")
    preview = cli.json("preview", school)
    assert preview["hold_kind"] == "data_removals"
    cli.json("hold", "reconnect", school, code=1)  # not allowed for this hold kind
    result = cli.json("hold", "confirm-removals", school)
    assert result["outcome"] == "applied"
    after = {s["source_id"]: s for s in cli.json("status")["schools"]}
    assert after[school]["state"] == "healthy"


def test_check_new_data_asks_yes_continue(synced) -> None:
    cli, _, schools = synced
    school = schools[1]["source_id"]
    student = sorted(cli.state.users_of_school(school, "student"))[0]
    cli.state.add_contacts(student, 6)
    cli.json("sync")
    declined = cli("hold", "check-new-data", school, code=1, stdin="n\n")
    assert "Yes, continue?" in declined
    held = cli.json("hold", "check-new-data", school, "--yes", code=2)
    assert held["outcome"] == "held"


def test_disconnected_and_reconnect(synced) -> None:
    cli, _, schools = synced
    school = schools[2]["source_id"]
    cli.state.unshare_school(school)
    cli.json("sync")
    status = {s["source_id"]: s for s in cli.json("status")["schools"]}
    assert status[school]["hold"]["kind"] == "disconnected"
    cli.state.share_school(school)
    assert cli.json("hold", "reconnect", school)["outcome"] == "applied"


def test_set_policy_and_inactive_plan(synced) -> None:
    cli, district, _schools = synced
    policy = cli.json(
        "district",
        "set-policy",
        district,
        "--removal-pct",
        "50",
        "--max-contacts",
        "8",
        "--blocked-contact-types",
        "Emergency",
        "--interval",
        "2h",
    )
    assert policy["policy"]["removal_pct"] == 50
    assert policy["policy"]["blocked_contact_types"] == ["Emergency"]
    assert policy["interval_s"] == 7200
    cli.json("district", "set-policy", district, "--removal-pct", "150", code=1)
    cli.json("district", "set-policy", district, "--plan", "inactive")
    assert cli.json("sync")["runs"] == []
    assert {s["plan"] for s in cli.json("status")["schools"]} == {"inactive"}


def test_unknown_school_is_a_clear_error(synced) -> None:
    cli, _, _ = synced
    error = cli.json("report", "no-such-school", code=1)["error"]
    assert "no school" in error["message"]


def test_serve_once_runs_one_scheduler_tick(cli: Cli) -> None:
    cli.json("init")
    cli(
        "district",
        "add",
        "--name",
        "Scheduled",
        "--clever-token",
        cli.server.token,
        "--clever-base-url",
        cli.server.base_url,
    )
    assert cli.json("district", "list")["districts"][0]["last_sync_at"] is None
    cli("serve", "--once")
    assert cli.json("district", "list")["districts"][0]["last_sync_at"] is not None
    assert {s["state"] for s in cli.json("status")["schools"]} == {"healthy"}
