"""The benchmark's markdown summary, and its check of the issue's targets."""

from __future__ import annotations

import os
import platform
from typing import Any

# Targets at R1M (processing = CPU seconds of the sync process); see docs/performance.md.
CPU_TARGETS: dict[str, float] = {"first_load": 90.0, "no_change": 20.0, "one_percent": 30.0}
PG_FIRST_LOAD_TARGET = 60.0
RSS_TARGET_MIB = 512.0
NO_CHANGE_FLOOR_RATIO = 2.5
APPLY_TARGET_S = 5.0


def machine() -> str:
    """nproc, CPU model and memory, as the figures are quoted (no paths)."""
    model = platform.processor() or "unknown CPU"
    memory = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo", encoding="utf-8") as info:
            kib = int(info.readline().split()[1])
            memory = f", {kib / 1024 / 1024:.0f} GiB RAM"
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs ({model}){memory}, Python {platform.python_version()}"


def checks(results: dict[str, Any], store: str = "SQLite") -> list[str]:
    """One line per target: met or not, with the figure."""
    out: list[str] = []
    targets = dict(CPU_TARGETS)
    if store == "PostgreSQL":
        targets["first_load"] = PG_FIRST_LOAD_TARGET
    for mode, limit in targets.items():
        cpu = results[mode]["cpu_s"]
        out.append(_line(cpu <= limit, f"{mode}: {cpu:.1f} s CPU (target ≤ {limit:.0f} s)"))
    ratio = results["no_change"]["cpu_s"] / max(results["floor"]["cpu_s"], 0.001)
    out.append(_line(ratio <= NO_CHANGE_FLOOR_RATIO, f"no_change / floor: {ratio:.2f}× (≤ 2.5×)"))
    written = sum(results["no_change"]["rows_written"].values())
    out.append(_line(written == 0, f"no_change roster rows written: {written} (must be 0)"))
    apply_s = results["one_percent"].get("apply_cpu_s", 0.0)
    out.append(_line(apply_s <= APPLY_TARGET_S, f"one_percent apply: {apply_s:.2f} s (≤ 5 s)"))
    for mode, figures in results.items():
        rss = figures["peak_rss_mib"]
        out.append(_line(rss <= RSS_TARGET_MIB, f"{mode}: peak RSS {rss:.0f} MiB (≤ 512 MiB)"))
        budget = figures["request_budget"]
        requests = figures["requests"]
        out.append(_line(requests <= budget, f"{mode}: {requests} requests (≤ {budget})"))
    return out


def _line(ok: bool, text: str) -> str:
    return f"- {'met' if ok else 'MISSED'}: {text}"


def _code(results: dict[str, Any]) -> str:
    """Whether the syncs ran the compiled modules (``rostersync.compiled``)."""
    runs = [f.get("compiled") for mode, f in results.items() if mode != "floor"]
    if runs and all(runs):
        return "Hot modules: compiled (mypyc)."
    if not any(runs):
        return "Hot modules: plain Python (not compiled: `make compile`)."
    return "Hot modules: compiled in some runs only."


def markdown(students: int, results: dict[str, Any], store: str = "SQLite") -> str:
    """The summary table, the target checks and the machine."""
    lines = [
        f"## Benchmark: {students:,} students",
        "",
        f"Machine: {machine()}. Store: {store}. {_code(results)}",
        "",
        "| mode | CPU s | wall s | peak RSS MiB | requests | records | roster rows written |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for mode, f in results.items():
        written = sum(f["rows_written"].values()) if mode != "floor" else "—"
        lines.append(
            f"| {mode} | {f['cpu_s']:.1f} | {f['wall_s']:.1f} | {f['peak_rss_mib']:.0f} | "
            f"{f['requests']} | {f['records']:,} | {written} |"
        )
    lines += ["", "Targets (as set for R1M):", "", *checks(results, store), ""]
    for mode in ("first_load", "one_percent"):
        per_table = ", ".join(f"{t} {n:,}" for t, n in results[mode]["rows_written"].items())
        lines.append(f"- {mode} rows written: {per_table or 'none'}")
    lines.append(f"- one_percent source changes: {results['one_percent'].get('changes', {})}")
    lines += [line for mode in results if (line := phase_line(mode, results[mode]))]
    return "\n".join(lines) + "\n"


def phase_line(mode: str, figures: dict[str, Any]) -> str:
    """Where a sync's CPU time went, by phase (``bench.child.PHASES``); empty for the floor.
    What the phases leave out (starting the process, imports, the district's bookkeeping)
    is ``other``."""
    phases = figures.get("phases_cpu_s")
    if not phases:
        return ""
    fetch, evaluate = phases["fetch"], phases["evaluate"]
    apply_s = figures.get("apply_cpu_s", 0.0)
    other = figures["cpu_s"] - fetch - evaluate
    return (
        f"- {mode} CPU s by phase: fetch {fetch:.1f} (users {phases['stage_users']:.1f}, "
        f"sections {phases['stage_sections']:.1f}, staging finish "
        f"{phases['staging_finish']:.1f}); evaluation {evaluate:.1f} (building rosters "
        f"{phases['build']:.1f}, loading stored rosters {phases['load']:.1f}, apply "
        f"{apply_s:.1f}, the rest {evaluate - phases['build'] - phases['load'] - apply_s:.1f});"
        f" other {other:.1f}"
    )
