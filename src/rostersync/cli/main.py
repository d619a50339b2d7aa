"""The ``rostersync`` command line: a thin shell over the service layer."""

from __future__ import annotations

import typer

from rostersync.cli import clever_cmd, sandbox_cmd

app = typer.Typer(
    name="rostersync",
    help="Keep a school platform's roster in step with the district's SIS, safely.",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(sandbox_cmd.app, name="sandbox")
app.add_typer(clever_cmd.app, name="clever")


def main() -> None:
    """Console-script entry point."""
    app()
