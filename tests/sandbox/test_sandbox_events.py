"""Mutations append the events Clever would emit, and /events pages and filters them."""

from __future__ import annotations

import math
from typing import Any

import httpx
import pytest

from rostersync.sandbox.state import SandboxState
from tests.sandbox.conftest import Pager


def _events(client: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    body = client.get("/v3.0/events", params={"limit": 10000, **params}).json()
    return [item["data"] for item in body["data"]]


def test_a_fresh_district_has_no_events(client: httpx.Client) -> None:
    assert _events(client) == []


def test_added_contacts_are_users_created_events(state: SandboxState, client: httpx.Client) -> None:
    student = state.role_index().by_role["student"][0]
    newest_before = max(table.ids[-1] for table in state.tables.values())

    created = state.add_contacts(student, 2, type="Emergency", relationship="Aunt/Uncle")

    events = _events(client)
    assert [e["type"] for e in events] == ["users.created", "users.created"]
    assert [e["data"]["object"]["id"] for e in events] == created
    assert "previous_attributes" not in events[0]["data"]
    link = events[0]["data"]["object"]["roles"]["contact"]["student_relationships"][0]
    assert link == {"relationship": "Aunt/Uncle", "student": student, "type": "Emergency"}
    assert newest_before < created[0] < events[0]["id"] < created[1] < events[1]["id"]


def test_an_update_nests_the_old_values_in_previous_attributes(
    state: SandboxState, client: httpx.Client
) -> None:
    school = state.tables["schools"].ids[0]
    contact_id = state.users_of_school(school, "contact")[0]
    old_roles = state.require("users", contact_id)["roles"]

    changed = state.set_contact_types(school, "Secondary", count=1)

    (event,) = _events(client)
    assert changed == [contact_id]
    assert event["type"] == "users.updated"
    assert event["data"]["previous_attributes"] == {"roles": old_roles}
    new_links = event["data"]["object"]["roles"]["contact"]["student_relationships"]
    assert "Secondary" in {link["type"] for link in new_links}
    assert event["data"]["object"]["last_modified"] >= event["data"]["object"]["created"]


def test_removing_students_deletes_them_and_updates_sections_and_contacts(
    state: SandboxState, client: httpx.Client
) -> None:
    school = state.tables["schools"].ids[0]
    student = state.users_of_school(school, "student")[0]
    sections = list(state.section_index().by_member[student])

    removed = state.remove_share_of_students(school, 0.0001 + 1 / 150)

    assert student in removed
    events = _events(client)
    deleted_users = {e["data"]["object"]["id"] for e in events if e["type"] == "users.deleted"}
    assert set(removed) <= deleted_users
    section_updates = [e for e in events if e["type"] == "sections.updated"]
    assert set(sections) <= {e["data"]["object"]["id"] for e in section_updates}
    for event in section_updates:
        old_students = event["data"]["previous_attributes"]["students"]
        assert set(old_students) - set(event["data"]["object"]["students"]) <= set(removed)
    assert any(e["type"] == "users.updated" or e["type"] == "users.deleted" for e in events)


def test_record_type_filter_is_repeatable(state: SandboxState, client: httpx.Client) -> None:
    school = state.tables["schools"].ids[0]
    state.remove_share_of_students(school, 0.02)
    state.remove_share_of_sections(school, 0.02)
    state.set_district_state("paused")

    sections_only = _events(client, record_type="sections")
    both = client.get(
        "/v3.0/events", params=[("record_type", "users"), ("record_type", "districts")]
    ).json()

    assert {e["type"].split(".")[0] for e in sections_only} == {"sections"}
    assert {item["data"]["type"].split(".")[0] for item in both["data"]} == {"users", "districts"}
    assert client.get("/v3.0/events", params={"record_type": "contacts"}).status_code == 400


def test_school_filter_keeps_events_about_that_school(
    state: SandboxState, client: httpx.Client
) -> None:
    first, second = state.tables["schools"].ids
    state.remove_share_of_sections(first, 0.1)
    state.remove_share_of_sections(second, 0.1)

    about_first = _events(client, school=first)

    assert about_first
    assert {e["data"]["object"]["school"] for e in about_first} == {first}


def test_unsharing_a_school_emits_deletions(state: SandboxState, client: httpx.Client) -> None:
    school = state.tables["schools"].ids[0]

    vanished = state.unshare_school(school)

    events = _events(client)
    assert {e["data"]["object"]["id"] for e in events} == set(vanished)
    assert {e["type"] for e in events} == {"schools.deleted", "sections.deleted", "users.deleted"}


@pytest.mark.parametrize("limit", [1, 3, 100])
def test_events_page_in_ascending_order(state: SandboxState, pager: Pager, limit: int) -> None:
    student = state.role_index().by_role["student"][0]
    state.add_contacts(student, 7)

    ids = pager.all_ids(f"/v3.0/events?limit={limit}")

    assert ids == state.events.table.ids
    assert ids == sorted(ids)
    assert len(pager.pages) == math.ceil(7 / limit)


def test_polling_from_the_last_event_sees_only_newer_ones(
    state: SandboxState, client: httpx.Client
) -> None:
    student = state.role_index().by_role["student"][0]
    state.add_contacts(student, 2)
    last = _events(client)[-1]["id"]

    assert _events(client, starting_after=last) == []
    state.add_contacts(student, 1)
    newer = _events(client, starting_after=last)
    assert [e["type"] for e in newer] == ["users.created"]


def test_ending_before_and_single_event(state: SandboxState, client: httpx.Client) -> None:
    state.add_contacts(state.role_index().by_role["student"][0], 4)
    ids = state.events.table.ids

    before = _events(client, ending_before=ids[3], limit=2)
    single = client.get(f"/v3.0/events/{ids[0]}").json()

    assert [e["id"] for e in before] == ids[1:3]
    assert single["data"]["id"] == ids[0]
    assert client.get(f"/v3.0/events/{'0' * 24}").status_code == 404


def test_a_moved_student_is_an_event_of_both_schools(
    state: SandboxState, client: httpx.Client
) -> None:
    first, second = state.tables["schools"].ids
    student = state.users_of_school(first, "student")[0]

    state.move_student(student, second)

    for school in (first, second):
        moved = [
            e
            for e in _events(client, school=school, record_type="users")
            if e["data"]["object"]["id"] == student
        ]
        assert [e["type"] for e in moved] == ["users.updated"]
    (event,) = [
        e for e in _events(client, record_type="users") if e["data"]["object"]["id"] == student
    ]
    assert event["data"]["previous_attributes"]["roles"]["student"]["school"] == first
