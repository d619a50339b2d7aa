"""The store's side of the dashboard, on SQLite and PostgreSQL: passwords, sign-in attempts,
sessions, API tokens, invites, the settings log, and paging a held change set."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rostersync.domain.changes import Change, ChangeSet, Op
from rostersync.domain.records import SchoolRecord
from rostersync.domain.roster import Account
from rostersync.domain.state import Outcome
from rostersync.service.admin_model import (
    ApiToken,
    Invite,
    LoginAttempt,
    SettingsChange,
    WebSession,
)
from rostersync.service.model import Admin, DistrictConfig, RunRecord
from rostersync.storage import SqlStore

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def seeded(url: str) -> SqlStore:
    store = SqlStore(url)
    with store.unit_of_work() as uow:
        uow.add_district(DistrictConfig("dst_1", "One", "tok", "http://x", created_at=T0))
        school = uow.upsert_school("dst_1", SchoolRecord("clever-1", "School One"))
        uow.add_admin(Admin("adm_1", "a@x.example", "dst_1"))
        uow.add_admin(Admin("adm_2", "a@x.example", "dst_1", (school.id,), notify=False))
        uow.commit()
    return store


def test_passwords_and_notify_flags(store_url: str) -> None:
    store = seeded(store_url)
    with store.unit_of_work() as uow:
        assert uow.password_hash("a@x.example") is None
        assert uow.set_password_hash("a@x.example", "$argon2id$hash") == 2
        assert uow.set_password_hash("nobody@x.example", "h") == 0
        uow.set_admin_notify("adm_1", False)
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.password_hash("a@x.example") == "$argon2id$hash"
        grants = uow.admins_by_email("a@x.example")
        assert [(a.id, a.notify) for a in grants] == [("adm_1", False), ("adm_2", False)]
    store.dispose()


def test_failures_count_since_the_last_success_per_email_but_not_per_client(
    store_url: str,
) -> None:
    store = seeded(store_url)
    with store.unit_of_work() as uow:
        for minute, ok in ((1, False), (2, False), (3, True), (4, False)):
            uow.add_login_attempt(
                LoginAttempt("a@x.example", "10.0.0.1", T0 + timedelta(minutes=minute), ok)
            )
        uow.add_login_attempt(LoginAttempt("b@x.example", "10.0.0.1", T0, False))
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.count_login_failures(email="a@x.example", client=None, since=T0) == 1
        assert uow.count_login_failures(email=None, client="10.0.0.1", since=T0) == 4
        later = T0 + timedelta(minutes=2)
        assert uow.count_login_failures(email=None, client="10.0.0.1", since=later) == 2
    store.dispose()


def test_sessions_tokens_and_invites(store_url: str) -> None:
    store = seeded(store_url)
    with store.unit_of_work() as uow:
        uow.add_web_session(WebSession("h1", "a@x.example", T0, T0 + timedelta(hours=1)))
        uow.add_api_token(ApiToken("tok_1", "a@x.example", "ci", "th1", T0))
        uow.add_invite(Invite("ih1", "a@x.example", T0, T0 + timedelta(days=7)))
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.get_web_session("h1") == WebSession(
            "h1", "a@x.example", T0, T0 + timedelta(hours=1)
        )
        uow.delete_web_session("h1")
        assert uow.api_token_by_hash("th1") == ApiToken("tok_1", "a@x.example", "ci", "th1", T0)
        uow.touch_api_token("tok_1", T0 + timedelta(minutes=5))
        assert uow.revoke_api_token("tok_1", T0 + timedelta(minutes=6))
        assert not uow.revoke_api_token("tok_1", T0 + timedelta(minutes=7))
        uow.use_invite("ih1", T0 + timedelta(minutes=1))
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.get_web_session("h1") is None
        (token,) = uow.list_api_tokens("a@x.example")
        assert token.last_used_at == T0 + timedelta(minutes=5)
        assert token.revoked_at == T0 + timedelta(minutes=6)
        assert not token.active
        invite = uow.get_invite("ih1")
        assert invite is not None and invite.used_at == T0 + timedelta(minutes=1)
    store.dispose()


def test_settings_log_newest_first(store_url: str) -> None:
    store = seeded(store_url)
    with store.unit_of_work() as uow:
        uow.add_settings_change(SettingsChange("dst_1", "a", T0, "removal_pct", "10", "20"))
        uow.add_settings_change(
            SettingsChange("dst_1", "a", T0 + timedelta(seconds=1), "timezone", "UTC", "Asia/Tokyo")
        )
        uow.commit()
    with store.unit_of_work() as uow:
        assert [c.field for c in uow.list_settings_changes("dst_1")] == ["timezone", "removal_pct"]
        assert uow.list_settings_changes("dst_1", limit=1)[0].new_value == "Asia/Tokyo"
    store.dispose()


def test_held_change_set_pages_and_filters(store_url: str) -> None:
    store = seeded(store_url)
    students = [
        Change("students", Op.REMOVED, (f"s{i:02}",), before=Account(f"s{i:02}", ("student",)))
        for i in range(12)
    ]
    classes = [Change("enrollments", Op.ADDED, ("c1", f"s{i:02}")) for i in range(3)]
    with store.unit_of_work() as uow:
        school = uow.list_schools("dst_1")[0]
        run = RunRecord("run_1", "dst_1", school.id, "manual", T0, T0, Outcome.HELD)
        uow.add_run(run, held=ChangeSet(school.source_id, students + classes))
        uow.commit()
    with store.unit_of_work() as uow:
        total, page = uow.held_changes_page("run_1", entity=None, op=None, offset=10, limit=4)
        assert total == 15
        assert [c.key for c in page] == [("s10",), ("s11",), ("c1", "s00"), ("c1", "s01")]
        total, page = uow.held_changes_page(
            "run_1", entity="students", op="removed", offset=0, limit=100
        )
        assert total == 12
        assert page[0].before == Account("s00", ("student",))
        assert (
            uow.held_changes_page("run_1", entity="students", op="added", offset=0, limit=5)[0] == 0
        )
    store.dispose()
