"""Districts, schools, sync status, and the district lock."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy.exc import StatementError

from rostersync.domain.policy import HoldKind, Policy
from rostersync.domain.records import SchoolRecord
from rostersync.domain.state import SchoolStatus, SyncState
from rostersync.service.model import DistrictConfig, Plan, SchoolRow
from rostersync.storage import SqlStore
from rostersync.storage.errors import AlreadyExistsError, NotFoundError
from tests.storage.recording import statements

T0 = datetime(2024, 9, 2, 7, 30, tzinfo=UTC)


def district(district_id: str = "d1", name: str = "North") -> DistrictConfig:
    return DistrictConfig(
        id=district_id,
        name=name,
        clever_token="tok",
        clever_base_url="https://api.clever.com/v3.0",
        policy=Policy(
            removal_pct=12.5,
            removal_min=3,
            removal_total=90,
            max_contacts=4,
            blocked_contact_types=frozenset({"Emergency"}),
            failures_before_disconnect=2,
        ),
        interval_s=3600,
        plan=Plan.INACTIVE,
        source_district_id="clever-d1",
        timezone="America/Chicago",
        created_at=T0,
        last_sync_at=T0 + timedelta(hours=1),
    )


def test_a_district_round_trips_with_its_policy(store: SqlStore) -> None:
    config = district()
    with store.unit_of_work() as uow:
        uow.add_district(config)
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.get_district("d1") == config
        assert uow.get_district("nope") is None


def test_districts_are_listed_by_name_and_can_be_updated(store: SqlStore) -> None:
    with store.unit_of_work() as uow:
        uow.add_district(district("d1", "South"))
        uow.add_district(district("d2", "East"))
        uow.commit()
    renamed = replace(district("d1", "West"), policy=Policy(), last_sync_at=None)
    with store.unit_of_work() as uow:
        uow.update_district(renamed)
        uow.commit()
    with store.unit_of_work() as uow:
        assert [d.id for d in uow.list_districts()] == ["d2", "d1"]
        assert uow.get_district("d1") == renamed


def test_a_district_gets_a_creation_time_when_none_is_given(store: SqlStore) -> None:
    with store.unit_of_work() as uow:
        uow.add_district(replace(district(), created_at=None))
        created = uow.get_district("d1")
    assert created is not None and created.created_at is not None
    assert created.created_at.tzinfo is not None
    assert abs(datetime.now(UTC) - created.created_at) < timedelta(minutes=5)


def test_adding_a_district_twice_or_updating_a_missing_one_is_refused(store: SqlStore) -> None:
    with store.unit_of_work() as uow:
        uow.add_district(district())
        with pytest.raises(AlreadyExistsError, match="exists already"):
            uow.add_district(district())
        with pytest.raises(NotFoundError, match="no district"):
            uow.update_district(district("d9"))


def test_a_school_gets_an_internal_id_on_first_sight_and_keeps_it(store: SqlStore) -> None:
    with store.unit_of_work() as uow:
        uow.add_district(district())
        first = uow.upsert_school("d1", SchoolRecord("clever-s1", "Oak Elementary"))
        again = uow.upsert_school("d1", SchoolRecord("clever-s1", "Oak Elementary School"))
        uow.commit()
    assert re.fullmatch(r"sch_[0-9a-f]{12}", first.id)
    assert first == SchoolRow(first.id, "d1", "clever-s1", "Oak Elementary", SchoolStatus())
    assert again == replace(first, name="Oak Elementary School")


def test_schools_are_registered_in_bulk_as_one_at_a_time_would(store: SqlStore) -> None:
    with store.unit_of_work() as uow:
        uow.add_district(district())
        oak = uow.upsert_school("d1", SchoolRecord("s-oak", "Oak"))
        held = SchoolStatus(SyncState.ON_HOLD, HoldKind.DATA_REMOVALS, hold_since=T0)
        uow.save_status(oak.id, held)
        elm = uow.upsert_school("d1", SchoolRecord("s-elm", "Elm"))
        uow.commit()
    records = [SchoolRecord(f"s-new{i}", f"New {i}") for i in range(5)]
    records += [SchoolRecord("s-oak", "Oak Hill"), SchoolRecord("s-elm", "Elm")]
    with statements(store) as sent, store.unit_of_work() as uow:
        uow.upsert_schools("d1", records)
        uow.upsert_schools("d1", [])
        uow.commit()
    assert sum(s.lstrip().upper().startswith(("INSERT", "UPDATE")) for s in sent) == 2
    with store.unit_of_work() as uow:
        found = {s.source_id: s for s in uow.list_schools("d1")}
    assert sorted(found) == sorted(r.source_id for r in records)
    # The renamed school keeps its id and status; the others are new, never synced.
    assert found["s-oak"] == replace(oak, name="Oak Hill", status=held)
    assert found["s-elm"] == elm
    for i in range(5):
        new = found[f"s-new{i}"]
        assert re.fullmatch(r"sch_[0-9a-f]{12}", new.id)
        assert new == SchoolRow(new.id, "d1", f"s-new{i}", f"New {i}", SchoolStatus())
    assert len({s.id for s in found.values()}) == 7


def test_a_school_is_found_by_internal_or_source_id(
    store: SqlStore, make_school: Callable[..., SchoolRow]
) -> None:
    school = make_school("clever-s1")
    with store.unit_of_work() as uow:
        assert uow.get_school(school.id) == school
        assert uow.get_school("clever-s1") == school
        assert uow.get_school("unknown") is None


def test_schools_are_listed_per_district(
    store: SqlStore, make_school: Callable[..., SchoolRow]
) -> None:
    a = make_school("s1", name="Birch")
    b = make_school("s2", name="Ash")
    c = make_school("s3", district_id="d2")
    with store.unit_of_work() as uow:
        assert uow.list_schools("d1") == [b, a]
        assert uow.list_schools() == [b, a, c]


def test_a_school_status_round_trips_in_utc(
    store: SqlStore, make_school: Callable[..., SchoolRow]
) -> None:
    school = make_school()
    eastern = timezone(timedelta(hours=-5))
    status = SchoolStatus(
        state=SyncState.ON_HOLD,
        hold_kind=HoldKind.DATA_REMOVALS,
        hold_since=datetime(2024, 9, 2, 3, 0, tzinfo=eastern),
        consecutive_failures=2,
        last_success_at=T0,
        last_error="Too many removals.",
    )
    with store.unit_of_work() as uow:
        uow.save_status(school.id, status)
        uow.commit()
    with store.unit_of_work() as uow:
        stored = uow.get_school(school.id)
    assert stored is not None and stored.status == status
    assert stored.status.hold_since is not None
    assert stored.status.hold_since.utcoffset() == timedelta(0)


def test_naive_datetimes_are_refused(
    store: SqlStore, make_school: Callable[..., SchoolRow]
) -> None:
    school = make_school()
    with store.unit_of_work() as uow, pytest.raises(StatementError, match="has no time zone"):
        uow.save_status(school.id, SchoolStatus(last_success_at=datetime(2024, 1, 1)))


def test_saving_the_status_of_a_missing_school_is_refused(store: SqlStore) -> None:
    with store.unit_of_work() as uow, pytest.raises(NotFoundError, match="no school"):
        uow.save_status("sch_missing", SchoolStatus())


def test_locking_a_missing_district_is_refused(store: SqlStore) -> None:
    with store.unit_of_work() as uow, pytest.raises(NotFoundError, match="no district"):
        uow.lock_district("d9")


def test_a_district_lock_makes_a_second_sync_wait_for_the_first(
    store: SqlStore, make_school: Callable[..., SchoolRow]
) -> None:
    make_school()
    locked = threading.Event()
    order: list[str] = []

    def second_sync() -> None:
        with store.unit_of_work() as uow:
            uow.lock_district("d1")
            locked.set()
            order.append("second")
            uow.commit()

    with store.unit_of_work() as uow:
        uow.lock_district("d1")
        worker = threading.Thread(target=second_sync)
        worker.start()
        assert not locked.wait(timeout=0.5), "the second sync got the lock while it was held"
        order.append("first")
        uow.commit()
    worker.join(timeout=10)
    assert locked.is_set()
    assert order == ["first", "second"]
