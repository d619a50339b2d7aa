"""The in-process scheduler: a district syncs when its interval has passed, not before."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rostersync.domain.state import Outcome
from rostersync.service import districts
from rostersync.service.model import Plan
from rostersync.service.schedule import run_due
from tests.integration.conftest import Env


class FakeClock:
    def __init__(self) -> None:
        self.at = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.at


def test_districts_sync_on_their_interval(env: Env) -> None:
    clock = FakeClock()
    env.services.clock = clock
    districts.set_policy(env.services, env.district_id, interval_s=3600)
    first = run_due(env.services)
    assert [r.district_id for r in first.synced] == [env.district_id]
    assert {r.outcome for r in first.synced[0].runs} == {Outcome.APPLIED}
    clock.at += timedelta(minutes=59)
    assert run_due(env.services).synced == []
    clock.at += timedelta(minutes=1)
    again = run_due(env.services)
    assert {r.outcome for r in again.synced[0].runs} == {Outcome.UNCHANGED}


def test_inactive_districts_are_never_due(env: Env) -> None:
    env.services.clock = FakeClock()
    districts.set_policy(env.services, env.district_id, plan=Plan.INACTIVE)
    assert run_due(env.services).synced == []
