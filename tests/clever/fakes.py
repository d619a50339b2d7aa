"""A tiny in-memory Clever (an ``httpx.MockTransport`` handler) and fake time for client tests.

``FakeClever`` serves the v3.0 list envelope with id-ordered paging: ``next`` carries
``limit`` and ``starting_after=<last id>`` and is present only while records remain. Tests
queue faults per path with ``fail(...)``; every request is logged.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

TOKEN = "0123456789abcdef0123456789abcdef01234567"
BASE_URL = "https://clever.test"
EPOCH = 1_700_000_000.0
KINDS = ("schools", "users", "sections", "terms", "courses")

Handler = Callable[[httpx.Request], httpx.Response]


def oid(n: int) -> str:
    """A 24-hex id that sorts like ``n`` (as Clever's ObjectIDs sort by creation)."""
    return f"{n:024x}"


def item(record: dict[str, Any], kind: str) -> dict[str, Any]:
    return {"data": record, "uri": f"/v3.0/{kind}/{record.get('id', '')}"}


@dataclass
class FakeTime:
    """Monotonic and wall clocks that move only when the code under test sleeps."""

    now: float = 0.0
    sleeps: list[float] = field(default_factory=list)

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def monotonic(self) -> float:
        return self.now

    def wall(self) -> float:
        return EPOCH + self.now


@dataclass
class FakeClever:
    records: dict[str, list[dict[str, Any]]] = field(
        default_factory=lambda: {kind: [] for kind in KINDS}
    )
    district: dict[str, Any] = field(
        default_factory=lambda: {"id": oid(999), "name": "Test District", "state": "running"}
    )
    token: str = TOKEN
    requests: list[httpx.Request] = field(default_factory=list)
    faults: list[tuple[str, Handler]] = field(default_factory=list)
    next_on_full_page: bool = False
    """Send ``next`` after every full page, as a server that does not look ahead would."""

    def fail(self, path_part: str, response: Handler | httpx.Response, count: int = 1) -> None:
        """Answer the next ``count`` requests whose url contains ``path_part`` this way."""
        handler = response if callable(response) else (lambda _req, r=response: r)
        self.faults.extend([(path_part, handler)] * count)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def paths(self) -> list[str]:
        return [str(r.url.raw_path, "ascii") for r in self.requests]

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        for index, (part, handler) in enumerate(self.faults):
            if part in str(request.url):
                del self.faults[index]
                return handler(request)
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return httpx.Response(401, json={"message": "Unauthorized"})
        return self.route(request)

    def route(self, request: httpx.Request) -> httpx.Response:
        parts = request.url.path.strip("/").split("/")
        if parts[:2] == ["v3.0", "districts"] and len(parts) == 2:
            return httpx.Response(200, json={"data": [item(self.district, "districts")]})
        if len(parts) == 2 and parts[1] in self.records:
            return self.page(parts[1], request.url.params)
        if len(parts) == 3 and parts[1] in self.records:
            for record in self.records[parts[1]]:
                if record.get("id") == parts[2]:
                    return httpx.Response(200, json={"data": record})
        return httpx.Response(404, json={"message": "Resource not found"})

    def page(self, kind: str, params: httpx.QueryParams) -> httpx.Response:
        limit = int(params.get("limit", "100"))
        if limit > 10_000:
            return httpx.Response(413, json={"message": "limit too large"})
        after = params.get("starting_after", "")
        rows = sorted(self.records[kind], key=lambda r: r.get("id") or "")
        rows = [r for r in rows if (r.get("id") or "") > after] if after else rows
        chunk = rows[:limit]
        links = [{"rel": "self", "uri": f"/v3.0/{kind}?limit={limit}"}]
        if len(rows) > limit or (self.next_on_full_page and chunk and len(chunk) == limit):
            cursor = quote(str(chunk[-1]["id"]))
            links.append(
                {"rel": "next", "uri": f"/v3.0/{kind}?limit={limit}&starting_after={cursor}"}
            )
        return httpx.Response(200, json={"data": [item(r, kind) for r in chunk], "links": links})


def student(n: int, **extra: Any) -> dict[str, Any]:
    roles = {"student": {"school": oid(1), "schools": [oid(1)], "grade": "5", "sis_id": f"s{n}"}}
    return {"id": oid(n), "name": {"first": "Stu", "last": f"Dent{n}"}, "roles": roles, **extra}


def teacher(n: int, **extra: Any) -> dict[str, Any]:
    roles = {"teacher": {"school": oid(1), "schools": [oid(1)], "sis_id": f"t{n}"}}
    record = {"id": oid(n), "email": f"t{n}@example.org", "name": {"first": "T", "last": f"{n}"}}
    return {**record, "roles": roles, **extra}
