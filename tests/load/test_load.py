"""A short, bounded version of ``make bench-web`` (docs/load.md), and SQLite readers under an
open write transaction (WAL).

The load: 10 clients for about 8 s against ``rostersync serve`` (a subprocess, SQLite) on the
schools page, the SIS report page and the API's report and change set, while syncs of a
small district run back to back in subprocesses, the source changing before each. Asserted:
every response is a 200, every sync succeeded, and responses were served while a sync was
running. Never a duration or a latency.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from rostersync.service.queries import school_report
from rostersync.service.views import report_json
from tests.load.bench_web import LoadResult, Stack, run_load, summary

CLIENTS = 10
SECONDS = 8.0
STUDENTS = 300


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with Stack(tmp_path_factory.mktemp("load"), STUDENTS) as running:
        yield running


@pytest.fixture(scope="module")
def load(stack: Stack) -> LoadResult:
    return run_load(stack, CLIENTS, SECONDS)


def test_every_request_is_answered_200_under_load(load: LoadResult, stack: Stack) -> None:
    assert load.samples, "the load generator sent no request"
    assert {s.endpoint for s in load.samples} == {
        "page /schools",
        "page /schools/{id}",
        "api report",
        "api changes",
    }
    errors = [s.error for s in load.errors]
    causes = sorted(
        {line for line in stack.server_log().splitlines() if line.startswith(("sqlalchemy.", "["))}
    )
    assert errors == [], (
        f"{len(errors)} of {len(load.samples)} requests failed under load; first: "
        f"{errors[:2]}; causes in the server log: {causes[:6]}"
    )


def test_syncs_ran_and_wrote_during_the_load(load: LoadResult) -> None:
    assert load.syncs, "no sync ran"
    failed = [w.detail or f"exit {w.returncode}, {w.failed_runs} failed" for w in load.syncs]
    assert [d for w, d in zip(load.syncs, failed, strict=True) if not w.ok] == []
    assert all(w.runs == 3 for w in load.syncs)
    assert sum(w.rows_written for w in load.syncs) > 0, "the syncs wrote nothing"


def test_requests_were_served_while_a_sync_was_running(load: LoadResult) -> None:
    overlapping = load.overlapping_sync()
    assert len(overlapping) >= 1, summary(load)
    # Pages and API both: readers of the web app are not shut out by a sync.
    assert {s.endpoint for s in overlapping} >= {"page /schools/{id}", "api report"}


def _hold_write_transaction(
    db_path: Path, held: threading.Event, release: threading.Event, out: dict[str, object]
) -> None:
    """A writer in another thread: an open write transaction that has written, until told."""
    conn = sqlite3.connect(db_path, isolation_level=None, timeout=30, check_same_thread=False)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("UPDATE districts SET name = name || ' (writing)'")
        conn.execute("UPDATE schools SET roster_version = roster_version + 1000")
        held.set()
        out["released_by_reader"] = release.wait(timeout=60)
        conn.execute("ROLLBACK")
    except Exception as exc:  # pragma: no cover - reported by the test
        out["error"] = repr(exc)
        held.set()
    finally:
        conn.close()


def test_sqlite_readers_keep_working_during_a_write_transaction(
    load: LoadResult, stack: Stack
) -> None:
    """WAL: with a write transaction open (written, not committed) in another thread, a raw
    reader, the service's report and the dashboard's report page (another process) all read
    the last committed state; the writer is still open when they are done."""
    with sqlite3.connect(stack.db_path) as probe:
        assert probe.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    school = stack.school_ids[0]
    with stack.store.unit_of_work() as uow:
        committed = uow.get_school(school)
    assert committed is not None

    held, release = threading.Event(), threading.Event()
    out: dict[str, object] = {}
    writer = threading.Thread(
        target=_hold_write_transaction, args=(stack.db_path, held, release, out), daemon=True
    )
    writer.start()
    try:
        assert held.wait(timeout=60), "the writer did not get the write lock"
        assert "error" not in out, out

        reader = sqlite3.connect(stack.db_path, isolation_level=None, timeout=1)
        try:
            reader.execute("BEGIN")
            name = reader.execute("SELECT name FROM districts").fetchone()[0]
            accounts = reader.execute("SELECT count(*) FROM accounts").fetchone()[0]
            reader.execute("COMMIT")
        finally:
            reader.close()
        assert name == "Load USD"
        assert accounts > 0

        report = report_json(school_report(stack.services, school))
        assert report["school"]["id"] == school
        with stack.store.unit_of_work() as uow:
            row = uow.get_school(school)
        assert row is not None and row.roster_version == committed.roster_version

        with httpx.Client(base_url=stack.url, cookies=stack.cookies, timeout=60) as browser:
            for path in ("/schools", f"/schools/{school}", f"/schools/{stack.held_school}"):
                answer = browser.get(path)
                assert answer.status_code == 200, (path, answer.status_code)
            assert "Load USD" in browser.get("/schools").text
    finally:
        release.set()
        writer.join(timeout=90)
    assert "error" not in out, out
    assert out.get("released_by_reader") is True, "the reads finished only after the writer"
