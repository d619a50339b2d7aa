"""Who may call what: every API endpoint, for every role, on its own and on other scopes.

Roles: the district admin of district A, the school admin of A's first school, the district
admin of district B, and a caller without a token. Every school here is healthy, so an
action that passes the scope check is refused by the hold rules (409, nothing synced),
while one outside the scope answers 404, the same as for an id that does not exist.
"""

from __future__ import annotations

from typing import Any

import pytest

from rostersync.web.problems import PROBLEM_JSON
from tests.web.conftest import WebEnv

SCHOOL_ENDPOINTS: list[tuple[str, str, Any, int]] = [
    # method, path below /api/v1/schools/{school}, JSON body, status when allowed
    ("GET", "/report", None, 200),
    ("GET", "/changes", None, 200),
    ("GET", "/runs", None, 200),
    ("POST", "/actions/check-new-data", {"confirm": True}, 409),
    ("POST", "/actions/confirm-removals", {}, 409),
    ("POST", "/actions/reconnect", None, 409),
]
# Which schools each role sees: own (A's first), sibling (A's second), other (B's only).
SEES = {
    "district": {"own", "sibling"},
    "school": {"own"},
    "other": {"other"},
}
MANAGES = {"district": "a", "school": None, "other": "b"}


def school_ref(web: WebEnv, which: str, by_clever_id: bool) -> str:
    school = {"own": web.own_school, "sibling": web.sibling_school, "other": web.other_school}[
        which
    ]
    return school.source_id if by_clever_id else school.id


def assert_problem(answer: Any, status: int) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith(PROBLEM_JSON)
    body = answer.json()
    assert body["status"] == status
    assert body["type"].startswith("urn:rostersync:problem:")
    assert body["detail"].endswith(".")
    return body


@pytest.mark.parametrize("by_clever_id", [False, True], ids=["internal-id", "clever-id"])
@pytest.mark.parametrize("which", ["own", "sibling", "other"])
@pytest.mark.parametrize("role", ["district", "school", "other"])
@pytest.mark.parametrize(("method", "path", "body", "allowed"), SCHOOL_ENDPOINTS)
def test_school_endpoints_answer_only_inside_the_callers_scope(
    shared_web: WebEnv,
    role: str,
    which: str,
    by_clever_id: bool,
    method: str,
    path: str,
    body: Any,
    allowed: int,
) -> None:
    ref = school_ref(shared_web, which, by_clever_id)
    answer = shared_web.api(role).request(method, f"/api/v1/schools/{ref}{path}", json=body)
    if which in SEES[role]:
        assert answer.status_code == allowed, answer.text
        if allowed == 409:
            assert "not available" in assert_problem(answer, 409)["detail"]
    else:
        detail = assert_problem(answer, 404)["detail"]
        assert ref in detail


@pytest.mark.parametrize(("method", "path", "body", "allowed"), SCHOOL_ENDPOINTS)
def test_school_endpoints_need_a_token(
    shared_web: WebEnv, method: str, path: str, body: Any, allowed: int
) -> None:
    ref = shared_web.own_school.id
    answer = shared_web.api(None).request(method, f"/api/v1/schools/{ref}{path}", json=body)
    assert_problem(answer, 401)
    assert answer.headers["www-authenticate"].startswith("Bearer")


def test_an_unknown_token_is_refused(shared_web: WebEnv) -> None:
    client = shared_web.client(headers={"Authorization": "Bearer rs_not-a-real-token"})
    assert_problem(client.get("/api/v1/schools"), 401)
    basic = shared_web.client(headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert_problem(basic.get("/api/v1/schools"), 401)


@pytest.mark.parametrize("role", ["district", "school", "other"])
def test_school_list_holds_exactly_the_callers_schools(shared_web: WebEnv, role: str) -> None:
    answer = shared_web.api(role).get("/api/v1/schools")
    assert answer.status_code == 200
    ids = {s["id"] for s in answer.json()["schools"]}
    expected = {
        "district": {s.id for s in shared_web.schools()},
        "school": {shared_web.own_school.id},
        "other": {shared_web.other_school.id},
    }[role]
    assert ids == expected


def test_school_list_filters_by_state(shared_web: WebEnv) -> None:
    api = shared_web.api("district")
    assert len(api.get("/api/v1/schools", params={"state": "healthy"}).json()["schools"]) == 3
    assert api.get("/api/v1/schools", params={"state": "on_hold"}).json()["schools"] == []
    assert_problem(api.get("/api/v1/schools", params={"state": "asleep"}), 422)


def test_school_list_without_a_token_is_401(shared_web: WebEnv) -> None:
    assert_problem(shared_web.api(None).get("/api/v1/schools"), 401)


@pytest.mark.parametrize("method", ["GET", "PUT"])
@pytest.mark.parametrize("district", ["a", "b"])
@pytest.mark.parametrize("role", ["district", "school", "other", None])
def test_district_settings_only_for_that_districts_district_admins(
    shared_web: WebEnv, role: str | None, district: str, method: str
) -> None:
    district_id = shared_web.district_id if district == "a" else shared_web.other_district_id
    answer = shared_web.api(role).request(
        method, f"/api/v1/districts/{district_id}/settings", json={} if method == "PUT" else None
    )
    if role is None:
        assert_problem(answer, 401)
    elif MANAGES[role] == district:
        assert answer.status_code == 200, answer.text
        assert answer.json()["district_id"] == district_id
    else:
        assert district_id in assert_problem(answer, 404)["detail"]


def test_unknown_school_and_district_are_404(shared_web: WebEnv) -> None:
    api = shared_web.api("district")
    assert_problem(api.get("/api/v1/schools/sch_nope/report"), 404)
    assert_problem(api.get("/api/v1/districts/dst_nope/settings"), 404)
    assert_problem(api.get("/api/v1/nothing-here"), 404)


def test_wrong_method_is_a_problem_with_allow(shared_web: WebEnv) -> None:
    answer = shared_web.api("district").delete("/api/v1/schools")
    assert_problem(answer, 405)
    assert "GET" in answer.headers["allow"]


def test_openapi_document_describes_every_endpoint(shared_web: WebEnv) -> None:
    doc = shared_web.client().get("/api/v1/openapi.json").json()
    paths = doc["paths"]
    assert set(paths) == {
        "/api/v1/schools",
        "/api/v1/schools/{school}/report",
        "/api/v1/schools/{school}/changes",
        "/api/v1/schools/{school}/runs",
        "/api/v1/schools/{school}/actions/check-new-data",
        "/api/v1/schools/{school}/actions/confirm-removals",
        "/api/v1/schools/{school}/actions/reconnect",
        "/api/v1/districts/{district}/settings",
    }
    assert set(paths["/api/v1/districts/{district}/settings"]) == {"get", "put"}
    assert doc["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    report = paths["/api/v1/schools/{school}/report"]["get"]
    assert PROBLEM_JSON in report["responses"]["404"]["content"]
