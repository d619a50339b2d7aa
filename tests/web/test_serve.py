"""``rostersync serve`` as a process: the dashboard and API answer, the scheduler syncs
beside them, Ctrl-C stops both cleanly, and the cookie key file is created private."""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from rostersync.sandbox.generator import generate_district
from rostersync.sandbox.server import SandboxServer
from rostersync.sandbox.state import SandboxState
from rostersync.service import districts
from rostersync.service.context import Services
from rostersync.storage import SqlStore, upgrade_database
from tests.integration.conftest import fast_sources


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"Timed out waiting for {what}.")


def test_serve_answers_syncs_on_schedule_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'serve.db'}"
    upgrade_database(url)
    store = SqlStore(url)
    services = Services(store=store, sources=fast_sources)
    state = SandboxState.from_data(generate_district(seed=31, students=120, schools=2))
    key_file = tmp_path / "keys" / "secret.key"
    port = free_port()
    with SandboxServer(state) as sandbox:
        config = districts.add_district(services, "Served", sandbox.token, sandbox.base_url)
        env = {
            **os.environ,
            "ROSTERSYNC_DATABASE_URL": url,
            "ROSTERSYNC_SCHEDULER_TICK_S": "0.2",
            "ROSTERSYNC_SECRET_KEY_FILE": str(key_file),
            "ROSTERSYNC_EMAIL_BACKEND": "console",
            "ROSTERSYNC_RETRY_ATTEMPTS": "1",
        }
        env.pop("ROSTERSYNC_SECRET_KEY", None)
        process = subprocess.Popen(
            [sys.executable, "-m", "rostersync", "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        try:

            def healthy() -> bool:
                try:
                    return httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
                except httpx.TransportError:
                    return False

            wait_for(healthy, 30, "the server to answer")
            login = httpx.get(f"http://127.0.0.1:{port}/login")
            assert "<title>Sign in · rostersync</title>" in login.text
            assert httpx.get(f"http://127.0.0.1:{port}/api/v1/schools").status_code == 401

            def synced() -> bool:
                return districts.get_district(services, config.id).last_sync_at is not None

            wait_for(synced, 30, "the scheduler's first sync")
            process.send_signal(signal.SIGINT)
            output, _ = process.communicate(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    store.dispose()
    text = output.decode()
    assert process.returncode == 0, text
    assert "Stopped." in text
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(key_file.read_text().strip()) >= 32
