"""``rostersync sandbox ...``: serve and generate Clever sandbox districts."""

from __future__ import annotations

import typer

app = typer.Typer(help="A local Clever Data API v3.0 simulator.", no_args_is_help=True)
