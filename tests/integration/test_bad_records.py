"""Bad records become errors or alerts on the report while the rest of the school syncs.

The bad records are planted in the district the sandbox serves, as raw JSON, so they cross
the wire exactly as a broken SIS export would.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from rostersync.domain.state import Outcome
from rostersync.sandbox.district import DistrictData
from rostersync.sandbox.generator import generate_district
from rostersync.sandbox.server import SandboxServer
from rostersync.sandbox.state import SandboxState
from rostersync.service import districts
from rostersync.service.context import Services
from rostersync.service.ports import RosterSource
from rostersync.service.queries import school_report
from rostersync.service.sync import sync_district
from rostersync.sources.clever.retry import RetryPolicy
from rostersync.sources.clever.source import CleverSource
from rostersync.storage import SqlStore
from rostersync.storage.migrate import upgrade_database

SCRIPT_NAME = "<script>alert(1)</script>"
LONG_NAME = "Ł" * 10_000


def small_pages(base_url: str, token: str) -> RosterSource:
    """Pages of 50, so that a duplicate id lands on the page after its first copy."""
    return CleverSource(base_url, token, page_size=50, retry=RetryPolicy(attempts=1))


def users_of(data: DistrictData) -> list[dict]:
    return [json.loads(blob) for _, blob in data.tables["users"].items()]


def plant_bad_records(data: DistrictData) -> dict[str, str]:
    users = data.tables["users"]
    students = [u for u in users_of(data) if "student" in u["roles"]]
    contacts = [u for u in users_of(data) if "contact" in u["roles"]]
    no_id, duplicate, long_name, script, odd_enum = students[3:8]
    without_id = {k: v for k, v in no_id.items() if k != "id"}
    users.put(no_id["id"], json.dumps(without_id).encode())
    users.put(duplicate["id"] + "~", json.dumps(duplicate).encode())
    long_name["name"]["first"] = LONG_NAME
    users.put(long_name["id"], json.dumps(long_name).encode())
    script["name"]["first"] = SCRIPT_NAME
    users.put(script["id"], json.dumps(script).encode())
    contact = next(
        c
        for c in contacts
        if c["roles"]["contact"]["student_relationships"][0]["student"] == odd_enum["id"]
    )
    contact["roles"]["contact"]["student_relationships"][0]["relationship"] = "Cousin"
    users.put(contact["id"], json.dumps(contact).encode())
    sections = data.tables["sections"]
    section = json.loads(sections.blobs[0])
    section["students"] = [*section["students"], "ffffffffffffffffffffff01"]
    sections.put(section["id"], json.dumps(section).encode())
    return {
        "no_id": no_id["id"],
        "duplicate": duplicate["id"],
        "long": long_name["id"],
        "script": script["id"],
        "contact": contact["id"],
        "section": section["id"],
        "school": section["school"],
    }


@pytest.fixture
def planted(tmp_path: Path) -> Iterator[tuple[Services, str, dict[str, str], SqlStore]]:
    data = generate_district(seed=21, students=300, schools=1)
    ids = plant_bad_records(data)
    url = f"sqlite:///{tmp_path / 'bad.db'}"
    upgrade_database(url)
    store = SqlStore(url)
    with SandboxServer(SandboxState.from_data(data)) as server:
        services = Services(store=store, sources=small_pages)
        config = districts.add_district(services, "Bad data", server.token, server.base_url)
        yield services, config.id, ids, store
    store.dispose()


def test_bad_records_become_errors_and_alerts_and_the_rest_syncs(planted) -> None:
    services, district_id, ids, store = planted
    result = sync_district(services, district_id)
    assert [r.outcome for r in result.runs] == [Outcome.APPLIED]
    report = school_report(services, ids["school"])
    codes = {(p.severity.value, p.code) for p in report.problems}
    assert ("error", "missing_id") in codes
    assert ("error", "duplicate_id") in codes
    assert ("error", "unknown_member") in codes
    assert ("alert", "unknown_enum") in codes
    assert ("alert", "long_name") in codes
    with store.unit_of_work() as uow:
        roster = uow.load_roster(report.view.school.id)
    links = {account for account, _ in roster.links}
    assert ids["no_id"] not in links  # its only copy had no id
    assert ids["duplicate"] in links  # the first copy syncs
    assert roster.accounts[ids["script"]].first_name == SCRIPT_NAME  # kept verbatim, as text
    assert roster.accounts[ids["long"]].first_name == LONG_NAME
    assert (
        roster.contact_links[
            (ids["contact"], next(s for c, s in roster.contact_links if c == ids["contact"]))
        ].relationship
        == "Cousin"
    )
    assert report.view.counts["students"] > 250
