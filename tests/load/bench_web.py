"""``make bench-web``: the dashboard and API under a bounded load while syncs run.

A benchmark, not a test (``tests/load/test_load.py`` runs a short version and asserts no
errors, never a time). It builds the embedded setup:

- a sandbox serving a generated district (in this process, in a thread), one of its schools
  put on a ``data_removals`` hold so the report and change-set endpoints have content;
- a SQLite store (WAL) and ``python -m rostersync serve --no-scheduler`` in a **subprocess**
  on a free loopback port (the load generator does not share the server's GIL);
- a district admin signed in (one session cookie) and an API token;
- a sync driver thread that, until the load ends, changes the source (renames a few
  students, moves one to another school) and runs ``python -m rostersync sync --json`` in a
  subprocess, over and over, so every sync writes;
- ``--clients`` asyncio clients (httpx, one connection each, loopback only) that, for
  ``--seconds``, request in turn the schools page, the SIS report page, and the API's
  ``/schools/{id}/report`` and ``/schools/{id}/changes``.

It prints requests, errors (anything but a 200), p50/p95/p99 per endpoint, requests/s, the
syncs completed during the load and how many responses overlapped a running sync.
docs/load.md records the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import httpx

from rostersync.sandbox.generator import generate_district
from rostersync.sandbox.server import SandboxServer
from rostersync.sandbox.state import SandboxState
from rostersync.service import api_tokens, districts
from rostersync.service.auth import Auth
from rostersync.service.context import Services
from rostersync.service.sync import sync_district
from rostersync.storage import SqlStore, upgrade_database
from tests.integration.conftest import fast_sources

ADMIN = "load@district.example"
PASSWORD = "load test password 0123"
SECRET_KEY = "load-test-secret-key-" + "x" * 32
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
ENDPOINTS = ("page /schools", "page /schools/{id}", "api report", "api changes")


@dataclass(frozen=True, slots=True)
class Sample:
    """One request: which endpoint, its status (0: no answer) and wall-clock window."""

    endpoint: str
    status: int
    start: float
    end: float
    error: str = ""


@dataclass(frozen=True, slots=True)
class SyncWindow:
    """One ``rostersync sync`` process: the wall-clock span of its runs, as recorded."""

    start: float
    end: float
    runs: int
    rows_written: int
    returncode: int
    failed_runs: int
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and self.failed_runs == 0


@dataclass
class LoadResult:
    clients: int
    seconds: float
    students: int
    samples: list[Sample] = field(default_factory=list)
    syncs: list[SyncWindow] = field(default_factory=list)
    load_start: float = 0.0
    load_end: float = 0.0

    @property
    def errors(self) -> list[Sample]:
        return [s for s in self.samples if s.status != 200]

    @property
    def syncs_during_load(self) -> list[SyncWindow]:
        return [w for w in self.syncs if w.start >= self.load_start and w.end <= self.load_end]

    def overlapping_sync(self) -> list[Sample]:
        """Answered requests whose window overlaps a sync's (its runs' start to finish)."""
        return [
            s
            for s in self.samples
            if s.status == 200 and any(s.start < w.end and s.end > w.start for w in self.syncs)
        ]

    def inside_sync(self) -> list[Sample]:
        """Answered requests sent and answered while a sync was running."""
        return [
            s
            for s in self.samples
            if s.status == 200 and any(w.start <= s.start and s.end <= w.end for w in self.syncs)
        ]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


class Stack:
    """Sandbox, SQLite store, ``rostersync serve`` subprocess, admin session and token."""

    def __init__(self, tmp: Path, students: int, schools: int = 3, seed: int = 71) -> None:
        self.tmp = tmp
        self.db_path = tmp / "load.db"
        self.db_url = f"sqlite:///{self.db_path}"
        self.students = students
        self.schools_n = schools
        self.seed = seed
        self.port = 0
        self.url = ""
        self.token = ""
        self.cookies: dict[str, str] = {}
        self.school_ids: list[str] = []
        self.clever_school_ids: list[str] = []
        self.held_school = ""
        self.district_id = ""
        self._process: subprocess.Popen[bytes] | None = None
        self._sandbox: SandboxServer | None = None
        self._store: SqlStore | None = None
        self._services: Services | None = None
        self._round = 0

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ROSTERSYNC_")}
        env.update(
            ROSTERSYNC_DATABASE_URL=self.db_url,
            ROSTERSYNC_SECRET_KEY=SECRET_KEY,
            ROSTERSYNC_RETRY_ATTEMPTS="2",
            ROSTERSYNC_RETRY_BASE_DELAY_S="0",
            ROSTERSYNC_HTTP_TIMEOUT_S="30",
            # Plain tracebacks from the CLI, so a failed sync's cause fits in its detail.
            _TYPER_STANDARD_TRACEBACK="1",
        )
        return env

    @property
    def state(self) -> SandboxState:
        assert self._sandbox is not None
        return self._sandbox.state

    @property
    def store(self) -> SqlStore:
        assert self._store is not None
        return self._store

    @property
    def services(self) -> Services:
        """Services on the same SQLite file, in this process (for setup and direct reads)."""
        assert self._services is not None
        return self._services

    def __enter__(self) -> Stack:
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _start(self) -> None:
        upgrade_database(self.db_url)
        self._store = SqlStore(self.db_url)
        data = generate_district(seed=self.seed, students=self.students, schools=self.schools_n)
        self._sandbox = SandboxServer(SandboxState.from_data(data)).start()
        services = self._services = Services(store=self._store, sources=fast_sources)
        config = districts.add_district(
            services, "Load USD", self._sandbox.token, self._sandbox.base_url
        )
        self.district_id = config.id
        sync_district(services, config.id)
        with self._store.unit_of_work() as uow:
            rows = uow.list_schools(config.id)
        self.school_ids = [r.id for r in rows]
        self.clever_school_ids = [r.source_id for r in rows]
        # The last school loses 30% of its students: a data_removals hold with a change set.
        self.state.remove_share_of_students(self.clever_school_ids[-1], 0.3)
        sync_district(services, config.id)
        self.held_school = self.school_ids[-1]
        districts.add_admin(services, ADMIN, config.id)
        Auth(services).set_password(ADMIN, PASSWORD)
        self.token = api_tokens.create_token(services, ADMIN, "load test")[1]
        self._serve()
        self._sign_in()

    def _serve(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        log = (self.tmp / "serve.log").open("wb")
        command = [sys.executable, "-m", "rostersync", "serve", "--host", "127.0.0.1"]
        self._process = subprocess.Popen(
            [*command, "--port", str(self.port), "--no-scheduler"],
            env=self.env,
            cwd=self.tmp,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"rostersync serve exited: {self.server_log()[-4000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            time.sleep(0.2)
        tail = self.server_log()[-4000:]
        raise RuntimeError(f"rostersync serve did not answer within 60 s: {tail}")

    def server_log(self) -> str:
        path = self.tmp / "serve.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def _sign_in(self) -> None:
        with httpx.Client(base_url=self.url, timeout=30) as browser:
            found = CSRF_RE.search(browser.get("/login").text)
            assert found, "the sign-in page has no CSRF token"
            form = {"email": ADMIN, "password": PASSWORD, "csrf_token": found.group(1)}
            answer = browser.post("/login", data=form)
            assert answer.status_code == 303, answer.text
            self.cookies = dict(browser.cookies.items())

    def close(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=10)
        self._process = None
        if self._sandbox is not None:
            self._sandbox.stop()
            self._sandbox = None
        if self._store is not None:
            self._store.dispose()
            self._store = None

    # -- the source changes between syncs, and the syncs --------------------------------

    def change_source(self) -> None:
        """Rename a few students of every healthy school and move one to the next school."""
        self._round += 1
        state = self.state
        healthy = self.clever_school_ids[:-1]
        for school in healthy:
            for student_id in state.users_of_school(school, "student")[:5]:
                record = state.require("users", student_id)
                name = dict(record.get("name") or {})
                name["middle"] = f"R{self._round}"
                state.upsert_user({**record, "name": name})
        if len(healthy) > 1:
            source, target = healthy[self._round % 2], healthy[(self._round + 1) % 2]
            students = state.users_of_school(source, "student")
            if students:
                state.move_student(students[self._round % len(students)], target)

    def run_sync(self) -> SyncWindow:
        """``rostersync sync --district D --json`` in a subprocess."""
        command = [sys.executable, "-m", "rostersync", "sync", "--district", self.district_id]
        started = time.time()
        done = subprocess.run(
            [*command, "--json"],
            env=self.env,
            cwd=self.tmp,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        ended = time.time()
        try:
            runs = json.loads(done.stdout)["runs"]
        except (ValueError, KeyError):
            return SyncWindow(started, ended, 0, 0, done.returncode or 1, 0, done.stderr[-8000:])
        if not runs:
            return SyncWindow(started, ended, 0, 0, done.returncode, 0, done.stderr[-8000:])
        return SyncWindow(
            start=min(_epoch(r["started_at"]) for r in runs),
            end=max(_epoch(r["finished_at"]) for r in runs),
            runs=len(runs),
            rows_written=sum(r["rows_written"] or 0 for r in runs),
            returncode=done.returncode,
            failed_runs=sum(1 for r in runs if r["outcome"] == "failed"),
            detail="" if done.returncode == 0 else done.stderr[-8000:],
        )


@contextlib.contextmanager
def sync_loop(stack: Stack, result: LoadResult) -> Iterator[threading.Event]:
    """Syncs over and over (changing the source before each) until the block ends; the sync
    in flight then finishes."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            stack.change_source()
            result.syncs.append(stack.run_sync())

    thread = threading.Thread(target=loop, name="sync-loop", daemon=True)
    thread.start()
    try:
        yield stop
    finally:
        stop.set()
        thread.join(timeout=900)


def _paths(stack: Stack) -> list[tuple[str, str, bool]]:
    """(endpoint, path, uses the API token) for every school; the held school included."""
    out: list[tuple[str, str, bool]] = []
    for school in stack.school_ids:
        out.append(("page /schools", "/schools", False))
        out.append(("page /schools/{id}", f"/schools/{school}", False))
        out.append(("api report", f"/api/v1/schools/{school}/report", True))
        out.append(("api changes", f"/api/v1/schools/{school}/changes?limit=100", True))
    return out


async def _client(
    number: int, stack: Stack, deadline: float, samples: list[Sample], timeout: float
) -> None:
    paths = _paths(stack)
    headers = {"Authorization": f"Bearer {stack.token}"}
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    async with (
        httpx.AsyncClient(base_url=stack.url, timeout=timeout, limits=limits) as api,
        httpx.AsyncClient(
            base_url=stack.url, timeout=timeout, limits=limits, cookies=stack.cookies
        ) as browser,
    ):
        i = number
        while time.monotonic() < deadline:
            endpoint, path, with_token = paths[i % len(paths)]
            i += 1
            start = time.time()
            try:
                if with_token:
                    answer = await api.get(path, headers=headers)
                else:
                    answer = await browser.get(path)
                status, error = answer.status_code, ""
                if status != 200:
                    error = f"GET {path} -> {status}: {answer.text[:300]}"
            except httpx.HTTPError as exc:
                status, error = 0, f"GET {path} -> {type(exc).__name__}: {exc}"
            samples.append(Sample(endpoint, status, start, time.time(), error))


async def _load(stack: Stack, clients: int, seconds: float, result: LoadResult) -> None:
    deadline = time.monotonic() + seconds
    result.load_start = time.time()
    await asyncio.gather(
        *(_client(n, stack, deadline, result.samples, 60.0) for n in range(clients))
    )
    result.load_end = time.time()


def run_load(stack: Stack, clients: int, seconds: float) -> LoadResult:
    """Bounded load (``clients`` for ``seconds``) while syncs run back to back; the sync in
    flight when the load ends finishes before this returns."""
    result = LoadResult(clients=clients, seconds=seconds, students=stack.students)
    with sync_loop(stack, result):
        asyncio.run(_load(stack, clients, seconds, result))
    return result


# -- reporting -------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (``p`` in 0..100) of ``values``; 0.0 when empty."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def summary(result: LoadResult) -> dict[str, Any]:
    duration = max(result.load_end - result.load_start, 1e-9)
    per: dict[str, Any] = {}
    for endpoint in ENDPOINTS:
        mine = [s for s in result.samples if s.endpoint == endpoint]
        ms = [(s.end - s.start) * 1000 for s in mine if s.status == 200]
        per[endpoint] = {
            "requests": len(mine),
            "errors": sum(1 for s in mine if s.status != 200),
            "p50_ms": percentile(ms, 50),
            "p95_ms": percentile(ms, 95),
            "p99_ms": percentile(ms, 99),
            "max_ms": max(ms, default=0.0),
        }
    all_ms = [(s.end - s.start) * 1000 for s in result.samples if s.status == 200]
    during = result.syncs_during_load
    return {
        "clients": result.clients,
        "seconds": round(duration, 1),
        "students": result.students,
        "requests": len(result.samples),
        "errors": len(result.errors),
        "requests_per_s": len(result.samples) / duration,
        "p50_ms": percentile(all_ms, 50),
        "p95_ms": percentile(all_ms, 95),
        "p99_ms": percentile(all_ms, 99),
        "endpoints": per,
        "syncs": len(result.syncs),
        "syncs_failed": sum(1 for w in result.syncs if not w.ok),
        "syncs_completed_during_load": len(during),
        "sync_seconds_median": percentile([w.end - w.start for w in result.syncs], 50),
        "rows_written": sum(w.rows_written for w in result.syncs),
        "responses_overlapping_a_sync": len(result.overlapping_sync()),
        "responses_inside_a_sync": len(result.inside_sync()),
    }


def machine() -> str:
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory = ""
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.0f} GiB"
                break
    return (
        f"{os.cpu_count()} CPUs ({model or platform.processor() or 'unknown'}), {memory} memory, "
        f"{platform.system()}, Python {platform.python_version()}"
    )


def print_report(result: LoadResult) -> None:
    s = summary(result)
    print(f"machine: {machine()}")
    print(
        f"{s['clients']} clients for {s['seconds']} s, district of {s['students']} students "
        f"(3 schools, one held); SQLite (WAL); rostersync serve in a subprocess"
    )
    print(f"{'endpoint':<22} {'requests':>8} {'errors':>6} {'p50 ms':>8} {'p95 ms':>8} "
          f"{'p99 ms':>8} {'max ms':>8}")  # fmt: skip
    for name, e in s["endpoints"].items():
        print(
            f"{name:<22} {e['requests']:>8} {e['errors']:>6} {e['p50_ms']:>8.1f} "
            f"{e['p95_ms']:>8.1f} {e['p99_ms']:>8.1f} {e['max_ms']:>8.1f}"
        )
    print(
        f"{'all':<22} {s['requests']:>8} {s['errors']:>6} {s['p50_ms']:>8.1f} "
        f"{s['p95_ms']:>8.1f} {s['p99_ms']:>8.1f}"
    )
    print(f"requests/s: {s['requests_per_s']:.1f}")
    print(
        f"syncs: {s['syncs']} ({s['syncs_completed_during_load']} completed during the load, "
        f"{s['syncs_failed']} failed), median {s['sync_seconds_median']:.2f} s, "
        f"{s['rows_written']} rows written"
    )
    print(
        f"responses overlapping a sync: {s['responses_overlapping_a_sync']}, "
        f"sent and answered inside one: {s['responses_inside_a_sync']}"
    )
    for sample in result.errors[:10]:
        print(f"error: {sample.error}")
    for window in result.syncs:
        if not window.ok:
            cause = [line for line in window.detail.splitlines() if line.strip()][-4:]
            print("failed sync: " + " | ".join(cause)[:800])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.load.bench_web", description=__doc__)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--students", type=int, default=3000)
    parser.add_argument("--json", type=Path, help="Also write the summary to this file.")
    args = parser.parse_args(argv)
    if not 1 <= args.clients <= 500 or not 0 < args.seconds <= 3600:
        parser.error("--clients must be 1..500 and --seconds 0..3600")
    with (
        TemporaryDirectory(prefix="rostersync-load-") as tmp,
        Stack(Path(tmp), args.students) as st,
    ):
        result = run_load(st, args.clients, args.seconds)
        print_report(result)
        if args.json:
            args.json.write_text(json.dumps(summary(result), indent=2) + "\n")
        bad = bool(result.errors) or any(not w.ok for w in result.syncs)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
