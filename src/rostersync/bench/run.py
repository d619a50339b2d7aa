"""Run the benchmark's modes: start the sandbox process, run each measured child, collect.

Each measured run is its own process, so its CPU time and peak RSS (``wait4``) are the
sync's alone; the sandbox serves from another process and its cost is not counted.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from sqlalchemy import create_engine, make_url

from rostersync.bench.workload import district_dir

MODES: tuple[str, ...] = ("floor", "first_load", "no_change", "one_percent")


@dataclass
class _Server:
    process: subprocess.Popen[str]
    base_url: str
    token: str
    records: int
    changes: dict[str, int]

    def stop(self) -> None:
        stdin: IO[str] | None = self.process.stdin
        if stdin is not None:
            stdin.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_server(directory: Path, one_percent: bool) -> _Server:
    command = [sys.executable, "-m", "rostersync.bench.serve", str(directory)]
    if one_percent:
        command.append("--one-percent")
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line:
        process.wait()
        raise RuntimeError(
            "The benchmark's sandbox process ended before serving; see its error above."
        )
    info = json.loads(line)
    return _Server(process, info["base_url"], info["token"], info["records"], info["changes"])


def measure(argv: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run one child; its report plus wall time, CPU time and peak RSS of that process."""
    command = [sys.executable, "-m", "rostersync.bench.child", *argv]
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
    assert process.stdout is not None
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    if process.returncode != 0:
        raise RuntimeError(
            f"The measured run {argv[0]} failed with exit code {process.returncode}; "
            "its error is printed above."
        )
    report: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
    report["wall_s"] = round(wall, 2)
    report["cpu_s"] = round(usage.ru_utime + usage.ru_stime, 2)
    report["peak_rss_mib"] = round(usage.ru_maxrss / 1024, 1)
    return report


BENCH_DATABASE = "rostersync_bench"
# The syncs' fetch cache (emptied with the store: the first load starts from nothing).
FETCH_CACHE = "fetch-cache"


def fresh_store(
    root: Path, students: int, pg_url: str | None, pg_database: str = BENCH_DATABASE
) -> str:
    """An empty store for the run: a SQLite file under ``root``, or, with ``pg_url`` (a
    PostgreSQL server URL), the database ``pg_database`` there, dropped and created."""
    shutil.rmtree(root / FETCH_CACHE, ignore_errors=True)
    if pg_url is None:
        database = root / f"bench-{students}.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{database}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{database}"
    server = make_url(pg_url)
    engine = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{pg_database}" WITH (FORCE)')
            conn.exec_driver_sql(f'CREATE DATABASE "{pg_database}"')
    finally:
        engine.dispose()
    return server.set(database=pg_database).render_as_string(hide_password=False)


def run_all(
    students: int, root: Path, pg_url: str | None = None, pg_database: str = BENCH_DATABASE
) -> dict[str, Any]:
    """Generate (or reuse) the district and measure every mode, in order."""
    directory = district_dir(root, students)
    url = fresh_store(root, students, pg_url, pg_database)
    results: dict[str, Any] = {}
    env = {**os.environ, "ROSTERSYNC_FETCH_CACHE_DIR": str(root / FETCH_CACHE)}
    server = start_server(directory, one_percent=False)
    try:
        results["floor"] = measure(["floor", server.base_url, server.token])
        results["first_load"] = measure(["sync", server.base_url, server.token, url], env)
        results["no_change"] = measure(["sync", server.base_url, server.token, url], env)
        records = server.records
    finally:
        server.stop()
    server = start_server(directory, one_percent=True)
    try:
        results["one_percent"] = measure(["sync", server.base_url, server.token, url], env)
        results["one_percent"]["changes"] = server.changes
        changed_records = server.records
    finally:
        server.stop()
    for mode in MODES:
        results[mode]["records"] = changed_records if mode == "one_percent" else records
        results[mode]["request_budget"] = math.ceil(results[mode]["records"] / 10_000) + 50
    return results
