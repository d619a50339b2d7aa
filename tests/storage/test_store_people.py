"""Admins, admin actions and the email outbox."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from rostersync.service.model import Admin, AdminAction, OutboxMessage, SchoolRow
from rostersync.storage import SqlStore
from rostersync.storage.errors import NotFoundError

T0 = datetime(2024, 9, 2, 7, 30, tzinfo=UTC)


def test_a_school_is_answered_for_by_its_own_and_its_district_admins(
    store: SqlStore, make_school: Callable[..., SchoolRow]
) -> None:
    a, b = make_school("sA"), make_school("sB")
    other = make_school("sC", district_id="d2")
    admins = [
        Admin("ad-a", "ann@x", "d1", (a.id,)),
        Admin("ad-ab", "bob@x", "d1", (b.id, a.id)),
        Admin("ad-b", "cid@x", "d1", (b.id,)),
        Admin("ad-d1", "dee@x", "d1"),
        Admin("ad-d2", "eve@x", "d2"),
        Admin("ad-c", "fay@x", "d2", (other.id,)),
    ]
    with store.unit_of_work() as uow:
        for admin in admins:
            uow.add_admin(admin)
        uow.commit()
    with store.unit_of_work() as uow:
        found = uow.admins_for_school(a.id)
        assert [x.id for x in found] == ["ad-a", "ad-ab", "ad-d1"]
        assert found[1].school_ids == tuple(sorted((a.id, b.id)))
        assert found[2].is_district_admin
        assert [x.id for x in uow.list_admins("d2")] == ["ad-d2", "ad-c"]
        assert len(uow.list_admins()) == len(admins)
        with pytest.raises(NotFoundError, match="no school"):
            uow.admins_for_school("sch_missing")


def test_admin_actions_are_listed_newest_first(
    store: SqlStore, make_school: Callable[..., SchoolRow]
) -> None:
    school, other = make_school("sA"), make_school("sB")
    actions = [
        AdminAction(school.id, "ann@x", "confirm_removals", T0 + timedelta(minutes=m), "applied")
        for m in (0, 10, 5)
    ]
    with store.unit_of_work() as uow:
        for action in actions:
            uow.record_action(action)
        uow.record_action(AdminAction(other.id, "bo@x", "reconnect", T0, "failed", "401"))
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.list_actions(school.id) == [actions[1], actions[2], actions[0]]
        assert uow.list_actions(school.id, limit=1) == [actions[1]]
        assert uow.list_actions(other.id) == [
            AdminAction(other.id, "bo@x", "reconnect", T0, "failed", "401")
        ]


def message(message_id: str, dedupe_key: str, minutes: int = 0) -> OutboxMessage:
    return OutboxMessage(
        id=message_id,
        kind="hold_entered",
        recipients=("a@x", "b@x"),
        payload={"school": "Oak", "counts": {"students": 3}, "kinds": ["data_removals"]},
        dedupe_key=dedupe_key,
        created_at=T0 + timedelta(minutes=minutes),
    )


def test_the_outbox_ignores_a_second_message_with_the_same_dedupe_key(store: SqlStore) -> None:
    with store.unit_of_work() as uow:
        uow.enqueue_email(message("m1", "hold:s1:1"))
        uow.enqueue_email(message("m2", "hold:s1:1", minutes=1))
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.pending_emails() == [message("m1", "hold:s1:1")]


def test_pending_emails_come_oldest_first_until_sent(store: SqlStore) -> None:
    with store.unit_of_work() as uow:
        for message_id, minutes in (("m3", 3), ("m1", 1), ("m2", 2)):
            uow.enqueue_email(message(message_id, f"k{message_id}", minutes))
        uow.commit()
    with store.unit_of_work() as uow:
        assert [m.id for m in uow.pending_emails()] == ["m1", "m2", "m3"]
        assert [m.id for m in uow.pending_emails(limit=1)] == ["m1"]
        uow.mark_email_failed("m1", "SMTP said 451.")
        uow.mark_email_sent("m2", T0 + timedelta(hours=1))
        uow.commit()
    with store.unit_of_work() as uow:
        pending = uow.pending_emails()
        assert [m.id for m in pending] == ["m1", "m3"]
        assert (pending[0].attempts, pending[0].last_error) == (1, "SMTP said 451.")
        with pytest.raises(NotFoundError, match="no outbox message"):
            uow.mark_email_sent("m9", T0)
