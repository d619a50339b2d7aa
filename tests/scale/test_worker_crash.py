"""A worker killed with SIGKILL in the middle of a sync: the broker hands its job to another
worker, which completes it; the roster is what a clean run gives; the hold email goes once."""

from __future__ import annotations

import signal
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path

from rostersync.sandbox.server import SandboxServer
from rostersync.sandbox.state import SandboxState
from rostersync.service import districts
from rostersync.service.context import Services
from rostersync.service.sync import sync_district
from rostersync.storage import SqlStore, upgrade_database
from tests.integration.conftest import RecordingMailer, decode_table, fast_sources
from tests.scale.conftest import District, Fleet, add_districts, wait_until


def last_sync(fleet: Fleet, district_id: str):
    with fleet.services.store.unit_of_work() as uow:
        return uow.get_district(district_id).last_sync_at


def rosters(store: SqlStore, district_id: str) -> dict:
    with store.unit_of_work() as uow:
        # Internal school ids differ between stores; compare by Clever id.
        return {
            s.source_id: replace(uow.load_roster(s.id), school_id="")
            for s in uow.list_schools(district_id)
        }


def clean_rosters(district: District, tmp: Path) -> dict:
    """The same district synced once, without a crash, into a fresh store."""
    url = f"sqlite:///{tmp / 'clean.db'}"
    upgrade_database(url)
    store = SqlStore(url)
    state = SandboxState.from_data(district.data.copy())
    if district.held_school:
        state.set_contact_types(district.held_school, "Emergency", count=1)
    services = Services(store=store, sources=fast_sources, mailer=RecordingMailer())
    try:
        with SandboxServer(state) as server:
            config = districts.add_district(services, "Clean", server.token, server.base_url)
            sync_district(services, config.id)
        return rosters(store, config.id)
    finally:
        store.dispose()


def test_a_job_whose_worker_is_killed_mid_sync_is_redelivered_and_completes(
    any_fleet: Fleet, tmp_path: Path
) -> None:
    fleet = any_fleet
    with ExitStack() as stack:
        [district] = add_districts(fleet, stack, 1, held_every=1, schools=2)
        assert district.held_school != decode_table(district.data, "schools")[0]["id"]
        crasher = fleet.start_worker("crasher", crash_at="mid_apply", pool="solo", concurrency=1)
        fleet.wait_for_workers(1)
        queued = fleet.cli("beat", "--once")
        assert queued.returncode == 0, queued.stderr
        assert crasher.proc.wait(timeout=120) == -signal.SIGKILL
        assert last_sync(fleet, district.id) is None  # the sync did not finish

        fleet.start_worker("survivor", concurrency=1)
        wait_until(lambda: last_sync(fleet, district.id) is not None, "the job to be redelivered")
        with fleet.services.store.unit_of_work() as uow:
            wait_until(lambda: not uow.pending_emails(), "the hold email to go out")
        assert rosters(fleet.services.store, district.id) == clean_rosters(district, tmp_path)
    assert fleet.inbox.per_recipient() == {district.admin: 1}
