"""``rostersync clever ...``: talk to a Clever (or sandbox) district directly.

An entry point, so it may build the Clever client itself; the work is the service layer's
``inspect_district``. Errors from the source end the command with exit code 1 and one line
on stderr, never a traceback.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn
from rich.table import Table

from rostersync.errors import RostersyncError
from rostersync.service.inspect import InspectReport, inspect_district
from rostersync.sources.clever import CleverSource

app = typer.Typer(help="Inspect a Clever district through its API.", no_args_is_help=True)

MAX_PROBLEMS_SHOWN = 20


@app.callback()
def _group() -> None:
    """Inspect a Clever district through its API."""


@app.command("inspect")
def inspect_cmd(
    token: Annotated[
        str,
        typer.Option(
            envvar="ROSTERSYNC_CLEVER_TOKEN",
            help="The district-app token (better set ROSTERSYNC_CLEVER_TOKEN).",
            show_default=False,
        ),
    ],
    base_url: Annotated[
        str,
        typer.Option(envvar="ROSTERSYNC_CLEVER_BASE_URL", help="Clever API or sandbox origin."),
    ] = "https://api.clever.com",
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    page_size: Annotated[
        int, typer.Option(min=1, max=10_000, help="Records per page request.")
    ] = 10_000,
) -> None:
    """Connect, page through the whole district, and report what it contains."""
    show_progress = not as_json and sys.stdout.isatty()
    try:
        with (
            CleverSource(base_url, token, page_size=page_size) as source,
            _progress(show_progress) as progress,
        ):
            report = inspect_district(source, progress)
    except RostersyncError as exc:
        typer.echo(f"Error: {exc}", err=True)
        raise typer.Exit(1) from None
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2, sort_keys=False))
    else:
        _print_report(Console(), report)


@contextmanager
def _progress(enabled: bool) -> Iterator[Callable[[str, int], None] | None]:
    """A live "users: 12,000 read" display on stderr while the lists stream in."""
    if not enabled:
        yield None
        return
    tasks: dict[str, TaskID] = {}
    columns = (SpinnerColumn(), TextColumn("{task.description}"))
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:

        def update(name: str, count: int) -> None:
            if name not in tasks:
                tasks[name] = bar.add_task(name)
            bar.update(tasks[name], description=f"{name}: {count:,} read")

        yield update


def _print_report(console: Console, report: InspectReport) -> None:
    state = report.district_state or "unknown"
    if report.district_error:
        state = f"{state} ({report.district_error})"
    name, district_id = escape(report.district_name), escape(report.district_id)
    console.print(f"District [bold]{name}[/] ({district_id}), state {escape(state)}")
    counts = Table(title="Records", show_header=True)
    counts.add_column("kind")
    counts.add_column("count", justify="right")
    for kind, value in report.counts.as_dict().items():
        counts.add_row(kind.replace("_", " "), f"{value:,}")
    console.print(counts)
    console.print(
        f"Requests: {report.requests:,}; row errors: {report.errors:,}; alerts: {report.alerts:,}."
    )
    if report.problems:
        _print_problems(console, report)


def _print_problems(console: Console, report: InspectReport) -> None:
    table = Table(title="Row problems", show_header=True)
    for column in ("severity", "entity", "source id", "code"):
        table.add_column(column, no_wrap=True)
    table.add_column("message", overflow="fold")
    for problem in report.problems[:MAX_PROBLEMS_SHOWN]:
        cells = (problem.severity, problem.entity, problem.source_id, problem.code, problem.message)
        table.add_row(*(escape(str(cell)) for cell in cells))
    console.print(table)
    hidden = len(report.problems) - MAX_PROBLEMS_SHOWN
    if hidden > 0:
        console.print(f"... and {hidden:,} more; use --json to see them all.")
