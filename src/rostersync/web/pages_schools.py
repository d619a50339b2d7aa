"""The schools list, a school's SIS sync report, and the hold actions behind its buttons.

The actions are plain form POSTs (no JavaScript needed) that redirect back to the report
(post/redirect/get), which then shows the outcome: applied, held again and why, or still
disconnected with the error. "Check for new Clever data" first shows a confirmation page
whose only way forward is "Yes, continue".
"""

from __future__ import annotations

from collections import Counter
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from rostersync.domain.policy import HoldKind
from rostersync.errors import ActionRefusedError
from rostersync.service import access, review
from rostersync.service.holds import ActionResult
from rostersync.service.queries import SchoolStatusView
from rostersync.web.session import CsrfChecked, PagePrincipal, flash, services_of
from rostersync.web.templating import STATE_WORDS, render

router = APIRouter(include_in_schema=False)
MAX_FLASH = 600
PROBLEMS_SHOWN = 50


@router.get("/")
def home() -> Response:
    return RedirectResponse("/schools", status_code=303)


def district_summaries(views: list[SchoolStatusView]) -> list[dict[str, Any]]:
    """Per district: how many schools, how many on hold (by kind), failing, healthy."""
    summaries: dict[str, dict[str, Any]] = {}
    for view in views:
        entry = summaries.setdefault(
            view.district.id,
            {"district": view.district, "total": 0, "states": Counter(), "kinds": Counter()},
        )
        entry["total"] += 1
        entry["states"][view.school.status.state.value] += 1
        if view.school.status.hold_kind is not None:
            entry["kinds"][view.school.status.hold_kind.value] += 1
    return list(summaries.values())


@router.get("/schools")
def schools(request: Request, principal: PagePrincipal, state: str = "") -> Response:
    services = services_of(request)
    every = access.visible_schools(services, principal)
    shown = [v for v in every if not state or v.school.status.state.value == state]
    context = {
        "views": shown,
        "summaries": district_summaries(every),
        "state": state if state in STATE_WORDS else "",
        "states": STATE_WORDS,
    }
    return render(request, "schools.html", context)


@router.get("/schools/{school}")
def report(request: Request, principal: PagePrincipal, school: str) -> Response:
    services = services_of(request)
    rep = access.report_in_scope(services, principal, school)
    errors = [p for p in rep.problems if p.severity.value == "error"]
    alerts = [p for p in rep.problems if p.severity.value == "alert"]
    held = rep.held_run.changes if rep.held_run else {}
    context = {
        "report": rep,
        "view": rep.view,
        "school": rep.view.school,
        "tz": rep.view.district.timezone,
        "details": review.finding_details(services, rep),
        "held_rows": [(e, c) for e, c in held.items() if any(c.values())],
        "held_total": len(rep.held_changes.changes) if rep.held_changes else 0,
        "errors": errors[:PROBLEMS_SHOWN],
        "alerts": alerts[:PROBLEMS_SHOWN],
        "error_total": len(errors),
        "alert_total": len(alerts),
    }
    return render(request, "report.html", context)


def _flash_result(request: Request, result: ActionResult) -> None:
    run = result.run
    title = {"applied": "Synced", "held": "Still on hold"}.get(result.outcome, "The sync failed")
    if result.outcome == "failed" and run is not None and run.hold_kind is HoldKind.DISCONNECTED:
        title = "Still disconnected"
    message = f"{title}. {result.message}"
    if len(message) > MAX_FLASH:
        message = message[: MAX_FLASH - 1] + "…"
    flash(request, result.outcome, message)


def _back(school_id: str) -> Response:
    return RedirectResponse(f"/schools/{school_id}", status_code=303)


@router.get("/schools/{school}/check-new-data")
def confirm_check(request: Request, principal: PagePrincipal, school: str) -> Response:
    services = services_of(request)
    row = access.school_in_scope(services, principal, school)
    return render(request, "confirm_check.html", {"school": row})


@router.post("/schools/{school}/check-new-data", dependencies=[CsrfChecked])
def check_new_data(
    request: Request,
    principal: PagePrincipal,
    school: str,
    confirm: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    services = services_of(request)
    row = access.school_in_scope(services, principal, school)
    if confirm != "yes":
        return RedirectResponse(f"/schools/{row.id}/check-new-data", status_code=303)
    try:
        result = access.check_new_data(services, principal, row.id, confirmed=True)
    except ActionRefusedError as exc:
        flash(request, "refused", str(exc))
        return _back(row.id)
    _flash_result(request, result)
    return _back(row.id)


@router.post("/schools/{school}/confirm-removals", dependencies=[CsrfChecked])
def confirm_removals(
    request: Request,
    principal: PagePrincipal,
    school: str,
    run_id: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    services = services_of(request)
    row = access.school_in_scope(services, principal, school)
    try:
        result = access.confirm_removals(services, principal, row.id, run_id=run_id or None)
    except ActionRefusedError as exc:
        flash(request, "refused", str(exc))
        return _back(row.id)
    _flash_result(request, result)
    return _back(row.id)


@router.post("/schools/{school}/reconnect", dependencies=[CsrfChecked])
def reconnect(request: Request, principal: PagePrincipal, school: str) -> Response:
    services = services_of(request)
    row = access.school_in_scope(services, principal, school)
    try:
        result = access.reconnect(services, principal, row.id)
    except ActionRefusedError as exc:
        flash(request, "refused", str(exc))
        return _back(row.id)
    _flash_result(request, result)
    return _back(row.id)
