"""A small fleet for the scale-out tests: PostgreSQL, a broker (Redis or RabbitMQ), a real
SMTP server on loopback, one Clever sandbox per district, and worker processes started as
subprocesses (``python -m rostersync worker``), exactly as docs/deploy.md runs them.

The broker and PostgreSQL are this machine's (``.ci/run`` starts them). When one cannot be
reached the tests skip, except under CI (env ``CI`` set), where they fail.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from rostersync.sandbox.district import DistrictData
from rostersync.sandbox.generator import generate_district
from rostersync.sandbox.server import SandboxServer
from rostersync.sandbox.state import SandboxState
from rostersync.service import districts
from rostersync.service.context import Services
from rostersync.settings import Settings
from rostersync.storage import SqlStore, upgrade_database
from rostersync.worker.app import create_app
from rostersync.worker.runner import ping_workers

# district_data and env: the integration fixtures, for the tests of this folder too.
from tests.integration.conftest import decode_table, district_data, env, fast_sources  # noqa: F401
from tests.integration.test_email_delivery import free_port

REDIS_URL = os.environ.get("ROSTERSYNC_TEST_REDIS_URL", "redis://127.0.0.1:6379/9")
AMQP_URL = os.environ.get("ROSTERSYNC_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//")
ROOT = Path(__file__).resolve().parents[2]


def unreachable(what: str, exc: Exception) -> None:
    message = f"{what} is not reachable ({exc}). "
    if os.environ.get("CI"):
        pytest.fail(message + "CI must start it before the tests (.ci/run).")
    pytest.skip(message + "Start it to run the scale-out tests.")


def wait_until(predicate: Callable[[], object], what: str, timeout: float = 120.0) -> None:
    """Poll ``predicate`` until it is true; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"Timed out after {timeout:g} s waiting for {what}.")
        time.sleep(0.2)


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((list(envelope.rcpt_tos), envelope.content))
        return "250 OK"

    def per_recipient(self) -> Counter[str]:
        return Counter(r for rcpts, _ in self.messages for r in rcpts)


def prepare_broker(url: str) -> None:
    """Reach the broker and empty rostersync's queues (leftovers of an earlier run)."""
    app = create_app(Settings(broker_url=url))
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1)
        if url.startswith("redis"):
            import redis

            redis.Redis.from_url(url).flushdb()
        else:
            app.control.purge()
    except Exception as exc:
        unreachable(f"The broker at {url.split('@')[-1]}", exc)


@dataclass
class Worker:
    name: str
    proc: subprocess.Popen[bytes]
    log: Path
    metrics_port: int | None = None

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


@dataclass
class Fleet:
    """Everything one test's workers share."""

    db_url: str
    broker_url: str
    tmp: Path
    inbox: Inbox
    smtp_port: int
    services: Services
    workers: list[Worker] = field(default_factory=list)

    def env(self, **extra: str) -> dict[str, str]:
        environ = {k: v for k, v in os.environ.items() if not k.startswith("ROSTERSYNC_")}
        environ.update(
            ROSTERSYNC_DATABASE_URL=self.db_url,
            ROSTERSYNC_BROKER_URL=self.broker_url,
            ROSTERSYNC_SMTP_URL=f"smtp://127.0.0.1:{self.smtp_port}",
            ROSTERSYNC_EMAIL_FROM="rostersync@test.example",
            ROSTERSYNC_RETRY_ATTEMPTS="2",
            ROSTERSYNC_RETRY_BASE_DELAY_S="0",
            ROSTERSYNC_HTTP_TIMEOUT_S="10",
            # Short, so that a job held by a killed worker comes back within the test.
            ROSTERSYNC_BROKER_VISIBILITY_TIMEOUT_S="5",
            ROSTERSYNC_JOB_TIMEOUT_S="240",
            ROSTERSYNC_LOG_JSON="1",
            PYTHONPATH=str(ROOT / "src"),
        )
        environ.update(extra)
        return environ

    def start_worker(
        self,
        name: str,
        *,
        crash_at: str | None = None,
        pool: str = "threads",
        concurrency: int = 2,
        metrics: bool = False,
    ) -> Worker:
        extra = {"ROSTERSYNC_TEST_CRASH_AT": crash_at} if crash_at else {}
        port = free_port() if metrics else None
        args = ["worker", "--concurrency", str(concurrency), "--pool", pool]
        if port is not None:
            args += ["--metrics-port", str(port)]
        log = self.tmp / f"{name}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "rostersync", *args],
                env=self.env(**extra),
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=self.tmp,
            )
        worker = Worker(name, proc, log, port)
        self.workers.append(worker)
        return worker

    def wait_for_workers(self, count: int) -> None:
        app = create_app(Settings(broker_url=self.broker_url))
        wait_until(lambda: len(ping_workers(app, 0.5)) >= count, f"{count} worker(s) to answer")

    def cli(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "rostersync", *args],
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            cwd=self.tmp,
        )

    def stop_workers(self) -> None:
        for worker in self.workers:
            if worker.proc.poll() is None:
                worker.proc.send_signal(signal.SIGTERM)
        for worker in self.workers:
            try:
                worker.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.proc.kill()
                worker.proc.wait()


def make_fleet(
    broker_url: str, pg_database_factory: Callable[[], str], tmp: Path
) -> Iterator[Fleet]:
    prepare_broker(broker_url)
    db_url = pg_database_factory()
    upgrade_database(db_url)
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    store = SqlStore(db_url)
    fleet = Fleet(db_url, broker_url, tmp, inbox, port, Services(store, fast_sources))
    try:
        yield fleet
    finally:
        fleet.stop_workers()
        controller.stop()
        store.dispose()


@pytest.fixture
def redis_fleet(pg_database_factory, tmp_path: Path) -> Iterator[Fleet]:
    yield from make_fleet(REDIS_URL, pg_database_factory, tmp_path)


@pytest.fixture(params=["redis", "rabbitmq"])
def any_fleet(request, pg_database_factory, tmp_path: Path) -> Iterator[Fleet]:
    url = REDIS_URL if request.param == "redis" else AMQP_URL
    yield from make_fleet(url, pg_database_factory, tmp_path)


@dataclass
class District:
    id: str
    admin: str
    server: SandboxServer
    state: SandboxState
    data: DistrictData
    held_school: str | None  # the Clever id of the school put on hold, if any


def add_districts(
    fleet: Fleet, stack: ExitStack, count: int, *, held_every: int = 3, schools: int = 1
) -> list[District]:
    """``count`` small generated districts, each behind its own sandbox server and token;
    every ``held_every``-th one has an Emergency contact (a data_configuration hold)."""
    made = []
    for i in range(count):
        data = generate_district(seed=100 + i, students=60 + (i * 7) % 91, schools=schools)
        state = SandboxState.from_data(data)
        held = None
        if held_every and i % held_every == 0:
            held = decode_table(data, "schools")[-1]["id"]
            state.set_contact_types(held, "Emergency", count=1)
        server = stack.enter_context(SandboxServer(state))
        config = districts.add_district(
            fleet.services, f"District {i}", server.token, server.base_url
        )
        admin = f"admin{i}@district{i}.example"
        districts.add_admin(fleet.services, admin, config.id)
        made.append(District(config.id, admin, server, state, data, held))
    return made
