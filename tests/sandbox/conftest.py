"""Fixtures for the sandbox tests: a small generated district, its state, a live server."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from rostersync.sandbox.district import DistrictData
from rostersync.sandbox.generator import generate_district
from rostersync.sandbox.server import SandboxServer
from rostersync.sandbox.state import SandboxState


@pytest.fixture(scope="session")
def district_data() -> DistrictData:
    """A small two-school district (generated once; tests get copies)."""
    return generate_district(seed=11, students=300, schools=2)


@pytest.fixture
def data(district_data: DistrictData) -> DistrictData:
    return district_data.copy()


@pytest.fixture
def state(data: DistrictData) -> SandboxState:
    return SandboxState.from_data(data)


@pytest.fixture(scope="session")
def shared_server(district_data: DistrictData) -> Iterator[SandboxServer]:
    """One server for the whole session; each test swaps in its own fresh state."""
    with SandboxServer(SandboxState.from_data(district_data.copy())) as running:
        yield running


@pytest.fixture
def server(shared_server: SandboxServer, state: SandboxState) -> SandboxServer:
    shared_server.state = state
    return shared_server


@pytest.fixture
def client(server: SandboxServer) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {server.token}"}
    with httpx.Client(base_url=server.base_url, headers=headers, timeout=10) as http:
        yield http


@pytest.fixture
def anonymous(server: SandboxServer) -> Iterator[httpx.Client]:
    """A client without a bearer token (admin API, auth tests)."""
    with httpx.Client(base_url=server.base_url, timeout=10) as http:
        yield http


class Pager:
    """Follows ``next`` links from a first uri; records every page fetched."""

    def __init__(self, http: httpx.Client) -> None:
        self.http = http
        self.pages: list[dict[str, object]] = []

    def all_ids(self, uri: str) -> list[str]:
        ids: list[str] = []
        next_uri: str | None = uri
        while next_uri is not None:
            reply = self.http.get(next_uri)
            assert reply.status_code == 200, reply.text
            page = reply.json()
            self.pages.append(page)
            ids.extend(item["data"]["id"] for item in page["data"])
            links = {link["rel"]: link["uri"] for link in page["links"]}
            next_uri = links.get("next")
        return ids


@pytest.fixture
def pager(client: httpx.Client) -> Pager:
    return Pager(client)
