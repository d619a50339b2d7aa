"""District settings over the API: validation of every field, the change log, who is
notified (and that the hold email follows it), and the thresholds taking effect."""

from __future__ import annotations

from tests.web.conftest import DISTRICT_ADMIN, SCHOOL_ADMIN, WebEnv
from tests.web.test_api_access import assert_problem


def settings_url(web: WebEnv) -> str:
    return f"/api/v1/districts/{web.district_id}/settings"


def test_invalid_settings_are_refused_field_by_field_and_nothing_changes(web: WebEnv) -> None:
    api = web.api("district")
    before = api.get(settings_url(web)).json()
    bad = api.put(
        settings_url(web),
        json={"policy": {"removal_pct": 150, "max_contacts": -1}, "interval_s": 5},
    )
    fields = {e["field"] for e in assert_problem(bad, 422)["errors"]}
    assert fields == {"body.policy.removal_pct", "body.policy.max_contacts", "body.interval_s"}
    unknown_type = api.put(
        settings_url(web), json={"policy": {"blocked_contact_types": ["Neighbour"]}}
    )
    errors = assert_problem(unknown_type, 422)["errors"]
    assert errors == [
        {
            "field": "blocked_contact_types",
            "message": "Unknown contact types: Neighbour. Use Emergency, Family, Other, "
            "Parent/Guardian, Primary, Secondary.",
        }
    ]
    zone = api.put(settings_url(web), json={"timezone": "Mars/Olympus"})
    assert assert_problem(zone, 422)["errors"][0]["field"] == "timezone"
    assert_problem(api.put(settings_url(web), json={"colour": "blue"}), 422)
    assert api.get(settings_url(web)).json() == before


def test_a_change_is_saved_logged_and_shown(web: WebEnv) -> None:
    api = web.api("district")
    answer = api.put(
        settings_url(web),
        json={
            "policy": {"removal_pct": 25, "blocked_contact_types": ["Emergency"]},
            "interval_s": 7200,
            "timezone": "America/Chicago",
        },
    )
    assert answer.status_code == 200, answer.text
    data = answer.json()
    assert data["policy"]["removal_pct"] == 25
    assert data["policy"]["blocked_contact_types"] == ["Emergency"]
    assert data["policy"]["removal_min"] == 10  # left out: kept
    assert (data["interval_s"], data["timezone"]) == (7200, "America/Chicago")
    logged = {(c["field"], c["old_value"], c["new_value"]) for c in data["changes"]}
    assert logged == {
        ("removal_pct", "10", "25"),
        ("blocked_contact_types", "Emergency, Secondary", "Emergency"),
        ("interval_s", "86400", "7200"),
        ("timezone", "UTC", "America/Chicago"),
    }
    assert {c["actor"] for c in data["changes"]} == {DISTRICT_ADMIN}
    again = api.put(settings_url(web), json={"policy": {"removal_pct": 25}}).json()
    assert len(again["changes"]) == 4  # an unchanged value is not logged


def test_notify_choice_decides_who_gets_the_hold_email(web: WebEnv) -> None:
    api = web.api("district")
    admins = {n["email"]: n for n in api.get(settings_url(web)).json()["notify"]}
    assert set(admins) == {DISTRICT_ADMIN, SCHOOL_ADMIN}
    muted = api.put(
        settings_url(web),
        json={"notify": [{"admin_id": admins[DISTRICT_ADMIN]["admin_id"], "notify": False}]},
    ).json()
    assert {n["email"]: n["notify"] for n in muted["notify"]} == {
        DISTRICT_ADMIN: False,
        SCHOOL_ADMIN: True,
    }
    assert ("notify " + DISTRICT_ADMIN, "on", "off") in {
        (c["field"], c["old_value"], c["new_value"]) for c in muted["changes"]
    }
    web.state.remove_share_of_students(web.own_school.source_id, 0.4)
    web.sync()
    (message,) = web.mailer.sent
    assert message.recipients == (SCHOOL_ADMIN,)
    stranger = api.put(
        settings_url(web), json={"notify": [{"admin_id": "adm_elsewhere", "notify": True}]}
    )
    assert assert_problem(stranger, 422)["errors"][0]["field"] == "notify"


def test_a_lower_threshold_takes_effect_on_the_next_sync(web: WebEnv) -> None:
    api = web.api("district")
    api.put(settings_url(web), json={"policy": {"max_contacts": 1}}).raise_for_status()
    web.sync()
    kinds = {s["hold"]["kind"] for s in api.get("/api/v1/schools").json()["schools"] if s["hold"]}
    assert kinds == {"data_configuration"}
