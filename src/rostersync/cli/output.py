"""How the CLI speaks: Rich tables for people, stable JSON with ``--json``, and errors as
one clear sentence on stderr with exit code 1 (never a traceback for expected failures)."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.text import Text

from rostersync.errors import RostersyncError

P = ParamSpec("P")
R = TypeVar("R")

console = Console()
err_console = Console(stderr=True)

JSON_OPTION = typer.Option(False, "--json", help="Print machine-readable JSON.")


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, sort_keys=False) + "\n")


def handle_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn rostersync's own errors into a one-line message and exit code 1."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except RostersyncError as exc:
            if kwargs.get("as_json"):
                emit_json({"error": {"type": type(exc).__name__, "message": str(exc)}})
            else:
                err_console.print(Text.assemble(("Error: ", "bold red"), str(exc)))
            raise typer.Exit(1) from None

    return wrapper
