"""``/api/v1/schools``: the status table, the SIS sync report, the held changes, the runs, and
the three hold actions, for scripts.

Every route resolves ``{school}`` (internal or Clever id) through the caller's scope, so a
school of another district answers 404 exactly like one that does not exist. The answers
are the CLI's ``--json`` views.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Path, Query, Request

from rostersync.service import access, review
from rostersync.service.holds import ActionResult
from rostersync.service.views import change_json, report_json, run_json, status_json
from rostersync.web.api_auth import ApiPrincipal, known_query_only, problem_responses
from rostersync.web.api_models import (
    ActionResultOut,
    ChangesPageOut,
    CheckNewDataIn,
    ConfirmRemovalsIn,
    Entity,
    Operation,
    ReportOut,
    RunsOut,
    SchoolsOut,
)
from rostersync.web.problems import ApiProblemError
from rostersync.web.session import services_of

router = APIRouter(prefix="/api/v1", tags=["schools"], dependencies=[Depends(known_query_only)])
SchoolRef = Annotated[
    str,
    Path(
        description="The school's internal id (sch_...) or its Clever id.",
        min_length=1,
        max_length=200,
    ),
]
StateName = Literal["never_synced", "healthy", "failing", "on_hold"]


@router.get("/schools", response_model=SchoolsOut, responses=problem_responses())
def list_schools(
    request: Request,
    principal: ApiPrincipal,
    state: Annotated[StateName | None, Query(description="Only schools in this state.")] = None,
) -> dict[str, Any]:
    """Every school you administer, with its state, hold, last success and counts."""
    views = access.visible_schools(services_of(request), principal, state)
    return {"schools": [status_json(v) for v in views]}


@router.get("/schools/{school}/report", response_model=ReportOut, responses=problem_responses(404))
def school_report(request: Request, principal: ApiPrincipal, school: SchoolRef) -> dict[str, Any]:
    """The SIS sync report: state, hold and findings, actions, held changes, runs, problems."""
    report = access.report_in_scope(services_of(request), principal, school)
    return report_json(report)


@router.get(
    "/schools/{school}/changes", response_model=ChangesPageOut, responses=problem_responses(404)
)
def held_changes(
    request: Request,
    principal: ApiPrincipal,
    school: SchoolRef,
    entity: Annotated[Entity | None, Query(description="Only this entity.")] = None,
    operation: Annotated[Operation | None, Query(description="Only this operation.")] = None,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=review.MAX_PAGE)] = 100,
) -> dict[str, Any]:
    """The held change set under review, a page at a time (empty when not on hold)."""
    services = services_of(request)
    row = access.school_in_scope(services, principal, school)
    page = review.held_changes_page(
        services, row, entity=entity, op=operation, offset=offset, limit=limit
    )
    return {
        "run_id": page.run.id if page.run else None,
        "total": page.total,
        "offset": page.offset,
        "limit": page.limit,
        "items": [change_json(c) for c in page.items],
    }


@router.get("/schools/{school}/runs", response_model=RunsOut, responses=problem_responses(404))
def runs(
    request: Request,
    principal: ApiPrincipal,
    school: SchoolRef,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    """The school's runs, newest first, with their change counts."""
    report = access.report_in_scope(services_of(request), principal, school, runs=limit)
    return {"runs": [run_json(r) for r in report.runs]}


def _result(result: ActionResult) -> dict[str, Any]:
    return {
        "action": result.action,
        "school_id": result.school_id,
        "outcome": result.outcome,
        "message": result.message,
        "run": run_json(result.run) if result.run else None,
    }


@router.post(
    "/schools/{school}/actions/check-new-data",
    response_model=ActionResultOut,
    responses=problem_responses(404, 409),
)
def check_new_data(
    request: Request, principal: ApiPrincipal, school: SchoolRef, body: CheckNewDataIn
) -> dict[str, Any]:
    """ "Check for new Clever data": fetch afresh and evaluate the school at once.

    Allowed on data_removals and data_configuration holds. The body must be
    ``{"confirm": true}`` (the dashboard's "Yes, continue").
    """
    services = services_of(request)
    row = access.school_in_scope(services, principal, school)
    if not body.confirm:
        raise ApiProblemError(
            422,
            "Checking for new Clever data syncs the school at once if the data now passes "
            'every rule. Send {"confirm": true} to continue.',
            slug="confirmation-required",
        )
    return _result(access.check_new_data(services, principal, row.id, confirmed=True))


@router.post(
    "/schools/{school}/actions/confirm-removals",
    response_model=ActionResultOut,
    responses=problem_responses(404, 409),
)
def confirm_removals(
    request: Request,
    principal: ApiPrincipal,
    school: SchoolRef,
    body: Annotated[ConfirmRemovalsIn | None, Body()] = None,
) -> dict[str, Any]:
    """ "Confirm removals": apply the held change set exactly as reviewed (data_removals)."""
    run_id = body.run_id if body else None
    result = access.confirm_removals(services_of(request), principal, school, run_id=run_id)
    return _result(result)


@router.post(
    "/schools/{school}/actions/reconnect",
    response_model=ActionResultOut,
    responses=problem_responses(404, 409),
)
def reconnect(request: Request, principal: ApiPrincipal, school: SchoolRef) -> dict[str, Any]:
    """ "I fixed it": verify the connection and sync at once (disconnected holds)."""
    return _result(access.reconnect(services_of(request), principal, school))
