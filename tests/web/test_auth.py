"""Signing in and staying safe: sessions, sign-out, CSRF, throttling, invites, API tokens."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from rostersync.service.auth import MAX_FAILURES_PER_CLIENT, MAX_FAILURES_PER_EMAIL
from rostersync.web.app import SESSION_COOKIE
from tests.web.conftest import (
    DISTRICT_ADMIN,
    OTHER_ADMIN,
    PASSWORD,
    SCHOOL_ADMIN,
    WebEnv,
    csrf_of,
)
from tests.web.test_api_access import assert_problem


def test_pages_need_sign_in_and_come_back_after_it(web: WebEnv) -> None:
    browser = web.client()
    target = f"/schools/{web.own_school.id}/runs"
    answer = browser.get(target)
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/login?next={target}"
    login = browser.get(answer.headers["location"])
    assert "<title>Sign in · rostersync</title>" in login.text
    signed = browser.post(
        "/login",
        data={
            "email": "  District@Alpha.example ",
            "password": PASSWORD,
            "next": target,
            "csrf_token": csrf_of(login.text),
        },
    )
    assert (signed.status_code, signed.headers["location"]) == (303, target)
    assert browser.get(target).status_code == 200


def test_session_cookie_is_signed_httponly_and_samesite(web: WebEnv) -> None:
    browser = web.client()
    token = csrf_of(browser.get("/login").text)
    signed = browser.post(
        "/login", data={"email": DISTRICT_ADMIN, "password": PASSWORD, "csrf_token": token}
    )
    header = signed.headers["set-cookie"]
    assert header.startswith(f"{SESSION_COOKIE}=")
    assert "httponly" in header.lower()
    assert "samesite=lax" in header.lower()
    tampered = web.client()
    value = browser.cookies[SESSION_COOKIE]
    tampered.cookies.set(SESSION_COOKIE, value[:-3] + ("AAA" if value[-3:] != "AAA" else "BBB"))
    assert tampered.get("/schools").status_code == 303


def test_open_redirects_are_refused(web: WebEnv) -> None:
    browser = web.client()
    token = csrf_of(browser.get("/login").text)
    answer = browser.post(
        "/login",
        data={
            "email": DISTRICT_ADMIN,
            "password": PASSWORD,
            "next": "//evil.example/",
            "csrf_token": token,
        },
    )
    assert answer.headers["location"] == "/schools"


def test_wrong_password_and_unknown_email_get_the_same_answer(web: WebEnv) -> None:
    browser = web.client()
    token = csrf_of(browser.get("/login").text)
    wrong = browser.post(
        "/login", data={"email": DISTRICT_ADMIN, "password": "nope", "csrf_token": token}
    )
    unknown = browser.post(
        "/login", data={"email": "who@nowhere.example", "password": "x", "csrf_token": token}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert "The email or password is not right." in wrong.text
    assert "The email or password is not right." in unknown.text


def test_sign_out_ends_the_session_for_good(web: WebEnv) -> None:
    browser = web.login(SCHOOL_ADMIN)
    stolen = dict(browser.cookies)
    page = browser.get("/schools")
    assert browser.post("/logout", data={"csrf_token": csrf_of(page.text)}).status_code == 303
    assert browser.get("/schools").status_code == 303
    replay = web.client()
    replay.cookies.update(stolen)
    assert replay.get("/schools").status_code == 303


@pytest.mark.parametrize("token", [None, "", "forged-token"])
def test_forms_without_the_csrf_token_are_refused_and_change_nothing(
    web: WebEnv, token: str | None
) -> None:
    school = web.own_school
    web.state.remove_share_of_students(school.source_id, 0.4)
    web.sync()
    browser = web.login(DISTRICT_ADMIN)
    data = {} if token is None else {"csrf_token": token}
    for path in (
        f"/schools/{school.id}/confirm-removals",
        f"/schools/{school.id}/check-new-data",
        f"/districts/{web.district_id}/settings",
        "/account/tokens",
        "/logout",
    ):
        answer = browser.post(path, data={**data, "confirm": "yes", "removal_pct": "50"})
        assert answer.status_code == 403, path
        assert "did not come from this site" in answer.text
    assert web.school(school.id).status.hold_kind is not None
    assert browser.get("/schools").status_code == 200  # still signed in
    fresh = web.client()
    login_page = fresh.get("/login")
    assert login_page.status_code == 200
    forged = fresh.post("/login", data={"email": DISTRICT_ADMIN, "password": PASSWORD})
    assert forged.status_code == 403


def test_sign_in_is_throttled_after_repeated_failures(web: WebEnv) -> None:
    browser = web.client()
    token = csrf_of(browser.get("/login").text)

    def attempt(email: str, password: str) -> int:
        answer = browser.post(
            "/login", data={"email": email, "password": password, "csrf_token": token}
        )
        return answer.status_code

    assert [attempt(SCHOOL_ADMIN, "wrong") for _ in range(MAX_FAILURES_PER_EMAIL)] == [401] * 5
    throttled = browser.post(
        "/login", data={"email": SCHOOL_ADMIN, "password": PASSWORD, "csrf_token": token}
    )
    assert throttled.status_code == 429
    assert int(throttled.headers["retry-after"]) > 0
    assert "Too many failed sign-in attempts" in throttled.text
    assert attempt(OTHER_ADMIN, PASSWORD) == 303  # another account is not locked out


def test_a_success_resets_the_email_counter(web: WebEnv) -> None:
    for _ in range(MAX_FAILURES_PER_EMAIL - 1):
        browser = web.client()
        token = csrf_of(browser.get("/login").text)
        browser.post("/login", data={"email": OTHER_ADMIN, "password": "x", "csrf_token": token})
    web.login(OTHER_ADMIN)
    for _ in range(MAX_FAILURES_PER_EMAIL - 1):
        browser = web.client()
        token = csrf_of(browser.get("/login").text)
        browser.post("/login", data={"email": OTHER_ADMIN, "password": "x", "csrf_token": token})
    web.login(OTHER_ADMIN)


def test_api_tokens_are_created_shown_once_and_revoked_from_the_dashboard(web: WebEnv) -> None:
    browser = web.login(OTHER_ADMIN)
    page = browser.get("/account/tokens")
    created = browser.post(
        "/account/tokens", data={"label": "nightly export", "csrf_token": csrf_of(page.text)}
    )
    assert created.status_code == 200
    secret = created.text.split('id="new-token" class="secret" readonly value="')[1].split('"')[0]
    assert secret.startswith("rs_")
    api = web.client(headers={"Authorization": f"Bearer {secret}"})
    assert api.get("/api/v1/schools").status_code == 200
    listing = browser.get("/account/tokens").text
    assert secret not in listing
    assert "nightly export" in listing
    token_id = listing.split('action="/account/tokens/')[1].split("/revoke")[0]
    with web.store.unit_of_work() as uow:
        assert {t.token_hash for t in uow.list_api_tokens(OTHER_ADMIN)}.isdisjoint({secret})
    revoked = browser.post(
        f"/account/tokens/{token_id}/revoke", data={"csrf_token": csrf_of(listing)}
    )
    assert revoked.status_code == 303
    assert_problem(api.get("/api/v1/schools"), 401)
    assert "revoked" in browser.get("/account/tokens").text


def test_an_admin_cannot_revoke_someone_elses_token(web: WebEnv) -> None:
    with web.store.unit_of_work() as uow:
        (theirs,) = uow.list_api_tokens(DISTRICT_ADMIN)
    browser = web.login(OTHER_ADMIN)
    token = csrf_of(browser.get("/account/tokens").text)
    browser.post(f"/account/tokens/{theirs.id}/revoke", data={"csrf_token": token})
    assert web.api("district").get("/api/v1/schools").status_code == 200


def test_removing_an_admin_ends_their_access(web: WebEnv) -> None:
    browser = web.login(SCHOOL_ADMIN)
    with web.store.engine.begin() as conn:
        ids = "SELECT id FROM admins WHERE email = :e"
        conn.execute(
            text(f"DELETE FROM admin_schools WHERE admin_id IN ({ids})"), {"e": SCHOOL_ADMIN}
        )
        conn.execute(text("DELETE FROM admins WHERE email = :e"), {"e": SCHOOL_ADMIN})
    assert browser.get("/schools").status_code == 303
    assert_problem(web.api("school").get("/api/v1/schools"), 401)


def test_one_client_trying_many_emails_is_throttled(web: WebEnv) -> None:
    browser = web.client()
    token = csrf_of(browser.get("/login").text)
    for n in range(MAX_FAILURES_PER_CLIENT):
        answer = browser.post(
            "/login",
            data={"email": f"guess{n}@alpha.example", "password": "x", "csrf_token": token},
        )
        assert answer.status_code == 401
    answer = browser.post(
        "/login", data={"email": DISTRICT_ADMIN, "password": PASSWORD, "csrf_token": token}
    )
    assert answer.status_code == 429


def test_a_cookie_planted_before_sign_in_grants_nothing_after_it(web: WebEnv) -> None:
    """Session fixation: the session an attacker hands out before sign-in stays anonymous."""
    attacker = web.client()
    token = csrf_of(attacker.get("/login").text)
    planted = attacker.cookies[SESSION_COOKIE]
    domain = next(c.domain for c in attacker.cookies.jar if c.name == SESSION_COOKIE)
    victim = web.client()
    victim.cookies.set(SESSION_COOKIE, planted, domain=domain)
    answer = victim.post(
        "/login", data={"email": DISTRICT_ADMIN, "password": PASSWORD, "csrf_token": token}
    )
    assert answer.status_code == 303
    assert victim.cookies[SESSION_COOKIE] != planted
    assert victim.get("/schools").status_code == 200
    assert attacker.get("/schools").status_code == 303  # still signed out
