"""JSON-ready views of the read side, shared by the CLI's ``--json`` and the web API.

The shapes are documented in docs/cli.md and kept stable.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rostersync.domain.changes import Change
from rostersync.domain.policy import Finding
from rostersync.domain.records import RowProblem
from rostersync.service.emails import label_of
from rostersync.service.model import AdminAction, RunRecord
from rostersync.service.queries import SchoolReport, SchoolStatusView


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def finding_json(finding: Finding) -> dict[str, str]:
    return {"rule": finding.rule, "message": finding.message, "subject": finding.subject}


def status_json(view: SchoolStatusView) -> dict[str, Any]:
    school, status = view.school, view.school.status
    hold = None
    if status.hold_kind is not None:
        hold = {
            "kind": status.hold_kind.value,
            "since": iso(status.hold_since),
            "findings": [finding_json(f) for f in view.findings],
        }
    return {
        "id": school.id,
        "source_id": school.source_id,
        "district_id": school.district_id,
        "name": school.name,
        "state": status.state.value,
        "hold": hold,
        "last_success_at": iso(status.last_success_at),
        "last_error": status.last_error or None,
        "plan": view.district.plan.value,
        "counts": view.counts,
    }


def run_json(run: RunRecord) -> dict[str, Any]:
    return {
        "id": run.id,
        "school_id": run.school_id,
        "trigger": run.trigger,
        "started_at": iso(run.started_at),
        "finished_at": iso(run.finished_at),
        "outcome": run.outcome.value,
        "hold_kind": run.hold_kind.value if run.hold_kind else None,
        "changes": run.changes,
        "errors": sum(1 for p in run.problems if p.severity.value == "error"),
        "alerts": sum(1 for p in run.problems if p.severity.value == "alert"),
        "error": run.error or None,
        "rows_written": run.rows_written,
        "actor": run.actor or None,
    }


def change_json(change: Change) -> dict[str, Any]:
    value = change.before if change.after is None else change.after
    return {
        "entity": change.entity,
        "operation": change.op.value,
        "key": list(change.key),
        "name": label_of(value, change.key),
    }


def problem_json(problem: RowProblem) -> dict[str, str]:
    return {
        "severity": problem.severity.value,
        "entity": problem.entity,
        "source_id": problem.source_id,
        "code": problem.code,
        "message": problem.message,
    }


def action_json(action: AdminAction) -> dict[str, Any]:
    return {
        "action": action.action,
        "actor": action.actor,
        "at": iso(action.at),
        "outcome": action.outcome,
        "detail": action.detail,
    }


def report_json(report: SchoolReport, max_changes: int = 1000) -> dict[str, Any]:
    held = report.held_changes.changes if report.held_changes else []
    return {
        "school": status_json(report.view),
        "actions": report.actions,
        "held_run": run_json(report.held_run) if report.held_run else None,
        "held_changes": [change_json(c) for c in held[:max_changes]],
        "held_changes_total": len(held),
        "runs": [run_json(r) for r in report.runs],
        "errors": [problem_json(p) for p in report.problems if p.severity.value == "error"],
        "alerts": [problem_json(p) for p in report.problems if p.severity.value == "alert"],
        "history": [action_json(a) for a in report.history],
    }
