"""Thirty districts on three worker processes: once per trigger, never two runs of a district
at once, every hold email exactly once, JSON logs without secrets or student names."""

from __future__ import annotations

import itertools
import json
from collections import defaultdict
from contextlib import ExitStack
from datetime import datetime

import httpx
from prometheus_client.parser import text_string_to_metric_families

from rostersync.service.model import RunRecord
from rostersync.settings import Settings
from rostersync.worker.app import SYNC_TASK, create_app
from tests.integration.conftest import decode_table
from tests.scale.conftest import District, Fleet, Worker, add_districts, wait_until

DISTRICTS = 30


def district_runs(fleet: Fleet, district_id: str) -> list[RunRecord]:
    with fleet.services.store.unit_of_work() as uow:
        return [r for s in uow.list_schools(district_id) for r in uow.list_runs(s.id, limit=50)]


def syncs(runs: list[RunRecord]) -> list[tuple[datetime, datetime, str]]:
    """One (start, end, trigger) per district sync: its school runs share a start time."""
    grouped: dict[datetime, list[RunRecord]] = defaultdict(list)
    for run in runs:
        grouped[run.started_at].append(run)
    return sorted(
        (start, max(r.finished_at for r in group), group[0].trigger)
        for start, group in grouped.items()
    )


def assert_no_overlap(spans: list[tuple[datetime, datetime, str]]) -> None:
    for (_, end, _), (start, _, _) in itertools.pairwise(spans):
        assert start >= end, f"a sync started at {start} before the previous ended at {end}"


def all_synced(fleet: Fleet, fleet_districts: list[District]) -> bool:
    with fleet.services.store.unit_of_work() as uow:
        return all(uow.get_district(d.id).last_sync_at is not None for d in fleet_districts)


def no_pending_email(fleet: Fleet) -> bool:
    with fleet.services.store.unit_of_work() as uow:
        return not uow.pending_emails()


def job_counts(workers: list[Worker]) -> dict[str, float]:
    """``rostersync_jobs_total`` for sync jobs by result, summed over the workers."""
    totals: dict[str, float] = defaultdict(float)
    for worker in workers:
        text = httpx.get(f"http://127.0.0.1:{worker.metrics_port}/metrics", timeout=5).text
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == "rostersync_jobs_total" and sample.labels["job"] == "sync":
                    totals[sample.labels["result"]] += sample.value
    return totals


def test_thirty_districts_on_three_workers_sync_once_per_trigger_without_overlap(
    redis_fleet: Fleet,
) -> None:
    fleet = redis_fleet
    with ExitStack() as stack:
        fleet_districts = add_districts(fleet, stack, DISTRICTS)
        workers = [fleet.start_worker(f"worker{i}", metrics=True) for i in range(3)]
        fleet.wait_for_workers(3)

        # Trigger 1: beat queues every district (none has synced, so all are due).
        beat = fleet.cli("beat", "--once")
        assert beat.returncode == 0, beat.stderr
        wait_until(lambda: all_synced(fleet, fleet_districts), "every district to sync")

        # Trigger 2: a manual sync of every district, queued by the CLI for the workers.
        manual = fleet.cli("sync", "--json")
        assert manual.returncode == 0, manual.stderr
        assert "waiting up to" in manual.stderr
        assert len(json.loads(manual.stdout)["runs"]) == DISTRICTS

        # The same job delivered twice (as a broker may) syncs once.
        app = create_app(Settings(broker_url=fleet.broker_url))
        again = fleet.services.clock.now().isoformat()
        for district in fleet_districts[:3]:
            for _ in range(2):
                app.send_task(SYNC_TASK, args=[district.id, None, "manual", "", again])
        wait_until(
            lambda: job_counts(workers)["duplicate"] >= 3, "the duplicated jobs to be dropped"
        )
        wait_until(lambda: no_pending_email(fleet), "the hold emails to go out")

    for i, district in enumerate(fleet_districts):
        spans = syncs(district_runs(fleet, district.id))
        expected = ["schedule", "manual", "manual"] if i < 3 else ["schedule", "manual"]
        assert [trigger for _, _, trigger in spans] == expected, district.id
        assert_no_overlap(spans)
    counts = job_counts(workers)
    assert counts["done"] == 2 * DISTRICTS + 3
    assert counts["duplicate"] == 3

    held = {d.admin for d in fleet_districts if d.held_school}
    assert held and fleet.inbox.per_recipient() == dict.fromkeys(held, 1)

    fleet.stop_workers()
    assert_logs_are_json_without_secrets(workers, fleet_districts)


def assert_logs_are_json_without_secrets(
    workers: list[Worker], fleet_districts: list[District]
) -> None:
    logs = "\n".join(w.log_text() for w in workers)
    records = [json.loads(line) for line in logs.splitlines() if line.startswith("{")]
    assert any(r.get("run_id") and r.get("job_id") for r in records)
    for district in fleet_districts:
        assert district.server.token not in logs
        for user in decode_table(district.data, "users")[:40]:
            full = f"{user['name'].get('first', '')} {user['name'].get('last', '')}".strip()
            assert full not in logs, "a person's name was logged"
