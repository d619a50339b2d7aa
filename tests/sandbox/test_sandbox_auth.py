"""Bearer auth, token listing with client credentials, and school sharing."""

from __future__ import annotations

import httpx
import pytest

from rostersync.sandbox.district import DistrictData
from rostersync.sandbox.server import SandboxServer
from rostersync.sandbox.state import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, SandboxState

BASIC = (DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET)


@pytest.mark.parametrize("header", [None, "Bearer nope", "Basic abc", "Bearer"])
def test_a_missing_or_unknown_token_is_401(anonymous: httpx.Client, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}

    reply = anonymous.get("/v3.0/districts", headers=headers)

    assert reply.status_code == 401
    assert reply.json()["message"]


def test_a_revoked_token_is_401_until_restored(state: SandboxState, client: httpx.Client) -> None:
    state.revoke_token(state.token)
    assert client.get("/v3.0/users").status_code == 401

    state.restore_token(state.token)
    assert client.get("/v3.0/users").status_code == 200


def test_the_token_can_be_chosen(data: DistrictData) -> None:
    state = SandboxState.from_data(data, token="f" * 40)
    with SandboxServer(state) as server, httpx.Client(base_url=server.base_url) as http:
        assert server.token == "f" * 40
        ok = http.get("/v3.0/districts", headers={"Authorization": f"Bearer {'f' * 40}"})
        refused = http.get("/v3.0/districts", headers={"Authorization": f"Bearer {data.token}"})
    assert (ok.status_code, refused.status_code) == (200, 401)


def test_oauth_tokens_lists_the_valid_tokens_with_basic_auth(
    state: SandboxState, anonymous: httpx.Client
) -> None:
    rotated = state.add_token()
    state.revoke_token(state.token)

    body = anonymous.get("/oauth/tokens", params={"owner_type": "district"}, auth=BASIC).json()

    assert [record["access_token"] for record in body["data"]] == [rotated]
    record = body["data"][0]
    assert record["owner"] == {"type": "district", "id": state.district_id}
    assert "read:student_contacts" in record["scopes"]
    assert body["links"] == [{"rel": "self", "uri": "/oauth/tokens?owner_type=district"}]


def test_oauth_tokens_filters_by_district(state: SandboxState, anonymous: httpx.Client) -> None:
    mine = {"owner_type": "district", "district": state.district_id}
    other = {"owner_type": "district", "district": "0" * 24}

    assert len(anonymous.get("/oauth/tokens", params=mine, auth=BASIC).json()["data"]) == 1
    assert anonymous.get("/oauth/tokens", params=other, auth=BASIC).json()["data"] == []


def test_oauth_tokens_refuses_wrong_credentials(anonymous: httpx.Client) -> None:
    params = {"owner_type": "district"}

    assert anonymous.get("/oauth/tokens", params=params, auth=("x", "y")).status_code == 401
    assert anonymous.get("/oauth/tokens", params=params).status_code == 401
    assert anonymous.get("/oauth/tokens", auth=BASIC).status_code == 400


def test_an_unshared_school_and_what_only_it_holds_disappear(
    state: SandboxState, client: httpx.Client
) -> None:
    school, other = state.tables["schools"].ids
    student = state.users_of_school(school, "student")[0]
    section = state.section_index().by_school[school][0]
    contact = state.link_index().contacts_of[student][0]

    state.unshare_school(school)

    schools = client.get("/v3.0/schools").json()["data"]
    assert [item["data"]["id"] for item in schools] == [other]
    for path in (
        f"/v3.0/schools/{school}",
        f"/v3.0/schools/{school}/users",
        f"/v3.0/users/{student}",
        f"/v3.0/users/{contact}",
        f"/v3.0/sections/{section}",
        f"/v3.0/users/{student}/mycontacts",
    ):
        assert client.get(path).status_code == 404, path
    users = client.get("/v3.0/users", params={"limit": 10000}).json()["data"]
    listed = {item["data"]["id"] for item in users}
    assert student not in listed and contact not in listed
    assert set(state.users_of_school(other, "student")) <= listed


def test_a_user_of_two_schools_stays_when_one_is_unshared(
    state: SandboxState, client: httpx.Client
) -> None:
    school, other = state.tables["schools"].ids
    record = state.require("users", state.users_of_school(school, "teacher")[0])
    record["roles"]["teacher"]["schools"] = [school, other]
    state.upsert_user(record)

    state.unshare_school(school)

    assert client.get(f"/v3.0/users/{record['id']}").status_code == 200


def test_sharing_again_brings_everything_back(state: SandboxState, client: httpx.Client) -> None:
    school = state.tables["schools"].ids[0]
    before = client.get("/v3.0/users", params={"limit": 10000}).content

    vanished = state.unshare_school(school)
    returned = state.share_school(school)

    assert vanished == returned
    assert school in vanished
    assert client.get("/v3.0/users", params={"limit": 10000}).content == before
