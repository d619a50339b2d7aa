"""Rendering pages: the Jinja2 environment, its filters, and what every page gets.

Autoescaping is on for every template (names come from the district's SIS, so a student
called ``<script>alert(1)</script>`` must print as text). Times print in the district's time
zone, with the zone's abbreviation, inside ``<time datetime=...>`` for machines.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape

from rostersync.domain.policy import HoldKind
from rostersync.web.session import csrf_token, current_principal, pop_flash

KIND_WORDS = {
    HoldKind.DATA_REMOVALS.value: "Data removals",
    HoldKind.DATA_CONFIGURATION.value: "Data configuration",
    HoldKind.DISCONNECTED.value: "Disconnected",
}
STATE_WORDS = {
    "never_synced": "Never synced",
    "healthy": "Healthy",
    "failing": "Failing",
    "on_hold": "On hold",
}
ACTION_WORDS = {
    "check_new_data": "Check for new Clever data",
    "confirm_removals": "Confirm removals",
    "reconnect": "I fixed it",
}


@functools.cache
def zone_of(name: str) -> ZoneInfo:
    """The district's zone; UTC when the name is not a zone this machine knows."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local_time(value: datetime | None, zone: str = "UTC", empty: str = "never") -> Markup:
    """``<time>`` in the district's zone: ``2024-05-01 14:03 CEST``."""
    if value is None:
        return escape(empty)
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    local = aware.astimezone(zone_of(zone))
    text = local.strftime("%Y-%m-%d %H:%M %Z")
    return Markup('<time datetime="{}">{}</time>').format(aware.isoformat(), text)


def plural(count: int, one: str, many: str | None = None) -> str:
    return f"{count} {one if count == 1 else (many or one + 's')}"


def build_templates() -> Jinja2Templates:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("rostersync.web", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["local"] = local_time
    env.globals.update(
        kind_words=KIND_WORDS,
        state_words=STATE_WORDS,
        action_words=ACTION_WORDS,
        plural=plural,
    )
    return Jinja2Templates(env=env)


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """A page, with the CSRF token, the signed-in admin and any flash message."""
    templates: Jinja2Templates = request.app.state.templates
    base = {
        "csrf_token": csrf_token(request),
        "principal": current_principal(request),
        "flash": pop_flash(request),
    }
    return templates.TemplateResponse(request, name, {**base, **(context or {})}, status_code)
