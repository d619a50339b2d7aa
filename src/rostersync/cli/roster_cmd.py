"""``rostersync init | sync | status | report | preview``: run syncs and read their results."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from rostersync.bootstrap import build_services, prepare_database
from rostersync.cli.output import JSON_OPTION, console, emit_json, handle_errors
from rostersync.service import districts
from rostersync.service.jobs import job_runner
from rostersync.service.queries import (
    changes_csv,
    preview_school,
    problems_csv,
    school_report,
    school_status,
)
from rostersync.service.sync import SyncResult
from rostersync.service.views import change_json, finding_json, report_json, run_json, status_json
from rostersync.settings import load_settings

SCHOOL_ARG = typer.Argument(help="School: internal id or Clever school id.")


def register(app: typer.Typer) -> None:
    for command in (init, sync, status, report, preview):
        app.command(command.__name__.rstrip("_"))(command)


@handle_errors
def init(as_json: bool = JSON_OPTION) -> None:
    """Create or upgrade the database (ROSTERSYNC_DATABASE_URL); (re-)encrypt stored tokens
    with the current secret key (after a key rotation, see docs/security.md)."""
    settings = load_settings()
    rewritten = prepare_database(settings)
    if as_json:
        emit_json({"database": "ready", "tokens_reencrypted": rewritten})
    else:
        console.print(f"The database is ready ({rewritten} tokens re-encrypted).")


@handle_errors
def sync(
    district: Annotated[str | None, typer.Option("--district", help="Only this district.")] = None,
    school: Annotated[
        list[str] | None, typer.Option("--school", help="Only this school (repeatable).")
    ] = None,
    as_json: bool = JSON_OPTION,
) -> None:
    """Fetch and sync now: every district, or the one named."""
    services = build_services()
    targets = [district] if district else [d.id for d in districts.list_districts(services)]
    if school and not district:
        from rostersync.service.holds import find_school

        targets = sorted({find_school(services, ref).district_id for ref in school})
    # In this process, or queued for the workers when a broker is configured (service/jobs.py).
    results = job_runner(services).sync(services, targets, school_refs=school or None)
    if as_json:
        emit_json({"runs": [run_json(r) for res in results for r in res.runs]})
        return
    for result in results:
        _print_result(result)


def _print_result(result: SyncResult) -> None:
    if result.skipped_reason:
        console.print(f"District {result.district_id}: {result.skipped_reason}", highlight=False)
        return
    if result.error and not result.runs:
        console.print(f"District {result.district_id}: {result.error}", highlight=False)
    table = Table("school", "outcome", "hold", "added", "updated", "removed", "errors", "alerts")
    for run in result.runs:
        data = run_json(run)
        totals = {
            op: sum(c[op] for c in run.changes.values()) for op in ("added", "updated", "removed")
        }
        table.add_row(
            run.school_id,
            run.outcome.value,
            data["hold_kind"] or "",
            str(totals["added"]),
            str(totals["updated"]),
            str(totals["removed"]),
            str(data["errors"]),
            str(data["alerts"]),
        )
    console.print(table)


@handle_errors
def status(
    district: Annotated[str | None, typer.Option("--district", help="Only this district.")] = None,
    as_json: bool = JSON_OPTION,
) -> None:
    """One line per school: state, hold kind, since, last success, counts."""
    views = school_status(build_services(), district)
    if as_json:
        emit_json({"schools": [status_json(v) for v in views]})
        return
    table = Table(
        "school", "clever id", "state", "hold", "since (UTC)", "last success", "stu", "tch", "con"
    )
    for view in views:
        s = view.school.status
        table.add_row(
            view.school.name,
            view.school.source_id,
            s.state.value if view.district.plan.value == "active" else "plan inactive",
            s.hold_kind.value if s.hold_kind else "",
            _when(s.hold_since, ""),
            _when(s.last_success_at, "never"),
            str(view.counts["students"]),
            str(view.counts["teachers"]),
            str(view.counts["contacts"]),
        )
    console.print(table)


def _when(value: datetime | None, empty: str) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value is not None else empty


@handle_errors
def report(
    school: Annotated[str, SCHOOL_ARG],
    changes_csv_path: Annotated[
        Path | None, typer.Option("--changes-csv", help="Write the held changes as CSV.")
    ] = None,
    issues_csv_path: Annotated[
        Path | None, typer.Option("--issues-csv", help="Write errors and alerts as CSV.")
    ] = None,
    as_json: bool = JSON_OPTION,
) -> None:
    """The SIS sync report of a school."""
    rep = school_report(build_services(), school)
    if changes_csv_path is not None:
        held = rep.held_changes.changes if rep.held_changes else []
        changes_csv_path.write_text(changes_csv(held), encoding="utf-8")
    if issues_csv_path is not None:
        issues_csv_path.write_text(problems_csv(rep.problems), encoding="utf-8")
    data = report_json(rep)
    if as_json:
        emit_json(data)
        return
    from rostersync.cli.report_view import print_report

    print_report(data)


@handle_errors
def preview(school: Annotated[str, SCHOOL_ARG], as_json: bool = JSON_OPTION) -> None:
    """What the next sync would change and which holds it would hit; writes nothing."""
    row, assessment = preview_school(build_services(), school)
    data = {
        "school_id": row.id,
        "hold_kind": assessment.hold_kind.value if assessment.hold_kind else None,
        "findings": [finding_json(f) for f in assessment.findings],
        "changes": assessment.change_set.counts(),
        "change_list": [change_json(c) for c in assessment.change_set.changes[:1000]],
        "change_total": len(assessment.change_set.changes),
    }
    if as_json:
        emit_json(data)
        return
    verdict = data["hold_kind"] or "would apply"
    console.print(f"{row.name}: {verdict}; {data['change_total']} changes.", highlight=False)
    for finding in assessment.findings:
        console.print(f"  - {finding.message}", highlight=False)
