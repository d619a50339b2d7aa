"""Reviewing a school: the held change list (paged, filtered, as CSV), errors and alerts as
CSV, and the run history with its charts.

CSV answers are ``text/csv`` attachments with ``nosniff``, so a browser never renders a
name from the SIS as HTML; cells that a spreadsheet would run as a formula are defused by
the service's CSV writers.
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from rostersync.domain.changes import ENTITIES, Op
from rostersync.service import access, review
from rostersync.service.queries import changes_csv, problems_csv
from rostersync.service.views import change_json
from rostersync.web.chart import changes_chart, size_chart
from rostersync.web.session import PagePrincipal, services_of
from rostersync.web.templating import render, zone_of

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
OPS = tuple(o.value for o in Op)


def _filter(entity: str, op: str) -> tuple[str | None, str | None]:
    return (entity if entity in ENTITIES else None, op if op in OPS else None)


def _csv(body: str, filename: str) -> Response:
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", filename)
    return Response(
        body.encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{safe}"'},
    )


@router.get("/schools/{school}/changes")
def changes(
    request: Request,
    principal: PagePrincipal,
    school: str,
    entity: str = "",
    op: str = "",
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> Response:
    services = services_of(request)
    rep = access.report_in_scope(services, principal, school, runs=1)
    row = rep.view.school
    chosen_entity, chosen_op = _filter(entity, op)
    result = review.held_changes_page(
        services,
        row,
        entity=chosen_entity,
        op=chosen_op,
        offset=(page - 1) * PAGE_SIZE,
        limit=PAGE_SIZE,
    )
    pages = max(1, -(-result.total // PAGE_SIZE))
    context = {
        "school": row,
        "view": rep.view,
        "tz": rep.view.district.timezone,
        "page": result,
        "names": [change_json(c)["name"] for c in result.items],
        "page_number": page,
        "pages": pages,
        "entity": chosen_entity or "",
        "op": chosen_op or "",
        "entities": ENTITIES,
        "ops": OPS,
        "details": review.finding_details(services, rep),
    }
    return render(request, "changes.html", context)


@router.get("/schools/{school}/changes.csv")
def changes_download(
    request: Request, principal: PagePrincipal, school: str, entity: str = "", op: str = ""
) -> Response:
    services = services_of(request)
    row = access.school_in_scope(services, principal, school)
    chosen_entity, chosen_op = _filter(entity, op)
    items = review.held_changes(services, row, entity=chosen_entity, op=chosen_op)
    return _csv(changes_csv(items), f"held-changes-{row.source_id}.csv")


@router.get("/schools/{school}/problems.csv")
def problems_download(request: Request, principal: PagePrincipal, school: str) -> Response:
    services = services_of(request)
    rep = access.report_in_scope(services, principal, school, runs=1)
    return _csv(problems_csv(rep.problems), f"errors-and-alerts-{rep.view.school.source_id}.csv")


@router.get("/schools/{school}/runs")
def runs(request: Request, principal: PagePrincipal, school: str) -> Response:
    services = services_of(request)
    rep = access.report_in_scope(services, principal, school, runs=50)
    zone = zone_of(rep.view.district.timezone)
    context = {
        "school": rep.view.school,
        "tz": rep.view.district.timezone,
        "runs": rep.runs,
        "charts": [size_chart(rep.runs, zone), changes_chart(rep.runs, zone)],
    }
    return render(request, "runs.html", context)
