"""Fixtures for the store tests (the engine fixtures live in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest

from rostersync.domain.records import SchoolRecord
from rostersync.service.model import DistrictConfig, SchoolRow
from rostersync.storage import SqlStore


@pytest.fixture
def store(store_url: str) -> Iterator[SqlStore]:
    sql_store = SqlStore(store_url)
    yield sql_store
    sql_store.dispose()


T0 = datetime(2024, 9, 2, 7, 30, tzinfo=UTC)


def _district(district_id: str) -> DistrictConfig:
    return DistrictConfig(
        id=district_id,
        name=f"District {district_id}",
        clever_token=f"token-{district_id}",
        clever_base_url="http://127.0.0.1:9/v3.0",
        created_at=T0,
    )


@pytest.fixture
def make_school(store: SqlStore) -> Callable[..., SchoolRow]:
    """Adds a school (and its district, the first time) and returns the stored row."""

    def make(source_id: str = "s1", district_id: str = "d1", name: str = "") -> SchoolRow:
        with store.unit_of_work() as uow:
            if uow.get_district(district_id) is None:
                uow.add_district(_district(district_id))
            row = uow.upsert_school(district_id, SchoolRecord(source_id, name or source_id))
            uow.commit()
        return row

    return make
