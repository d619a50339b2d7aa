"""The API's hold flows against the sandbox: each hold kind's actions through to their end
state, the held change list's paging and filters, and the confirmation ``check-new-data``
needs."""

from __future__ import annotations

from tests.web.conftest import WebEnv
from tests.web.test_api_access import assert_problem


def report(web: WebEnv, ref: str) -> dict:
    answer = web.api("district").get(f"/api/v1/schools/{ref}/report")
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_removals_hold_pages_filters_and_confirms_the_reviewed_run(web: WebEnv) -> None:
    school = web.own_school
    removed = web.state.remove_share_of_students(school.source_id, 0.4)
    web.sync()
    data = report(web, school.source_id)
    assert data["school"]["hold"]["kind"] == "data_removals"
    assert data["actions"] == ["check_new_data", "confirm_removals"]
    run_id = data["held_run"]["id"]
    api = web.api("school")

    page = api.get(
        f"/api/v1/schools/{school.id}/changes",
        params={"entity": "students", "operation": "removed", "limit": 7},
    ).json()
    assert page["run_id"] == run_id
    assert page["total"] == len(removed)
    assert len(page["items"]) == 7
    seen = []
    for offset in range(0, page["total"], 50):
        chunk = api.get(
            f"/api/v1/schools/{school.id}/changes",
            params={"entity": "students", "operation": "removed", "offset": offset, "limit": 50},
        ).json()
        seen += [item["key"][0] for item in chunk["items"]]
    assert sorted(seen) == sorted(removed)
    assert_problem(api.get(f"/api/v1/schools/{school.id}/changes", params={"limit": 0}), 422)
    assert_problem(api.get(f"/api/v1/schools/{school.id}/changes", params={"entity": "pets"}), 422)

    stale = api.post(
        f"/api/v1/schools/{school.id}/actions/confirm-removals", json={"run_id": "run_old"}
    )
    assert "no longer matches" in assert_problem(stale, 409)["detail"]
    assert_problem(api.post(f"/api/v1/schools/{school.id}/actions/reconnect"), 409)

    done = api.post(
        f"/api/v1/schools/{school.id}/actions/confirm-removals", json={"run_id": run_id}
    )
    assert done.status_code == 200, done.text
    assert done.json()["outcome"] == "applied"
    after = report(web, school.id)
    assert after["school"]["state"] == "healthy"
    assert after["school"]["counts"]["students"] == data["school"]["counts"]["students"] - len(
        removed
    )
    assert [h["action"] for h in after["history"]][:3] == [
        "confirm_removals",
        "reconnect",
        "confirm_removals",
    ]
    assert after["history"][0]["actor"] == "school@alpha.example"
    empty = api.get(f"/api/v1/schools/{school.id}/changes").json()
    assert empty == {"run_id": None, "total": 0, "offset": 0, "limit": 100, "items": []}


def test_configuration_hold_check_new_data_needs_confirm_then_holds_then_applies(
    web: WebEnv,
) -> None:
    school = web.own_school
    student = sorted(web.state.users_of_school(school.source_id, "student"))[0]
    added = web.state.add_contacts(student, 6)
    web.sync()
    assert report(web, school.id)["school"]["hold"]["kind"] == "data_configuration"
    api = web.api("district")
    url = f"/api/v1/schools/{school.id}/actions/check-new-data"

    assert "confirm" in assert_problem(api.post(url, json={"confirm": False}), 422)["detail"]
    assert_problem(api.post(url, json={}), 422)
    assert_problem(api.post(url), 422)
    assert_problem(api.post(f"/api/v1/schools/{school.id}/actions/confirm-removals"), 409)

    still = api.post(url, json={"confirm": True})
    assert still.status_code == 200, still.text
    assert still.json()["outcome"] == "held"
    assert still.json()["message"].startswith("Still on hold (data_configuration)")

    for contact in added:
        web.state.delete_user(contact)
    fixed = api.post(url, json={"confirm": True}).json()
    assert fixed["outcome"] == "applied"
    assert fixed["run"]["outcome"] in ("applied", "unchanged")
    assert report(web, school.id)["school"]["state"] == "healthy"


def test_disconnected_hold_reconnect_fails_until_shared_again(web: WebEnv) -> None:
    school = web.sibling_school
    web.state.unshare_school(school.source_id)
    web.sync()
    data = report(web, school.id)
    assert data["school"]["hold"]["kind"] == "disconnected"
    assert data["actions"] == ["reconnect"]
    api = web.api("district")
    url = f"/api/v1/schools/{school.source_id}/actions/reconnect"

    still = api.post(url).json()
    assert still["outcome"] == "failed"
    assert "no longer in the data shared" in still["message"]
    assert report(web, school.id)["school"]["hold"]["kind"] == "disconnected"

    web.state.share_school(school.source_id)
    done = api.post(url).json()
    assert done["outcome"] == "applied"
    assert report(web, school.id)["school"]["state"] == "healthy"


def test_runs_endpoint_lists_runs_newest_first(web: WebEnv) -> None:
    school = web.own_school
    web.state.remove_share_of_sections(school.source_id, 0.05)
    web.sync()
    runs = web.api("district").get(f"/api/v1/schools/{school.id}/runs").json()["runs"]
    assert [r["outcome"] for r in runs] == ["applied", "applied"]
    assert runs[0]["changes"]["classes"]["removed"] >= 1
    assert runs[0]["finished_at"] >= runs[1]["finished_at"]
    limited = web.api("district").get(f"/api/v1/schools/{school.id}/runs", params={"limit": 1})
    assert len(limited.json()["runs"]) == 1
