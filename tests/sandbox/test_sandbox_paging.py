"""Cursor paging: every record exactly once, in id order, in exactly ceil(N/limit) requests.

The sandbox sends ``next`` only while records remain, so a list never ends with an empty
page: a list of N records takes ``ceil(N / limit)`` requests (one for an empty list).
"""

from __future__ import annotations

import math

import httpx
import pytest

from rostersync.sandbox.state import SandboxState
from tests.sandbox.conftest import Pager


def _expected(state: SandboxState, uri: str) -> list[str]:
    if "role=" in uri:
        return list(state.role_index().by_role[uri.split("role=")[1]])
    return list(state.tables[uri.rsplit("/", 1)[1]].ids)


@pytest.mark.parametrize("limit", [1, 7, 100, 10000])
@pytest.mark.parametrize("uri", ["/v3.0/users", "/v3.0/users?role=student", "/v3.0/sections"])
def test_following_next_sees_every_record_once_in_order(
    state: SandboxState, pager: Pager, uri: str, limit: int
) -> None:
    expected = _expected(state, uri)
    separator = "&" if "?" in uri else "?"

    ids = pager.all_ids(f"{uri}{separator}limit={limit}")

    assert ids == expected == sorted(expected)
    assert len(pager.pages) == math.ceil(len(expected) / limit)
    assert all(page["data"] for page in pager.pages)
    for number, page in enumerate(pager.pages):
        rels = [link["rel"] for link in page["links"]]
        assert rels[0] == "self"
        assert ("next" in rels) == (number < len(pager.pages) - 1)
        assert ("prev" in rels) == (number > 0)


def test_next_and_prev_links_keep_the_other_query_parameters(client: httpx.Client) -> None:
    first = client.get("/v3.0/users", params={"role": "teacher", "limit": 2}).json()
    links = {link["rel"]: link["uri"] for link in first["links"]}

    assert links["self"] == "/v3.0/users?role=teacher&limit=2"
    assert links["next"] == (
        f"/v3.0/users?role=teacher&limit=2&starting_after={first['data'][-1]['data']['id']}"
    )
    second = client.get(links["next"]).json()
    second_links = {link["rel"]: link["uri"] for link in second["links"]}
    first_of_second = second["data"][0]["data"]["id"]
    assert (
        second_links["prev"] == f"/v3.0/users?role=teacher&limit=2&ending_before={first_of_second}"
    )


def test_a_list_that_fits_in_one_page_has_only_a_self_link(client: httpx.Client) -> None:
    body = client.get("/v3.0/terms", params={"limit": 10000}).json()

    assert body["links"] == [{"rel": "self", "uri": "/v3.0/terms?limit=10000"}]


def test_default_limit_is_100(client: httpx.Client, state: SandboxState) -> None:
    body = client.get("/v3.0/users").json()

    assert len(body["data"]) == 100
    assert body["links"][0] == {"rel": "self", "uri": "/v3.0/users"}
    assert body["links"][1]["uri"] == f"/v3.0/users?starting_after={state.tables['users'].ids[99]}"


@pytest.mark.parametrize(
    ("limit", "status"), [("10001", 413), ("0", 400), ("-3", 400), ("ten", 400), ("10000", 200)]
)
def test_limit_bounds(client: httpx.Client, limit: str, status: int) -> None:
    reply = client.get("/v3.0/users", params={"limit": limit})

    assert reply.status_code == status
    if status != 200:
        assert reply.json()["message"]


def test_ending_before_serves_the_records_just_before_the_cursor(
    client: httpx.Client, state: SandboxState
) -> None:
    ids = state.tables["users"].ids
    cursor = ids[50]

    body = client.get("/v3.0/users", params={"limit": 10, "ending_before": cursor}).json()

    assert [item["data"]["id"] for item in body["data"]] == ids[40:50]
    links = {link["rel"]: link["uri"] for link in body["links"]}
    assert links["next"] == f"/v3.0/users?limit=10&starting_after={ids[49]}"
    assert links["prev"] == f"/v3.0/users?limit=10&ending_before={ids[40]}"


def test_following_prev_from_the_end_walks_back_to_the_start(
    client: httpx.Client, state: SandboxState
) -> None:
    ids = state.tables["sections"].ids
    uri: str | None = f"/v3.0/sections?limit=7&ending_before={'f' * 24}"
    seen: list[str] = []
    while uri is not None:
        body = client.get(uri).json()
        seen[:0] = [item["data"]["id"] for item in body["data"]]
        uri = {link["rel"]: link["uri"] for link in body["links"]}.get("prev")

    assert seen == ids


def test_a_cursor_past_the_end_gives_an_empty_page_without_next(
    client: httpx.Client, state: SandboxState
) -> None:
    last = state.tables["users"].ids[-1]

    body = client.get("/v3.0/users", params={"starting_after": last}).json()

    assert body["data"] == []
    assert [link["rel"] for link in body["links"]] == ["self"]


def test_both_cursors_at_once_are_refused(client: httpx.Client) -> None:
    reply = client.get("/v3.0/users", params={"starting_after": "a", "ending_before": "b"})

    assert reply.status_code == 400


def test_an_unknown_role_is_refused(client: httpx.Client) -> None:
    assert client.get("/v3.0/users", params={"role": "principal"}).status_code == 400


def test_paging_skips_records_of_an_unshared_school(state: SandboxState, pager: Pager) -> None:
    school = state.tables["schools"].ids[0]
    state.unshare_school(school)
    hidden = state.hidden()
    expected = [uid for uid in state.tables["users"].ids if uid not in hidden]

    ids = pager.all_ids("/v3.0/users?limit=50")

    assert ids == expected
    assert len(pager.pages) == math.ceil(len(expected) / 50)
