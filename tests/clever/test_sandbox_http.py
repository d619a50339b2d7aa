"""The Clever client against the sandbox over real HTTP (loopback): counts, paging, faults."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from typer.testing import CliRunner

from rostersync.cli import clever_cmd
from rostersync.domain.records import RowProblem
from rostersync.errors import (
    FatalSourceError,
    IncompleteFetchError,
    NotSharedError,
    SourceError,
    TokenInvalidError,
    TransientSourceError,
)
from rostersync.sandbox.district import DistrictData
from rostersync.sandbox.generator import generate_district
from rostersync.sandbox.server import SandboxServer
from rostersync.sandbox.state import SandboxState
from rostersync.service.inspect import RosterCounts, inspect_district
from rostersync.sources.clever import CleverSource, RetryPolicy

from .fakes import FakeTime

KINDS = ("schools", "users", "sections", "terms", "courses")
ROLE_COUNTS = {
    "student": "students",
    "teacher": "teachers",
    "staff": "staff",
    "contact": "contacts",
    "district_admin": "district_admins",
}
SourceFactory = Callable[..., CleverSource]


def _records(data: DistrictData, kind: str) -> list[dict[str, Any]]:
    return [json.loads(blob) for _id, blob in data.tables[kind].items()]


def expected_counts(data: DistrictData) -> RosterCounts:
    counts = {kind: len(data.tables[kind]) for kind in ("schools", "sections", "terms", "courses")}
    for role in ROLE_COUNTS.values():
        counts[role] = 0
    for user in _records(data, "users"):
        for role in user.get("roles") or {}:
            counts[ROLE_COUNTS[role]] += 1
    counts["enrollments"] = sum(
        len(set(section.get("students") or ())) for section in _records(data, "sections")
    )
    return RosterCounts(**counts)


def _pages(count: int, limit: int) -> int:
    return max(1, math.ceil(count / limit))


@pytest.fixture
def data() -> DistrictData:
    return generate_district(seed=11, students=120, schools=2)


@pytest.fixture
def server(data: DistrictData) -> Iterator[SandboxServer]:
    with SandboxServer(SandboxState.from_data(data)) as running:
        yield running


@pytest.fixture
def connect(server: SandboxServer, fake_time: FakeTime) -> SourceFactory:
    """A source on the sandbox that never really sleeps between retries."""

    def build(**overrides: Any) -> CleverSource:
        options: dict[str, Any] = {"page_size": 50, "timeout": 5.0, "sleep": fake_time.sleep}
        options.update(overrides)
        return CleverSource(server.base_url, server.token, **options)

    return build


def _ids(items: Iterator[Any]) -> list[str]:
    got = list(items)
    assert not [p for p in got if isinstance(p, RowProblem) and p.severity == "error"]
    return [r.source_id for r in got if not isinstance(r, RowProblem)]


def test_inspect_over_http_counts_what_was_generated(
    data: DistrictData, connect: SourceFactory, server: SandboxServer
) -> None:
    with connect(page_size=40) as source:
        report = inspect_district(source)

    assert report.counts == expected_counts(data)
    assert report.district_id == data.district_id
    sizes = data.counts()
    assert report.requests == 1 + sum(_pages(sizes[kind], 40) for kind in KINDS)
    assert len(server.state.request_log) == report.requests
    assert [p for p in report.problems if p.severity == "error"] == []


@pytest.mark.parametrize("limit", [1, 7])
def test_paging_with_small_limits_is_exact(limit: int, fake_time: FakeTime) -> None:
    tiny = generate_district(seed=3, students=8, schools=1)
    with (
        SandboxServer(SandboxState.from_data(tiny)) as running,
        CleverSource(
            running.base_url, running.token, page_size=limit, sleep=fake_time.sleep
        ) as source,
    ):
        # Every kind at limit 7; at limit 1 (a request per record) the smaller lists only.
        for kind in KINDS if limit > 1 else ("schools", "users", "terms"):
            before = source.requests_made
            assert _ids(getattr(source, kind)()) == list(tiny.tables[kind].ids)
            assert source.requests_made - before == _pages(len(tiny.tables[kind]), limit)


RECOVERABLE: list[tuple[str, dict[str, Any]]] = [
    ("500", {}),
    ("502", {}),
    ("503", {}),
    ("429", {"reset_in": 2}),
    ("429", {"retry_after": 3}),
    ("slow", {"delay": 0.2}),
    ("timeout", {"delay": 1.5}),
    ("malformed_json", {}),
    ("html_error", {"status": 503}),
    ("empty_body", {"status": 500}),
    ("empty_body", {"status": 200}),
]


@pytest.mark.parametrize(("kind", "opts"), RECOVERABLE)
def test_recoverable_faults_give_the_exact_record_set(
    data: DistrictData,
    server: SandboxServer,
    connect: SourceFactory,
    fake_time: FakeTime,
    kind: str,
    opts: dict[str, Any],
) -> None:
    count = 1 if kind == "slow" else 2
    server.state.faults.add(r"^/v3\.0/users$", kind, count=count, **opts)
    source = connect(timeout=0.5)

    assert _ids(source.users()) == list(data.tables["users"].ids)
    retries = 0 if kind == "slow" else count
    assert source.requests_made == _pages(len(data.tables["users"]), 50) + retries
    if kind == "429":
        wait = opts.get("retry_after", opts.get("reset_in"))
        assert len(fake_time.sleeps) == 2
        assert all(wait - 1 <= s <= wait for s in fake_time.sleeps)


@pytest.mark.parametrize(
    ("kind", "opts", "error"),
    [
        ("400", {}, FatalSourceError),
        ("501", {}, FatalSourceError),
        ("html_error", {"status": 400}, FatalSourceError),
        ("broken_next", {"mode": "repeat"}, IncompleteFetchError),
        ("broken_next", {"mode": "bogus"}, IncompleteFetchError),
    ],
)
def test_fatal_faults_are_classified_without_retry(
    server: SandboxServer,
    connect: SourceFactory,
    kind: str,
    opts: dict[str, Any],
    error: type[SourceError],
) -> None:
    server.state.faults.add(r"^/v3\.0/users", kind, count=-1, **opts)
    source = connect()

    with pytest.raises(error) as caught:
        list(source.users())
    assert server.token not in str(caught.value)
    assert source.requests_made == 1


def test_a_persisting_503_is_transient_after_the_attempts(
    server: SandboxServer, connect: SourceFactory
) -> None:
    server.state.faults.add(r"^/v3\.0/sections", "503", count=-1)
    source = connect(retry=RetryPolicy(attempts=4))

    with pytest.raises(TransientSourceError, match="HTTP 503"):
        list(source.sections())
    assert source.requests_made == 4


def test_a_revoked_token_is_token_invalid(server: SandboxServer, connect: SourceFactory) -> None:
    server.state.revoke_token(server.token)

    with pytest.raises(TokenInvalidError, match="revoked or the app was uninstalled"):
        connect().district()


def test_an_unshared_school_is_gone_and_its_record_is_not_shared(
    data: DistrictData, server: SandboxServer, connect: SourceFactory
) -> None:
    school_id = data.tables["schools"].ids[0]
    server.state.unshare_school(school_id)
    source = connect()

    assert school_id not in _ids(source.schools())
    with pytest.raises(NotSharedError, match="unshared from the app or deleted"):
        source.school(school_id)


def test_the_district_state_is_reported(server: SandboxServer, connect: SourceFactory) -> None:
    server.state.set_district_state("error", "The SIS upload failed.")

    district = connect().district()

    assert (district.state, district.error) == ("error", "The SIS upload failed.")


def test_cli_inspect_json_over_http(
    data: DistrictData, server: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ROSTERSYNC_CLEVER_TOKEN", raising=False)
    args = ["inspect", "--base-url", server.base_url, "--json", "--page-size", "60"]

    result = CliRunner().invoke(clever_cmd.app, args, env={"ROSTERSYNC_CLEVER_TOKEN": server.token})

    assert result.exit_code == 0, result.output
    shape = json.loads(result.stdout)
    assert shape["counts"] == expected_counts(data).as_dict()
    assert shape["district"]["id"] == data.district_id
    sizes = data.counts()
    assert shape["requests"] == 1 + sum(_pages(sizes[kind], 60) for kind in KINDS)


def test_cli_reports_a_revoked_token_in_one_line(server: SandboxServer) -> None:
    server.state.revoke_token(server.token)
    args = ["inspect", "--base-url", server.base_url, "--token", server.token]

    result = CliRunner().invoke(clever_cmd.app, args)

    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1
    assert "HTTP 401" in result.stderr
    assert server.token not in result.output
