"""Injected faults answer exactly as specified, match by path, and are used up after count."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest

from rostersync.sandbox.server import SandboxServer
from rostersync.sandbox.state import SandboxState

USERS = r"^/v3\.0/users$"


@pytest.mark.parametrize("kind", ["400", "500", "501", "502", "503"])
def test_status_faults_answer_with_a_message_then_are_used_up(
    state: SandboxState, client: httpx.Client, kind: str
) -> None:
    state.faults.add(USERS, kind, count=2)

    first, second, third = (client.get("/v3.0/users") for _ in range(3))

    assert first.status_code == second.status_code == int(kind)
    assert first.headers["content-type"] == "application/json"
    assert set(first.json()) == {"message"}
    assert third.status_code == 200
    assert [entry[3] for entry in state.request_log] == [int(kind), int(kind), 200]


def test_a_fault_fires_only_on_matching_paths(state: SandboxState, client: httpx.Client) -> None:
    state.faults.add(USERS, "503")

    assert client.get("/v3.0/users/abc").status_code == 404
    assert client.get("/v3.0/sections").status_code == 200
    assert client.get("/v3.0/users", params={"limit": 5}).status_code == 503
    assert client.get("/v3.0/users").status_code == 200


def test_a_forever_fault_lasts_until_cleared(state: SandboxState, client: httpx.Client) -> None:
    state.faults.add(USERS, "500", count=-1)

    assert [client.get("/v3.0/users").status_code for _ in range(4)] == [500] * 4
    state.faults.clear()
    assert client.get("/v3.0/users").status_code == 200


def test_429_has_an_empty_body_and_rate_limit_headers(
    state: SandboxState, client: httpx.Client
) -> None:
    state.faults.add(USERS, "429", reset_in=5)
    before = int(time.time())

    reply = client.get("/v3.0/users")

    assert reply.status_code == 429
    assert reply.content == b""
    assert before + 5 <= int(reply.headers["X-RateLimit-Reset"]) <= int(time.time()) + 5
    assert reply.headers["X-RateLimit-Limit"] == "1200"
    assert reply.headers["X-RateLimit-Remaining"] == "0"
    assert reply.headers["X-RateLimit-Bucket"]
    assert "Retry-After" not in reply.headers
    assert client.get("/v3.0/users").status_code == 200


def test_429_can_carry_retry_after(state: SandboxState, client: httpx.Client) -> None:
    state.faults.add(USERS, "429", retry_after=7)

    assert client.get("/v3.0/users").headers["Retry-After"] == "7"


def test_slow_answers_normally_after_the_delay(state: SandboxState, client: httpx.Client) -> None:
    normal = client.get("/v3.0/users").content
    state.faults.add(USERS, "slow", delay=0.3)
    started = time.monotonic()

    reply = client.get("/v3.0/users")

    assert time.monotonic() - started >= 0.3
    assert reply.status_code == 200
    assert reply.content == normal


def test_timeout_outlasts_the_client_without_blocking_other_requests(
    server: SandboxServer, state: SandboxState, client: httpx.Client
) -> None:
    state.faults.add(USERS, "timeout", delay=30)

    with pytest.raises(httpx.ReadTimeout):
        client.get("/v3.0/users", timeout=0.3)
    started = time.monotonic()
    assert client.get("/v3.0/sections").status_code == 200
    assert time.monotonic() - started < 2
    assert state.request_log[0][1:] == ("/v3.0/users", "", 200)


def test_malformed_json_is_a_truncated_200(state: SandboxState, client: httpx.Client) -> None:
    normal = client.get("/v3.0/users").content
    state.faults.add(USERS, "malformed_json")

    reply = client.get("/v3.0/users")

    assert reply.status_code == 200
    assert reply.headers["content-type"] == "application/json"
    assert normal.startswith(reply.content)
    assert len(reply.content) < len(normal)
    with pytest.raises(json.JSONDecodeError):
        json.loads(reply.content)


@pytest.mark.parametrize(("opts", "status"), [({}, 500), ({"status": 502}, 502)])
def test_html_error_is_an_html_page(
    state: SandboxState, client: httpx.Client, opts: dict[str, Any], status: int
) -> None:
    state.faults.add(USERS, "html_error", **opts)

    reply = client.get("/v3.0/users")

    assert reply.status_code == status
    assert reply.headers["content-type"].startswith("text/html")
    assert reply.text.startswith("<html>")


@pytest.mark.parametrize("status", [200, 503])
def test_empty_body_has_the_status_and_nothing_else(
    state: SandboxState, client: httpx.Client, status: int
) -> None:
    state.faults.add(USERS, "empty_body", status=status)

    reply = client.get("/v3.0/users")

    assert (reply.status_code, reply.content) == (status, b"")


def test_broken_next_repeats_the_same_page(state: SandboxState, client: httpx.Client) -> None:
    state.faults.add(USERS, "broken_next", count=-1)
    first = client.get("/v3.0/users", params={"limit": 5}).json()
    next_uri = {link["rel"]: link["uri"] for link in first["links"]}["next"]

    again = client.get(next_uri).json()

    assert next_uri == "/v3.0/users?limit=5"
    assert again["data"] == first["data"]


def test_broken_next_repeats_a_later_pages_own_cursor(
    state: SandboxState, client: httpx.Client
) -> None:
    cursor = state.tables["users"].ids[9]
    state.faults.add(USERS, "broken_next")

    page = client.get("/v3.0/users", params={"limit": 5, "starting_after": cursor}).json()

    next_uri = {link["rel"]: link["uri"] for link in page["links"]}["next"]
    assert next_uri == f"/v3.0/users?limit=5&starting_after={cursor}"


def test_broken_next_bogus_points_to_a_404(state: SandboxState, client: httpx.Client) -> None:
    state.faults.add(USERS, "broken_next", mode="bogus")
    page = client.get("/v3.0/users", params={"limit": 5}).json()
    next_uri = {link["rel"]: link["uri"] for link in page["links"]}["next"]

    assert client.get(next_uri).status_code == 404


def test_unknown_kinds_and_options_are_refused(state: SandboxState) -> None:
    with pytest.raises(ValueError, match="Unknown fault kind"):
        state.faults.add(USERS, "418")
    with pytest.raises(ValueError, match="takes no option"):
        state.faults.add(USERS, "slow", dealy=1)
    with pytest.raises(ValueError, match="count"):
        state.faults.add(USERS, "500", count=0)
    with pytest.raises(ValueError, match="regular expression"):
        state.faults.add("^/v3.0/users(", "500")


def test_faults_can_be_armed_and_cleared_over_http(
    state: SandboxState, client: httpx.Client, anonymous: httpx.Client
) -> None:
    armed = anonymous.post(
        "/_sandbox/faults", json={"path": USERS, "kind": "429", "count": 3, "retry_after": 2}
    )
    assert armed.status_code == 201
    assert anonymous.get("/_sandbox/state").json()["faults"] == [
        {"path": USERS, "kind": "429", "count": 3, "retry_after": 2}
    ]
    assert client.get("/v3.0/users").status_code == 429

    assert anonymous.delete("/_sandbox/faults").status_code == 200
    assert client.get("/v3.0/users").status_code == 200
    bad = anonymous.post("/_sandbox/faults", json={"path": USERS, "kind": "nope"})
    assert bad.status_code == 400
    assert "Unknown fault kind" in bad.json()["message"]


def test_the_request_log_records_every_api_request_but_not_admin_calls(
    state: SandboxState, client: httpx.Client, anonymous: httpx.Client
) -> None:
    client.get("/v3.0/users", params={"limit": 3})
    anonymous.get("/v3.0/schools")
    anonymous.get("/_sandbox/state")

    assert state.request_log == [
        ("GET", "/v3.0/users", "limit=3", 200),
        ("GET", "/v3.0/schools", "", 401),
    ]
    assert anonymous.get("/_sandbox/requests").json()["requests"][0]["query"] == "limit=3"


@pytest.mark.parametrize(
    ("style", "content_type", "body"),
    [
        ("message", "application/json", b'{"message":'),
        ("error", "application/json", b'{"error":'),
        ("empty", None, b""),
        ("html", "text/html; charset=utf-8", b"<html>"),
    ],
)
def test_error_body_styles(
    state: SandboxState, client: httpx.Client, style: str, content_type: str | None, body: bytes
) -> None:
    state.set_error_style(style)

    reply = client.get("/v3.0/users/000000000000000000000000")

    assert reply.status_code == 404
    assert reply.headers.get("content-type") == content_type
    assert reply.content.startswith(body)
