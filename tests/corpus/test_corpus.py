"""The bad-input corpus: each case in ``cases/`` is planted in the district the sandbox
serves (as raw bytes on the wire), then synced. Each gives a clear error or a report entry:
never a crash, never a silent drop, never a roster changed by a failed run.

A case file holds ``table`` (users or sections), the bad record as ``record`` (JSON),
``raw_text`` or ``raw_base64`` (bytes as sent), and what to expect: the run ``outcome``
(applied, failed, or any), optionally a ``problem`` [severity, code] the report must show,
and ``linked`` when the record must still sync. In a record, ``ID`` and ``SCHOOL`` stand
for a fresh id and the first school's id; ``$REPEAT:text:n`` for ``text`` repeated n times.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rostersync.domain.state import Outcome
from rostersync.sandbox.district import DistrictData
from rostersync.sandbox.generator import generate_district
from rostersync.sandbox.server import SandboxServer
from rostersync.sandbox.state import SandboxState
from rostersync.service import districts
from rostersync.service.context import Services
from rostersync.service.queries import school_report
from rostersync.service.sync import sync_district
from rostersync.storage import SqlStore
from tests.integration.conftest import fast_sources

CASES = sorted((Path(__file__).parent / "cases").glob("*.json"))
NEW_ID = "ffffffffffffffffffff0000"


def expand(value: Any, school: str) -> Any:
    if isinstance(value, dict):
        return {k: expand(v, school) for k, v in value.items()}
    if isinstance(value, list):
        return [expand(v, school) for v in value]
    if isinstance(value, str):
        if value.startswith("$REPEAT:"):
            _, text, count = value.split(":")
            return text * int(count)
        return (
            value.replace("SCHOOL", school)
            if value in ("SCHOOL",)
            else (NEW_ID if value == "ID" else value)
        )
    return value


def raw_bytes(case: dict[str, Any], school: str) -> bytes:
    if "record" in case:
        return json.dumps(expand(case["record"], school), ensure_ascii=False).encode()
    if "raw_base64" in case:
        return base64.b64decode(case["raw_base64"]).replace(b"ID", NEW_ID.encode())
    return case["raw_text"].replace("SCHOOL", school).replace('"ID"', f'"{NEW_ID}"').encode()


@pytest.fixture
def district() -> DistrictData:
    return generate_district(seed=8, students=120, schools=2)


@pytest.fixture
def synced(district: DistrictData, store_url: str) -> Iterator[tuple[Services, str, SqlStore]]:
    store = SqlStore(store_url)
    with SandboxServer(SandboxState.from_data(district)) as server:
        services = Services(store=store, sources=fast_sources)
        config = districts.add_district(services, "Corpus", server.token, server.base_url)
        assert {r.outcome for r in sync_district(services, config.id).runs} == {Outcome.APPLIED}
        yield services, config.id, store
    store.dispose()


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_bad_input_gives_a_clear_error_or_a_report_entry(
    path: Path, district: DistrictData, synced: tuple[Services, str, SqlStore]
) -> None:
    services, district_id, store = synced
    case = json.loads(path.read_text(encoding="utf-8"))
    school = json.loads(district.tables["schools"].blobs[0])["id"]
    before = rosters(store)
    district.tables[case["table"]].put(NEW_ID, raw_bytes(case, school))
    result = sync_district(services, district_id)  # must not raise
    expect = case["expect"]
    outcomes = {r.outcome.value for r in result.runs}
    if expect["outcome"] == "failed":
        assert outcomes == {"failed"}
        assert all(r.error for r in result.runs)  # a clear error
        assert rosters(store) == before
    elif expect["outcome"] == "applied":
        assert outcomes <= {"applied", "unchanged"}, [r.error for r in result.runs]
    else:
        assert outcomes <= {"applied", "unchanged", "failed"}
        if outcomes == {"failed"}:
            assert rosters(store) == before
    report = school_report(services, school)
    if "problem" in expect:
        codes = {(p.severity.value, p.code) for p in report.problems}
        assert tuple(expect["problem"]) in codes, codes
    if expect.get("linked"):
        with store.unit_of_work() as uow:
            roster = uow.load_roster(report.view.school.id)
        assert (NEW_ID, "student") in roster.links


def rosters(store: SqlStore) -> dict[str, object]:
    with store.unit_of_work() as uow:
        return {s.source_id: uow.load_roster(s.id) for s in uow.list_schools()}


def test_a_district_with_no_schools_holds_every_school_and_wipes_nothing(
    district: DistrictData, synced: tuple[Services, str, SqlStore]
) -> None:
    services, district_id, store = synced
    before = rosters(store)
    for school_id in list(district.tables["schools"].ids):
        district.tables["schools"].delete(school_id)
    result = sync_district(services, district_id)
    assert {r.hold_kind.value for r in result.runs if r.hold_kind} == {"disconnected"}
    assert len(result.runs) == len(before)
    assert rosters(store) == before


def test_a_school_whose_every_record_vanished_is_held_not_wiped(
    district: DistrictData, synced: tuple[Services, str, SqlStore]
) -> None:
    services, district_id, store = synced
    school = json.loads(district.tables["schools"].blobs[0])["id"]
    before = rosters(store)
    for kind in ("users", "sections"):
        table = district.tables[kind]
        for record_id, blob in list(table.items()):
            record = json.loads(blob)
            roles = record.get("roles", {})
            if record.get("school") == school or any(
                school in (info or {}).get("schools", [])
                for info in roles.values()
                if isinstance(info, dict)
            ):
                table.delete(record_id)
    result = sync_district(services, district_id)
    runs = {r.school_id: r for r in result.runs}
    with store.unit_of_work() as uow:
        row = uow.get_school(school)
    assert row is not None
    assert runs[row.id].hold_kind is not None
    assert runs[row.id].hold_kind.value == "data_removals"
    assert rosters(store)[school] == before[school]
