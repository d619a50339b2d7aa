"""The ``rostersync`` command line: a thin shell over the service layer."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from rostersync.bootstrap import build_services
from rostersync.cli import clever_cmd, district_cmd, hold_cmd, roster_cmd, sandbox_cmd
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
app.add_typer(district_cmd.admin_app, name="admin")
app.add_typer(hold_cmd.app, name="hold")
app.add_typer(sandbox_cmd.app, name="sandbox")
app.add_typer(clever_cmd.app, name="clever")


@app.command("serve")
@handle_errors
def serve(
    once: Annotated[bool, typer.Option("--once", help="Run one scheduler tick and exit.")] = False,
) -> None:
    """In-process scheduler: syncs each district on its interval, retries pending email."""
    settings = load_settings()
    services = build_services(settings)
    console.print("rostersync scheduler running; Ctrl-C to stop.")
    try:
        while True:
            tick = run_due(services)
            for result in tick.synced:
                console.print(
                    f"synced {result.district_id}: {len(result.runs)} schools", highlight=False
                )
            for error in tick.errors:
                console.print(f"error: {error}", highlight=False, markup=False)
            if once:
                return
            time.sleep(settings.scheduler_tick_s)
    except KeyboardInterrupt:
        console.print("Stopped.")


def main() -> None:
    """Console-script entry point."""
    app()
