"""District settings (district admins only) and the signed-in admin's API tokens.

The settings form posts every field; the service validates them all at once, and the page
shows each problem beside its field (with ``aria-invalid``), keeping what was typed. A new
API token is shown once, on the page that created it, and never put in a cookie or a URL.
"""

from __future__ import annotations

from typing import Annotated, Any
from zoneinfo import available_timezones

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from rostersync.errors import ConfigurationError, NotFoundError
from rostersync.service import access, api_tokens
from rostersync.service.districts import get_district
from rostersync.service.settings_log import (
    CONTACT_TYPES,
    SettingsInvalidError,
    SettingsUpdate,
    change_settings,
    district_settings,
    settings_values,
)
from rostersync.web.session import CsrfChecked, PagePrincipal, flash, services_of
from rostersync.web.templating import render

router = APIRouter(include_in_schema=False)


def _zones() -> list[str]:
    return sorted(z for z in available_timezones() if "/" in z or z == "UTC")


def _settings_page(
    request: Request,
    district_id: str,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    settings = district_settings(services_of(request), district_id)
    current: dict[str, Any] = dict(settings_values(settings.district))
    current["interval_minutes"] = str(settings.district.interval_s // 60)
    current["blocked"] = sorted(settings.district.policy.blocked_contact_types)
    current["notify"] = [a.id for a in settings.admins if a.notify]
    context = {
        "settings": settings,
        "tz": settings.district.timezone,
        "values": {**current, **(values or {})},
        "errors": errors or {},
        "contact_types": CONTACT_TYPES,
        "zones": _zones(),
    }
    return render(request, "settings.html", context, status_code=status)


@router.get("/districts/{district}/settings")
def settings_page(request: Request, principal: PagePrincipal, district: str) -> Response:
    config = access.district_in_scope(services_of(request), principal, district)
    return _settings_page(request, config.id)


def _number(raw: str, name: str, errors: dict[str, str], kind: type[int] | type[float]) -> Any:
    try:
        return kind(raw.strip())
    except ValueError:
        errors[name] = "Enter a number." if kind is float else "Enter a whole number."
        return None


def _parse_form(
    typed: dict[str, Any], admin_ids: list[str]
) -> tuple[SettingsUpdate | None, dict[str, str]]:
    """The form's text as a settings update, or ``None`` and what could not be read."""
    errors: dict[str, str] = {}
    pct = _number(typed["removal_pct"], "removal_pct", errors, float)
    ints = {
        name: _number(typed[name], name, errors, int)
        for name in ("removal_min", "removal_total", "max_contacts", "failures_before_disconnect")
    }
    minutes = _number(typed["interval_minutes"], "interval_s", errors, int)
    if errors:
        return None, errors
    ticked = set(typed["notify"])
    update = SettingsUpdate(
        removal_pct=pct,
        removal_min=ints["removal_min"],
        removal_total=ints["removal_total"],
        max_contacts=ints["max_contacts"],
        blocked_contact_types=tuple(typed["blocked"]),
        failures_before_disconnect=ints["failures_before_disconnect"],
        interval_s=minutes * 60,
        timezone=str(typed["timezone"]).strip(),
        notify={admin_id: admin_id in ticked for admin_id in admin_ids},
    )
    return update, {}


@router.post("/districts/{district}/settings", dependencies=[CsrfChecked])
def save_settings(
    request: Request,
    principal: PagePrincipal,
    district: str,
    removal_pct: Annotated[str, Form(max_length=40)] = "",
    removal_min: Annotated[str, Form(max_length=40)] = "",
    removal_total: Annotated[str, Form(max_length=40)] = "",
    max_contacts: Annotated[str, Form(max_length=40)] = "",
    failures_before_disconnect: Annotated[str, Form(max_length=40)] = "",
    interval_minutes: Annotated[str, Form(max_length=40)] = "",
    timezone: Annotated[str, Form(max_length=64)] = "",
    blocked: Annotated[list[str] | None, Form()] = None,
    notify: Annotated[list[str] | None, Form()] = None,
) -> Response:
    services = services_of(request)
    config = access.district_in_scope(services, principal, district)
    typed: dict[str, Any] = {
        "removal_pct": removal_pct,
        "removal_min": removal_min,
        "removal_total": removal_total,
        "max_contacts": max_contacts,
        "failures_before_disconnect": failures_before_disconnect,
        "interval_minutes": interval_minutes,
        "timezone": timezone,
        "blocked": blocked or [],
        "notify": notify or [],
    }
    admin_ids = [a.id for a in district_settings(services, config.id).admins]
    update, errors = _parse_form(typed, admin_ids)
    if update is None:
        return _settings_page(request, config.id, typed, errors, 422)
    try:
        change_settings(services, config.id, principal.email, update)
    except SettingsInvalidError as exc:
        return _settings_page(request, config.id, typed, exc.errors, 422)
    flash(request, "applied", "The settings are saved.")
    return RedirectResponse(f"/districts/{config.id}/settings", status_code=303)


def _tokens_page(
    request: Request, principal: access.Principal, new_secret: str = "", error: str = ""
) -> Response:
    services = services_of(request)
    tokens = api_tokens.list_tokens(services, principal.email)
    tz = get_district(services, principal.district_ids[0]).timezone
    context = {"tokens": tokens, "new_secret": new_secret, "error": error, "tz": tz}
    return render(request, "tokens.html", context, status_code=422 if error else 200)


@router.get("/account/tokens")
def tokens_page(request: Request, principal: PagePrincipal) -> Response:
    return _tokens_page(request, principal)


@router.post("/account/tokens", dependencies=[CsrfChecked])
def create_token(
    request: Request, principal: PagePrincipal, label: Annotated[str, Form(max_length=200)] = ""
) -> Response:
    try:
        _, secret = api_tokens.create_token(services_of(request), principal.email, label)
    except ConfigurationError as exc:
        return _tokens_page(request, principal, error=str(exc))
    return _tokens_page(request, principal, new_secret=secret)


@router.post("/account/tokens/{token_id}/revoke", dependencies=[CsrfChecked])
def revoke_token(request: Request, principal: PagePrincipal, token_id: str) -> Response:
    try:
        token = api_tokens.revoke_token(services_of(request), principal.email, token_id)
    except NotFoundError as exc:
        flash(request, "refused", str(exc))
    else:
        flash(request, "applied", f"The token {token.label or token.id} is revoked.")
    return RedirectResponse("/account/tokens", status_code=303)
