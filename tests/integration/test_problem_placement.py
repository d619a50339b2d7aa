"""Which school reports show a user's alerts, now that users are mapped school by school.

A user's mapping alerts appear on the reports of the schools it belongs to: directly, or as
a contact of their students. The alerts of users who belong to no school in the share (no
role, or a contact whose every student is unknown) appear on every school's report.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rostersync.domain.state import Outcome
from rostersync.sandbox.generator import generate_district
from rostersync.sandbox.server import SandboxServer
from rostersync.sandbox.state import SandboxState
from rostersync.service import districts
from rostersync.service.context import Services
from rostersync.service.queries import school_report
from rostersync.service.sync import sync_district
from rostersync.storage import SqlStore
from rostersync.storage.migrate import upgrade_database

from .conftest import fast_sources


def _users(data: Any) -> list[dict[str, Any]]:
    return [json.loads(blob) for _, blob in data.tables["users"].items()]


def _plant(data: Any) -> dict[str, str]:
    users = data.tables["users"]
    everyone = _users(data)
    schools = list(data.tables["schools"].ids)
    student_school = {
        u["id"]: u["roles"]["student"]["school"] for u in everyone if "student" in u["roles"]
    }
    contact = next(
        u
        for u in everyone
        if "contact" in u["roles"]
        and {
            student_school.get(r["student"]) for r in u["roles"]["contact"]["student_relationships"]
        }
        == {schools[0]}
    )
    contact["roles"]["contact"]["phone_type"] = "Pager"
    users.put(contact["id"], json.dumps(contact).encode())
    nobody = {"id": "fffffffffffffffffffff001", "name": {"first": "No"}, "roles": {}}
    users.put(nobody["id"], json.dumps(nobody).encode())
    stranded = {
        "id": "fffffffffffffffffffff002",
        "name": {"first": "Lost"},
        "roles": {
            "contact": {
                "phone_type": "Fax",
                "student_relationships": [{"student": "fffffffffffffffffffff0ff"}],
            }
        },
    }
    users.put(stranded["id"], json.dumps(stranded).encode())
    return {"contact": contact["id"], "nobody": nobody["id"], "stranded": stranded["id"]}


@pytest.fixture
def planted(tmp_path: Path) -> Iterator[tuple[Services, str, dict[str, str], list[str]]]:
    data = generate_district(seed=8, students=200, schools=2)
    ids = _plant(data)
    url = f"sqlite:///{tmp_path / 'placement.db'}"
    upgrade_database(url)
    store = SqlStore(url)
    with SandboxServer(SandboxState.from_data(data)) as server:
        services = Services(store=store, sources=fast_sources)
        config = districts.add_district(services, "Placement", server.token, server.base_url)
        yield services, config.id, ids, list(data.tables["schools"].ids)
    store.dispose()


def _flagged(services: Services, school: str) -> set[tuple[str, str]]:
    return {(p.source_id, p.code) for p in school_report(services, school).problems}


def test_a_contacts_alert_shows_on_its_students_school_only(planted) -> None:
    services, district_id, ids, schools = planted
    sync_district(services, district_id)

    assert (ids["contact"], "unknown_enum") in _flagged(services, schools[0])
    assert (ids["contact"], "unknown_enum") not in _flagged(services, schools[1])


def test_alerts_of_users_in_no_school_show_everywhere(planted) -> None:
    services, district_id, ids, schools = planted
    sync_district(services, district_id)

    for school in schools:
        flagged = _flagged(services, school)
        assert (ids["nobody"], "no_role") in flagged
        assert (ids["stranded"], "unknown_enum") in flagged
        assert (ids["stranded"], "unknown_student") in flagged


def test_an_unchanged_resync_keeps_every_alert(planted) -> None:
    services, district_id, _, schools = planted
    sync_district(services, district_id)
    before = {school: _flagged(services, school) for school in schools}

    result = sync_district(services, district_id)

    assert {r.outcome for r in result.runs} == {Outcome.UNCHANGED}
    assert {school: _flagged(services, school) for school in schools} == before
