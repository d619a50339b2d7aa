"""``rostersync district ...`` and ``rostersync admin ...``: who and what rostersync syncs."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from rostersync.bootstrap import build_services
from rostersync.cli.admin_auth_cmd import read_password_stdin
from rostersync.cli.output import JSON_OPTION, console, emit_json, handle_errors
from rostersync.cli.timespan import parse_interval
from rostersync.service import districts
from rostersync.service.auth import Auth, check_password_rules
from rostersync.service.model import DistrictConfig, Plan

app = typer.Typer(help="Add districts and set their hold policy.", no_args_is_help=True)
admin_app = typer.Typer(
    help="Administrators: hold emails, dashboard sign-in, API tokens.", no_args_is_help=True
)


def district_json(config: DistrictConfig) -> dict[str, object]:
    policy = config.policy
    return {
        "id": config.id,
        "name": config.name,
        "clever_base_url": config.clever_base_url,
        "plan": config.plan.value,
        "interval_s": config.interval_s,
        "last_sync_at": config.last_sync_at.isoformat() if config.last_sync_at else None,
        "policy": {
            "removal_pct": policy.removal_pct,
            "removal_min": policy.removal_min,
            "removal_total": policy.removal_total,
            "max_contacts": policy.max_contacts,
            "blocked_contact_types": sorted(policy.blocked_contact_types),
            "failures_before_disconnect": policy.failures_before_disconnect,
        },
    }


@app.command("add")
@handle_errors
def add(
    name: Annotated[str, typer.Option("--name", help="The district's name.")],
    clever_token: Annotated[
        str,
        typer.Option("--clever-token", envvar="ROSTERSYNC_CLEVER_TOKEN", help="District token."),
    ],
    clever_base_url: Annotated[
        str, typer.Option("--clever-base-url", help="Clever API origin (or a sandbox).")
    ] = districts.DEFAULT_BASE_URL,
    as_json: bool = JSON_OPTION,
) -> None:
    """Add a district; prints its id."""
    config = districts.add_district(build_services(), name, clever_token, clever_base_url)
    if as_json:
        emit_json(district_json(config))
    else:
        console.print(config.id, highlight=False)


@app.command("list")
@handle_errors
def list_(as_json: bool = JSON_OPTION) -> None:
    """List the districts."""
    configs = districts.list_districts(build_services())
    if as_json:
        emit_json({"districts": [district_json(c) for c in configs]})
        return
    table = Table("id", "name", "plan", "interval", "last sync", "source")
    for c in configs:
        last = c.last_sync_at.isoformat(timespec="seconds") if c.last_sync_at else "never"
        table.add_row(c.id, c.name, c.plan.value, f"{c.interval_s}s", last, c.clever_base_url)
    console.print(table)


@app.command("set-policy")
@handle_errors
def set_policy(
    district: Annotated[str, typer.Argument(help="District id.")],
    removal_pct: Annotated[float | None, typer.Option(help="Share of a kind (%).")] = None,
    removal_min: Annotated[int | None, typer.Option(help="Fewest removals to hold.")] = None,
    removal_total: Annotated[int | None, typer.Option(help="Total removals to hold.")] = None,
    max_contacts: Annotated[
        int | None, typer.Option(help="Most contacts a student may have.")
    ] = None,
    blocked_contact_types: Annotated[
        str | None, typer.Option(help="Comma-separated contact types that hold.")
    ] = None,
    failures: Annotated[
        int | None, typer.Option("--failures", help="Failed runs before a disconnected hold.")
    ] = None,
    interval: Annotated[str | None, typer.Option(help="Sync interval, e.g. 24h, 30m.")] = None,
    plan: Annotated[Plan | None, typer.Option(help="active or inactive.")] = None,
    as_json: bool = JSON_OPTION,
) -> None:
    """Change a district's hold thresholds, sync interval or plan."""
    config = districts.set_policy(
        build_services(),
        district,
        removal_pct=removal_pct,
        removal_min=removal_min,
        removal_total=removal_total,
        max_contacts=max_contacts,
        blocked_contact_types=blocked_contact_types.split(",")
        if blocked_contact_types is not None
        else None,
        failures_before_disconnect=failures,
        interval_s=parse_interval(interval) if interval else None,
        plan=plan,
    )
    if as_json:
        emit_json(district_json(config))
    else:
        console.print(f"Updated district {config.id}.", highlight=False)


@admin_app.command("add")
@handle_errors
def admin_add(
    email: Annotated[str, typer.Option("--email", help="The administrator's email.")],
    district: Annotated[str, typer.Option("--district", help="District id.")],
    school: Annotated[
        list[str] | None, typer.Option("--school", help="Limit to these schools (repeatable).")
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read a dashboard password from stdin.")
    ] = False,
    as_json: bool = JSON_OPTION,
) -> None:
    """Add an administrator of a district (or of some of its schools)."""
    password = read_password_stdin() if password_stdin else None
    if password is not None:
        check_password_rules(password)
    services = build_services()
    admin = districts.add_admin(services, email, district, school or [])
    if password is not None:
        Auth(services).set_password(admin.email, password)
    if as_json:
        emit_json(
            {
                "id": admin.id,
                "email": admin.email,
                "district_id": admin.district_id,
                "school_ids": list(admin.school_ids),
            }
        )
    else:
        console.print(admin.id, highlight=False)
