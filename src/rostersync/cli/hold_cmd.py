"""``rostersync hold ...``: resolve a school's hold, as the report's buttons do.

With a broker configured the action is queued on the urgent queue and the command waits for
its recorded outcome (see service/jobs.py); otherwise it runs here.
"""

from __future__ import annotations

import getpass
from typing import Annotated

import typer

from rostersync.bootstrap import build_services
from rostersync.cli.output import JSON_OPTION, console, emit_json, handle_errors
from rostersync.service import holds
from rostersync.service.jobs import job_runner
from rostersync.service.views import run_json

app = typer.Typer(help="Resolve a school's hold.", no_args_is_help=True)
SCHOOL_ARG = typer.Argument(help="School: internal id or Clever school id.")
ACTOR_OPTION = typer.Option("--actor", help="Who is acting (recorded); defaults to the OS user.")


def _actor(actor: str | None) -> str:
    return actor or f"cli:{getpass.getuser()}"


def _emit(result: holds.ActionResult, as_json: bool) -> None:
    if as_json:
        emit_json(
            {
                "action": result.action,
                "school_id": result.school_id,
                "outcome": result.outcome,
                "message": result.message,
                "run": run_json(result.run) if result.run else None,
            }
        )
    else:
        console.print(f"{result.outcome}: {result.message}", highlight=False, markup=False)
    if result.outcome not in ("applied",):
        raise typer.Exit(2)


@app.command("check-new-data")
@handle_errors
def check_new_data(
    school: Annotated[str, SCHOOL_ARG],
    yes: Annotated[bool, typer.Option("--yes", help="Answer 'Yes, continue' up front.")] = False,
    actor: Annotated[str | None, ACTOR_OPTION] = None,
    as_json: bool = JSON_OPTION,
) -> None:
    """Fetch afresh and re-evaluate the school now (data_removals, data_configuration)."""
    services = build_services()
    if not yes:
        yes = typer.confirm(
            "This fetches the school's data from Clever again and syncs it at once if it now "
            "passes every rule. Yes, continue?"
        )
    result = job_runner(services).hold_action(
        services, holds.CHECK_NEW_DATA, school, actor=_actor(actor), confirmed=yes
    )
    _emit(result, as_json)


@app.command("confirm-removals")
@handle_errors
def confirm_removals(
    school: Annotated[str, SCHOOL_ARG],
    run: Annotated[str | None, typer.Option("--run", help="The held run you reviewed.")] = None,
    actor: Annotated[str | None, ACTOR_OPTION] = None,
    as_json: bool = JSON_OPTION,
) -> None:
    """Apply the held removals exactly as reviewed (data_removals only)."""
    services = build_services()
    result = job_runner(services).hold_action(
        services, holds.CONFIRM_REMOVALS, school, actor=_actor(actor), run_id=run
    )
    _emit(result, as_json)


@app.command("reconnect")
@handle_errors
def reconnect(
    school: Annotated[str, SCHOOL_ARG],
    actor: Annotated[str | None, ACTOR_OPTION] = None,
    as_json: bool = JSON_OPTION,
) -> None:
    """'I fixed it': verify the connection and sync the school at once (disconnected only)."""
    services = build_services()
    result = job_runner(services).hold_action(
        services, holds.RECONNECT, school, actor=_actor(actor)
    )
    _emit(result, as_json)
