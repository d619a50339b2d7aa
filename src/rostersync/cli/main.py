"""The ``rostersync`` command line: a thin shell over the service layer."""

from __future__ import annotations

import contextlib
from typing import Annotated

import typer

from rostersync.bootstrap import build_services
from rostersync.cli import (
    admin_auth_cmd,
    clever_cmd,
    district_cmd,
    hold_cmd,
    roster_cmd,
    sandbox_cmd,
    worker_cmd,
)
from rostersync.cli.output import console, handle_errors
from rostersync.service.schedule import run_due
from rostersync.settings import load_settings

app = typer.Typer(
    name="rostersync",
    help="Keep a school platform's roster in step with the district's SIS, safely.",
    no_args_is_help=True,
    add_completion=False,
)
roster_cmd.register(app)
app.add_typer(district_cmd.app, name="district")
admin_auth_cmd.register(district_cmd.admin_app)
app.add_typer(district_cmd.admin_app, name="admin")
app.add_typer(hold_cmd.app, name="hold")
app.add_typer(sandbox_cmd.app, name="sandbox")
app.add_typer(clever_cmd.app, name="clever")
worker_cmd.register(app)


@app.command("serve")
@handle_errors
def serve(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8000,
    once: Annotated[
        bool, typer.Option("--once", help="Run one scheduler tick and exit (no web server).")
    ] = False,
    no_scheduler: Annotated[
        bool, typer.Option("--no-scheduler", help="Serve the dashboard and API only.")
    ] = False,
) -> None:
    """The dashboard and JSON API, with the scheduler beside them (syncs each district on
    its interval, retries pending email)."""
    settings = load_settings()
    services = build_services(settings)
    if once:
        tick = run_due(services)
        for result in tick.synced:
            console.print(
                f"synced {result.district_id}: {len(result.runs)} schools", highlight=False
            )
        for error in tick.errors:
            console.print(f"error: {error}", highlight=False, markup=False)
        return
    from rostersync.web.server import run_server

    scheduled = not no_scheduler and not settings.broker_url
    console.print(
        f"rostersync serving the dashboard on http://{host}:{port}/ "
        f"({'with' if scheduled else 'without'} the in-process scheduler); Ctrl-C to stop.",
        highlight=False,
    )
    # uvicorn shuts down gracefully on Ctrl-C, then re-raises it: that is a clean stop.
    with contextlib.suppress(KeyboardInterrupt):
        run_server(services, settings, host, port, scheduler=not no_scheduler)
    console.print("Stopped.")


def main() -> None:
    """Console-script entry point."""
    app()
