"""The district lock across processes (both engines), the scheduler coalescing with a running
sync, and the outbox claim that keeps two senders from sending one email twice."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from rostersync.errors import LockBusyError
from rostersync.service.context import Services
from rostersync.service.jobs import district_lock, run_sync_job
from rostersync.service.model import OutboxMessage
from rostersync.service.outbox import deliver_pending
from rostersync.service.schedule import run_due
from rostersync.storage import SqlStore
from tests.integration.conftest import Env, fast_sources
from tests.scale.conftest import wait_until

HOLDER = """
import sys, time
from rostersync.storage import SqlStore
store = SqlStore(sys.argv[1])
with store.named_lock(sys.argv[2]):
    print("held", flush=True)
    time.sleep(120)
"""


def test_a_named_lock_is_exclusive_until_released(store_url: str) -> None:
    store = SqlStore(store_url)
    try:
        with store.named_lock("district:a"):
            with (
                pytest.raises(LockBusyError, match="another process"),
                store.named_lock("district:a", wait_s=0.2),
            ):
                pass
            with store.named_lock("district:b"):
                pass  # another name is another lock
        with store.named_lock("district:a"):
            pass
    finally:
        store.dispose()


def test_a_lock_held_by_a_killed_process_is_released(store_url: str) -> None:
    store = SqlStore(store_url)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, store_url, "district:x"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(LockBusyError), store.named_lock("district:x"):
            pass
        holder.kill()
        holder.wait(timeout=10)
        with store.named_lock("district:x", wait_s=10):
            pass
    finally:
        if holder.poll() is None:
            holder.kill()
        store.dispose()


def test_the_scheduler_skips_a_district_whose_sync_runs_elsewhere(env: Env) -> None:
    with env.store.named_lock(district_lock(env.district_id)):
        report = run_due(env.services)
    assert report.synced == [] and report.errors == []
    assert len(run_due(env.services).synced) == 1


def test_a_second_sync_of_a_district_waits_for_the_first(env: Env) -> None:
    order: list[str] = []
    release = threading.Event()

    def hold() -> None:
        with env.store.named_lock(district_lock(env.district_id)):
            order.append("first")
            release.wait(30)
            order.append("first done")

    thread = threading.Thread(target=hold)
    thread.start()
    wait_until(lambda: order, "the first holder")
    with pytest.raises(LockBusyError):
        run_sync_job(env.services, env.district_id)
    release.set()
    result = run_sync_job(env.services, env.district_id, wait_s=30)
    thread.join()
    assert order == ["first", "first done"] and result is not None and result.runs


class SlowMailer:
    """Records each send and takes a moment, as SMTP does, so that senders overlap."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.lock = threading.Lock()

    def send(self, message: OutboxMessage) -> None:
        time.sleep(0.01)
        with self.lock:
            self.sent.append(message.id)


def test_two_senders_draining_one_outbox_send_each_email_once(store_url: str) -> None:
    store = SqlStore(store_url)
    mailer = SlowMailer()
    services = Services(store=store, sources=fast_sources, mailer=mailer)
    now = services.clock.now()
    with store.unit_of_work() as uow:
        for i in range(20):
            uow.enqueue_email(
                OutboxMessage(f"msg{i}", "hold_entered", ("a@b.example",), {}, f"k{i}", now)
            )
        uow.commit()
    threads = [threading.Thread(target=deliver_pending, args=(services,)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert sorted(mailer.sent) == sorted(f"msg{i}" for i in range(20))
        assert deliver_pending(services).sent == 0
    finally:
        store.dispose()


def test_the_sqlite_lock_files_live_beside_the_database(tmp_path: Path) -> None:
    store = SqlStore(f"sqlite:///{tmp_path / 'x.db'}")
    with store.named_lock("district:a"):
        assert list((tmp_path / "x.db.locks").iterdir())
    store.dispose()
