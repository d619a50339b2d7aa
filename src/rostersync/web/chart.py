"""Geometry of the run-history charts, drawn as inline SVG by the ``runs.html`` template.

Server-rendered SVG because it needs no JavaScript, no chart library and no CDN, prints and
scales on a phone, and can carry a text alternative (``<title>``/``<desc>`` plus the run
table beside it). Two small charts: roster size per run (a line) and changes per run
(stacked bars: added, updated, removed). Runs go oldest to newest, left to right.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from rostersync.service.model import RunRecord

WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 12, 36
ACCOUNT_KEYS = ("students", "teachers", "staff", "contacts")
OPS = ("added", "updated", "removed")


@dataclass(frozen=True, slots=True)
class Tick:
    y: float
    label: str


@dataclass(frozen=True, slots=True)
class Mark:
    """A point or a bar segment, with the text a screen reader or tooltip gets."""

    x: float
    y: float
    width: float
    height: float
    kind: str
    label: str


@dataclass(frozen=True, slots=True)
class Chart:
    title: str
    description: str
    width: int
    height: int
    left: int
    bottom: float
    right: float
    ticks: list[Tick]
    marks: list[Mark]
    line: str
    x_labels: list[Tick]


def nice_max(value: int) -> int:
    """The smallest 1, 2 or 5 times a power of ten that is at least ``value`` (and ≥ 1)."""
    if value <= 1:
        return 1
    power = int(10 ** math.floor(math.log10(value)))
    for step in (1, 2, 5, 10):
        if step * power >= value:
            return step * power
    return 10 * power


def _frame(top_value: int) -> tuple[float, float, list[Tick]]:
    plot_h = HEIGHT - TOP - BOTTOM
    ticks = [Tick(TOP + plot_h * (1 - f), f"{int(top_value * f):,}") for f in (0, 0.5, 1)]
    return float(HEIGHT - BOTTOM), plot_h, ticks


def _slots(count: int) -> tuple[float, list[float]]:
    plot_w = WIDTH - LEFT - RIGHT
    slot = plot_w / max(count, 1)
    return slot, [LEFT + slot * (i + 0.5) for i in range(count)]


def _x_labels(runs: Sequence[RunRecord], centers: list[float], zone: ZoneInfo) -> list[Tick]:
    """Up to five times under the x axis (first, last and evenly between), in the
    district's time zone."""
    if not runs:
        return []
    step = max(1, math.ceil(len(runs) / 5))
    picked = sorted(set(range(0, len(runs), step)) | {len(runs) - 1})
    return [
        Tick(centers[i], runs[i].finished_at.astimezone(zone).strftime("%m-%d %H:%M"))
        for i in picked
    ]


def size_chart(runs: Sequence[RunRecord], zone: ZoneInfo) -> Chart:
    """Accounts linked to the school after each run that knew its counts."""
    ordered = [r for r in reversed(runs) if r.counts]
    sizes = [sum(r.counts.get(k, 0) for k in ACCOUNT_KEYS) for r in ordered]
    top = nice_max(max(sizes, default=0))
    bottom, plot_h, ticks = _frame(top)
    _, centers = _slots(len(ordered))
    marks = [
        Mark(x, bottom - plot_h * size / top, 0, 0, "point", f"{r.id}: {size:,} accounts")
        for x, size, r in zip(centers, sizes, ordered, strict=True)
    ]
    line = " ".join(f"{m.x:.1f},{m.y:.1f}" for m in marks)
    described = f"from {sizes[0]:,} to {sizes[-1]:,} accounts" if sizes else "no runs yet"
    return Chart(
        "Roster size per run",
        f"Accounts linked to the school over the last {len(sizes)} runs, {described}.",
        WIDTH,
        HEIGHT,
        LEFT,
        bottom,
        WIDTH - RIGHT,
        ticks,
        marks,
        line,
        _x_labels(ordered, centers, zone),
    )


def changes_chart(runs: Sequence[RunRecord], zone: ZoneInfo) -> Chart:
    """Added, updated and removed records per run, stacked."""
    ordered = list(reversed(runs))
    totals = [{op: sum(c.get(op, 0) for c in r.changes.values()) for op in OPS} for r in ordered]
    top = nice_max(max((sum(t.values()) for t in totals), default=0))
    bottom, plot_h, ticks = _frame(top)
    slot, centers = _slots(len(ordered))
    width = max(min(slot * 0.7, 28), 2)
    marks: list[Mark] = []
    for x, run, counts in zip(centers, ordered, totals, strict=True):
        base = bottom
        for op in OPS:
            height = plot_h * counts[op] / top
            if height <= 0:
                continue
            base -= height
            label = f"{run.id} ({run.outcome.value}): {counts[op]:,} {op}"
            marks.append(Mark(x - width / 2, base, width, height, op, label))
    all_changes = sum(sum(t.values()) for t in totals)
    return Chart(
        "Changes per run",
        f"Records added, updated and removed in each of the last {len(ordered)} runs "
        f"({all_changes:,} in all).",
        WIDTH,
        HEIGHT,
        LEFT,
        bottom,
        WIDTH - RIGHT,
        ticks,
        marks,
        "",
        _x_labels(ordered, centers, zone),
    )
