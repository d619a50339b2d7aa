"""``/api/v1/districts/{district}/settings``: read and change a district's settings.

Only the district's district admins may; for anyone else the district does not exist (404).
A change is validated field by field (422 lists every invalid field) and logged with who
made it; the answer includes the latest log entries.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request

from rostersync.service import access
from rostersync.service.settings_log import (
    SettingsUpdate,
    change_settings,
    district_settings,
    settings_json,
)
from rostersync.web.api_auth import ApiPrincipal, known_query_only, problem_responses
from rostersync.web.api_models import SettingsIn, SettingsOut
from rostersync.web.session import services_of

router = APIRouter(prefix="/api/v1", tags=["districts"], dependencies=[Depends(known_query_only)])
DistrictRef = Annotated[
    str, Path(description="The district's id (dst_...).", min_length=1, max_length=200)
]


@router.get(
    "/districts/{district}/settings",
    response_model=SettingsOut,
    responses=problem_responses(404),
)
def get_settings(
    request: Request, principal: ApiPrincipal, district: DistrictRef
) -> dict[str, Any]:
    """Hold thresholds, sync interval, time zone, who gets hold emails, and the change log."""
    services = services_of(request)
    config = access.district_in_scope(services, principal, district)
    return settings_json(district_settings(services, config.id))


@router.put(
    "/districts/{district}/settings",
    response_model=SettingsOut,
    responses=problem_responses(404),
)
def put_settings(
    request: Request, principal: ApiPrincipal, district: DistrictRef, body: SettingsIn
) -> dict[str, Any]:
    """Change settings; fields left out keep their values. Every change is logged."""
    services = services_of(request)
    config = access.district_in_scope(services, principal, district)
    policy = body.policy
    update = SettingsUpdate(
        removal_pct=policy.removal_pct if policy else None,
        removal_min=policy.removal_min if policy else None,
        removal_total=policy.removal_total if policy else None,
        max_contacts=policy.max_contacts if policy else None,
        blocked_contact_types=(
            tuple(policy.blocked_contact_types)
            if policy and policy.blocked_contact_types is not None
            else None
        ),
        failures_before_disconnect=policy.failures_before_disconnect if policy else None,
        interval_s=body.interval_s,
        timezone=body.timezone,
        notify={n.admin_id: n.notify for n in body.notify or []},
    )
    return settings_json(change_settings(services, config.id, principal.email, update))
