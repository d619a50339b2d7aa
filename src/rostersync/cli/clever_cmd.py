"""``rostersync clever ...``: talk to a Clever (or sandbox) district directly."""

from __future__ import annotations

import typer

app = typer.Typer(help="Inspect a Clever district through its API.", no_args_is_help=True)
