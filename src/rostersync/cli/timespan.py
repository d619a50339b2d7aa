"""Parse human sync intervals such as ``24h``, ``30m``, ``1d`` or ``3600``."""

from __future__ import annotations

import re

import typer

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_interval(text: str) -> int:
    match = re.fullmatch(r"\s*(\d+)\s*([smhd]?)\s*", text)
    if match is None:
        raise typer.BadParameter(f"{text!r} is not an interval; write e.g. 24h, 30m or 3600.")
    return int(match.group(1)) * _UNITS[match.group(2) or "s"]
