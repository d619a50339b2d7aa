"""Mutations change what the API serves the way a real SIS change would reach Clever."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from rostersync.sandbox.state import SandboxState


def _ids(client: httpx.Client, path: str, **params: Any) -> list[str]:
    body = client.get(path, params={"limit": 10000, **params}).json()
    return [item["data"]["id"] for item in body["data"]]


def test_removing_a_share_of_sections_deletes_them(
    state: SandboxState, client: httpx.Client
) -> None:
    school = state.tables["schools"].ids[0]
    before = _ids(client, f"/v3.0/schools/{school}/sections")

    removed = state.remove_share_of_sections(school, 0.25)

    assert len(removed) == round(len(before) * 0.25)
    after = _ids(client, f"/v3.0/schools/{school}/sections")
    assert after == [sid for sid in before if sid not in removed]
    assert client.get(f"/v3.0/sections/{removed[0]}").status_code == 404


def test_removing_students_drops_enrollments_and_orphaned_contacts(
    state: SandboxState, client: httpx.Client
) -> None:
    school = state.tables["schools"].ids[0]
    students = state.users_of_school(school, "student")
    contacts_before = {
        student: list(state.link_index().contacts_of[student]) for student in students
    }

    removed = state.remove_share_of_students(school, 0.2)

    assert len(removed) == round(len(students) * 0.2)
    remaining_students = set(_ids(client, "/v3.0/users", role="student"))
    assert not remaining_students & set(removed)
    sections = client.get("/v3.0/sections", params={"limit": 10000}).json()["data"]
    assert not {s for item in sections for s in item["data"]["students"]} & set(removed)
    contacts = {
        item["data"]["id"]: item["data"]
        for item in client.get("/v3.0/users", params={"role": "contact", "limit": 10000}).json()[
            "data"
        ]
    }
    for contact in contacts.values():
        links = contact["roles"]["contact"]["student_relationships"]
        assert links and not {link["student"] for link in links} & set(removed)
    orphaned = {c for s in removed for c in contacts_before[s]} - set(contacts)
    assert orphaned, "some contacts had only removed students and must be gone"


def test_six_added_contacts_show_in_mycontacts(state: SandboxState, client: httpx.Client) -> None:
    student = state.role_index().by_role["student"][0]
    had = len(state.link_index().contacts_of[student])
    newest_before = state.tables["users"].ids[-1]

    added = state.add_contacts(student, 6 - had + 1)

    mine = _ids(client, f"/v3.0/users/{student}/mycontacts")
    assert len(mine) >= 6
    assert set(added) <= set(mine)
    assert all(new > newest_before for new in added)


def test_set_contact_types_changes_exactly_count_relationships(state: SandboxState) -> None:
    school = state.tables["schools"].ids[1]

    changed = state.set_contact_types(school, "Emergency", count=4)

    emergency = [
        link
        for contact in changed
        for link in state.require("users", contact)["roles"]["contact"]["student_relationships"]
        if link["type"] == "Emergency"
    ]
    assert len(emergency) == 4
    assert set(changed) <= set(state.users_of_school(school, "contact"))


def test_move_student_changes_school_and_sections(
    state: SandboxState, client: httpx.Client
) -> None:
    first, second = state.tables["schools"].ids
    student = state.users_of_school(first, "student")[0]
    old_sections = set(state.section_index().by_member[student])

    joined = state.move_student(student, second)

    record = client.get(f"/v3.0/users/{student}").json()["data"]["roles"]["student"]
    assert (record["school"], record["schools"]) == (second, [second])
    now = set(_ids(client, f"/v3.0/users/{student}/sections"))
    assert now == set(joined)
    assert len(now) == len(old_sections)
    assert all(state.require("sections", sid)["school"] == second for sid in now)
    assert student in _ids(client, f"/v3.0/schools/{second}/users", role="student")
    assert student not in _ids(client, f"/v3.0/schools/{first}/users", role="student")


def test_upsert_and_delete_user(state: SandboxState, client: httpx.Client) -> None:
    school = state.tables["schools"].ids[0]
    new_id = state.upsert_user(
        {
            "name": {"first": "Zoë", "last": "Nguyễn"},
            "email": "zoe@example.org",
            "roles": {"teacher": {"school": school, "schools": [school], "sis_id": "T-NEW"}},
        }
    )

    assert new_id > state.tables["users"].ids[-2]
    assert new_id in _ids(client, "/v3.0/users", role="teacher")
    assert client.get(f"/v3.0/users/{new_id}").json()["data"]["name"]["first"] == "Zoë"

    state.delete_user(new_id)
    assert client.get(f"/v3.0/users/{new_id}").status_code == 404
    with pytest.raises(KeyError, match="no users record"):
        state.delete_user(new_id)


def test_deleting_a_teacher_updates_their_sections(state: SandboxState) -> None:
    teacher = state.role_index().by_role["teacher"][0]
    sections = list(state.section_index().by_member[teacher])

    state.delete_user(teacher)

    for section_id in sections:
        section = state.require("sections", section_id)
        assert teacher not in section["teachers"]
        assert section["teacher"] != teacher


def test_upsert_and_delete_section(state: SandboxState, client: httpx.Client) -> None:
    section = state.require("sections", state.tables["sections"].ids[0])
    section["name"] = "Renamed"

    assert state.upsert_section(section) == section["id"]
    assert client.get(f"/v3.0/sections/{section['id']}").json()["data"]["name"] == "Renamed"
    state.delete_section(section["id"])
    assert client.get(f"/v3.0/sections/{section['id']}").status_code == 404


def test_district_state_is_served(state: SandboxState, client: httpx.Client) -> None:
    state.set_district_state("error", "The SIS upload failed.")

    (district,) = client.get("/v3.0/districts").json()["data"]

    assert (district["data"]["state"], district["data"]["error"]) == (
        "error",
        "The SIS upload failed.",
    )
    with pytest.raises(ValueError, match="must be one of"):
        state.set_district_state("broken")


def test_relations_follow_the_data(state: SandboxState, client: httpx.Client) -> None:
    section = state.require("sections", state.tables["sections"].ids[0])
    student = section["students"][0]
    contact = state.link_index().contacts_of[student][0]

    assert set(_ids(client, f"/v3.0/sections/{section['id']}/users", role="student")) == set(
        section["students"]
    )
    assert section["teacher"] in _ids(client, f"/v3.0/users/{student}/myteachers")
    assert student in _ids(client, f"/v3.0/users/{section['teacher']}/mystudents")
    assert student in _ids(client, f"/v3.0/users/{contact}/mystudents")
    assert _ids(client, f"/v3.0/users/{student}/schools") == [section["school"]]
    term = client.get(f"/v3.0/sections/{section['id']}/term").json()["data"]
    assert term["id"] == section["term_id"]


def test_mutations_over_http_mirror_the_python_api(
    state: SandboxState, client: httpx.Client, anonymous: httpx.Client
) -> None:
    school = state.tables["schools"].ids[0]
    student = state.users_of_school(school, "student")[0]

    added = anonymous.post(
        "/_sandbox/mutations/add_contacts",
        json={"student_id": student, "n": 2, "type": "Secondary"},
    )
    unshared = anonymous.post("/_sandbox/mutations/unshare_school", json={"school_id": school})
    revoked = anonymous.post("/_sandbox/mutations/revoke_token", json={"token": state.token})

    assert added.status_code == 200
    assert len(added.json()["result"]) == 2
    assert school in unshared.json()["result"]
    assert revoked.json() == {"result": None}
    assert client.get("/v3.0/schools").status_code == 401
    summary = anonymous.get("/_sandbox/state").json()
    assert summary["tokens"] == [{"token": state.token, "valid": False}]
    assert {"id": school, "shared": False} in summary["schools"]


def test_admin_api_explains_bad_requests(anonymous: httpx.Client) -> None:
    unknown = anonymous.post("/_sandbox/mutations/drop_database", json={})
    missing = anonymous.post("/_sandbox/mutations/unshare_school", json={"school_id": "nope"})
    wrong_args = anonymous.post("/_sandbox/mutations/unshare_school", json={"school": "x"})

    assert unknown.status_code == 404
    assert missing.status_code == 400
    assert "no schools record" in missing.json()["message"]
    assert wrong_args.status_code == 400
