"""``make bench-scale``: districts synced per minute by 1, 2 and 4 worker processes.

A benchmark, not a test: it prints figures and asserts nothing about time. Each round gets a
fresh PostgreSQL database and an empty Redis database, the same small generated districts
(each behind its own sandbox server), N single-threaded worker processes, and one
``rostersync beat --once`` that queues every district; it times until every district has
finished its sync. Run it on a quiet machine; docs/deploy.md records the figures.
"""

from __future__ import annotations

import os
import secrets
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from tempfile import TemporaryDirectory

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from rostersync.sandbox.generator import generate_district
from rostersync.sandbox.server import SandboxServer
from rostersync.sandbox.state import SandboxState
from rostersync.service import districts
from rostersync.service.context import Services
from rostersync.storage import SqlStore, upgrade_database
from tests.conftest import DEFAULT_PG_URL, PG_URL_ENV
from tests.integration.conftest import fast_sources
from tests.scale.conftest import Fleet, Inbox, prepare_broker, wait_until

DISTRICTS = int(os.environ.get("BENCH_DISTRICTS", "40"))
STUDENTS = int(os.environ.get("BENCH_STUDENTS", "300"))
WORKERS = (1, 2, 4)
BROKER = os.environ.get("ROSTERSYNC_TEST_REDIS_URL", "redis://127.0.0.1:6379/10")


def bench_round(workers: int, servers: list[SandboxServer], tmp: Path) -> float:
    """Seconds for ``workers`` processes to sync every district once."""
    admin_url = os.environ.get(PG_URL_ENV, DEFAULT_PG_URL)
    name = f"rostersync_bench_{secrets.token_hex(4)}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    db_url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    upgrade_database(db_url)
    prepare_broker(BROKER)
    store = SqlStore(db_url)
    fleet = Fleet(db_url, BROKER, tmp, Inbox(), 1, Services(store, fast_sources))
    try:
        ids = [
            districts.add_district(fleet.services, f"D{i}", s.token, s.base_url).id
            for i, s in enumerate(servers)
        ]
        for i in range(workers):
            fleet.start_worker(f"bench{workers}-{i}", concurrency=1)
        fleet.wait_for_workers(workers)
        started = time.perf_counter()
        queued = fleet.cli("beat", "--once")
        assert queued.returncode == 0, queued.stderr

        def done() -> bool:
            with store.unit_of_work() as uow:
                return all(uow.get_district(d).last_sync_at is not None for d in ids)

        wait_until(done, "every district to sync", timeout=1800)
        return time.perf_counter() - started
    finally:
        fleet.stop_workers()
        store.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main() -> None:
    print(f"{DISTRICTS} districts of {STUDENTS} students, one school each; {os.cpu_count()} CPUs")
    print(f"{'workers':>7} {'seconds':>8} {'districts/min':>14}")
    with ExitStack() as stack, TemporaryDirectory() as tmp:
        servers = [
            stack.enter_context(
                SandboxServer(SandboxState.from_data(generate_district(500 + i, STUDENTS, 1)))
            )
            for i in range(DISTRICTS)
        ]
        for workers in WORKERS:
            seconds = bench_round(workers, servers, Path(tmp))
            print(f"{workers:>7} {seconds:>8.1f} {DISTRICTS / seconds * 60:>14.1f}", flush=True)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
