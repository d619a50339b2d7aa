"""The roster tables: load_roster and apply_changes on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from rostersync.domain.changes import Change, ChangeSet, Op, apply_changes, diff
from rostersync.domain.roster import Account, ClassInfo, LinkInfo, SchoolRoster
from rostersync.service.model import SchoolRow
from rostersync.storage import SqlStore
from rostersync.storage.tables import accounts, classes, contact_links, memberships

MakeSchool = Callable[..., SchoolRow]


def student(source_id: str, first: str = "Ann", roles: tuple[str, ...] = ("student",)) -> Account:
    return Account(source_id, roles, first_name=first, last_name="Lee", email=f"{source_id}@x")


def roster(school: SchoolRow, *people: tuple[Account, str], **parts: Any) -> SchoolRoster:
    """A roster for ``school`` linking each (account, role)."""
    out = SchoolRoster(school_id=school.id, **parts)
    for account, role in people:
        out.accounts[account.source_id] = account
        out.links.add((account.source_id, role))
    return out


def apply(store: SqlStore, school: SchoolRow, change_set: ChangeSet) -> int:
    with store.unit_of_work() as uow:
        current = uow.get_school(school.id)
        assert current is not None
        written = uow.apply_changes(current, change_set)
        uow.commit()
    return written


def sync_to(store: SqlStore, school: SchoolRow, desired: SchoolRoster) -> int:
    """Apply whatever it takes for the school's stored roster to become ``desired``."""
    return apply(store, school, diff(load(store, school), desired))


def load(store: SqlStore, school: SchoolRow) -> SchoolRoster:
    with store.unit_of_work() as uow:
        return uow.load_roster(school.id)


def account_row(store: SqlStore, district_id: str, source_id: str) -> Any:
    with store.unit_of_work() as uow:
        stmt = select(accounts).where(
            accounts.c.district_id == district_id, accounts.c.source_id == source_id
        )
        return uow.connection.execute(stmt).one()


def version(store: SqlStore, school: SchoolRow) -> int:
    with store.unit_of_work() as uow:
        row = uow.get_school(school.id)
        assert row is not None
        return row.roster_version


def test_a_new_school_has_an_empty_roster(store: SqlStore, make_school: MakeSchool) -> None:
    school = make_school()
    assert load(store, school) == SchoolRoster(school_id=school.id)


def test_sql_apply_matches_the_pure_apply_on_a_mixed_change_set(
    store: SqlStore, make_school: MakeSchool
) -> None:
    a, b = make_school("sA"), make_school("sB")
    amy, bob, cat = student("amy"), student("bob"), student("cat")
    teacher_parent = Account("tp", ("teacher", "contact"), first_name="Tess", email="tp@x")
    dan = student("dan")
    first = roster(
        a,
        (amy, "student"),
        (bob, "student"),
        (cat, "student"),
        (teacher_parent, "teacher"),
        (teacher_parent, "contact"),
        classes={"c1": ClassInfo("c1", "Math"), "c2": ClassInfo("c2", "Art")},
        memberships={("c1", "amy", "student"), ("c1", "tp", "teacher"), ("c2", "bob", "student")},
        contact_links={("tp", "amy"): LinkInfo("Parent", "Parent/Guardian")},
    )
    sync_to(store, a, first)
    # bob is also at school B, so he stays active when A drops him.
    sync_to(store, b, roster(b, (bob, "student"), (dan, "student")))

    second = roster(
        a,
        (student("amy", first="Amy"), "student"),  # updated
        (cat, "student"),
        (teacher_parent, "contact"),  # loses the teacher role, keeps the contact one
        (dan, "student"),  # added here, already linked at B
        (student("eve"), "student"),  # new
        classes={"c1": ClassInfo("c1", "Math 2", period="1"), "c3": ClassInfo("c3", "Gym")},
        memberships={("c1", "amy", "student"), ("c3", "dan", "student")},
        contact_links={
            ("tp", "amy"): LinkInfo("Parent", "Primary"),
            ("tp", "cat"): LinkInfo("Aunt/Uncle", "Family"),
        },
    )
    before = load(store, a)
    change_set = diff(before, second)
    assert {c.op for c in change_set.changes} == set(Op)

    apply(store, a, change_set)

    assert load(store, a) == apply_changes(before, change_set) == second
    assert account_row(store, "d1", "bob").active is True
    assert load(store, b).links == {("bob", "student"), ("dan", "student")}


def test_an_account_removed_from_its_only_school_is_deactivated_then_restored(
    store: SqlStore, make_school: MakeSchool
) -> None:
    school = make_school()
    amy = student("amy")
    sync_to(store, school, roster(school, (amy, "student")))
    first = account_row(store, "d1", "amy")

    before = datetime.now(UTC)
    sync_to(store, school, roster(school))
    after = datetime.now(UTC)
    gone = account_row(store, "d1", "amy")
    assert (gone.id, gone.active) == (first.id, False)
    # The time of the apply, in UTC, to the microsecond (PostgreSQL gets it as JSON text).
    assert gone.deactivated_at is not None and gone.deactivated_at.tzinfo is not None
    assert before <= gone.deactivated_at <= after
    assert load(store, school).accounts == {}

    back = student("amy", first="Amelia")
    sync_to(store, school, roster(school, (back, "student")))
    restored = account_row(store, "d1", "amy")
    assert (restored.id, restored.active, restored.deactivated_at) == (first.id, True, None)
    assert load(store, school).accounts == {"amy": back}


def test_an_account_in_two_schools_stays_active_when_removed_from_one(
    store: SqlStore, make_school: MakeSchool
) -> None:
    a, b = make_school("sA"), make_school("sB")
    amy = student("amy")
    sync_to(store, a, roster(a, (amy, "student")))
    sync_to(store, b, roster(b, (amy, "student")))

    sync_to(store, a, roster(a))

    row = account_row(store, "d1", "amy")
    assert (row.active, row.deactivated_at) == (True, None)
    assert load(store, b).accounts == {"amy": amy}
    assert load(store, a).links == set()


def test_accounts_are_district_wide_so_an_update_shows_in_every_school(
    store: SqlStore, make_school: MakeSchool
) -> None:
    a, b = make_school("sA"), make_school("sB")
    sync_to(store, a, roster(a, (student("amy"), "student")))
    sync_to(store, b, roster(b, (student("amy"), "student")))

    renamed = student("amy", first="Amelia")
    sync_to(store, a, roster(a, (renamed, "student")))

    assert load(store, b).accounts == {"amy": renamed}


def test_rows_written_counts_each_inserted_updated_and_deleted_row(
    store: SqlStore, make_school: MakeSchool
) -> None:
    school = make_school()
    sync_to(store, school, roster(school, (student("old"), "student")))
    change_set = ChangeSet(
        school.id,
        [
            Change("students", Op.ADDED, ("new1",), after=student("new1")),
            Change("students", Op.ADDED, ("new2",), after=student("new2")),
            Change("classes", Op.ADDED, ("c1",), after=ClassInfo("c1", "Math")),
            Change("students", Op.REMOVED, ("old",), before=student("old")),
        ],
    )
    # 2 accounts + 2 links inserted, 1 class inserted, 1 link deleted, 1 account deactivated.
    assert apply(store, school, change_set) == 7
    # Applying it again changes nothing: the same links and values are there already.
    assert apply(store, school, change_set) == 0


def test_an_empty_change_set_writes_nothing_and_keeps_the_version(
    store: SqlStore, make_school: MakeSchool
) -> None:
    school = make_school()
    assert apply(store, school, ChangeSet(school.id)) == 0
    assert version(store, school) == 0


def test_each_applied_change_set_bumps_the_roster_version(
    store: SqlStore, make_school: MakeSchool
) -> None:
    school = make_school()
    sync_to(store, school, roster(school, (student("amy"), "student")))
    sync_to(store, school, roster(school, (student("bob"), "student")))
    assert version(store, school) == 2


def test_a_removed_class_is_archived_and_comes_back_with_new_values(
    store: SqlStore, make_school: MakeSchool
) -> None:
    school = make_school()
    sync_to(store, school, roster(school, classes={"c1": ClassInfo("c1", "Math")}))
    assert sync_to(store, school, roster(school)) == 1

    with store.unit_of_work() as uow:
        archived = uow.connection.execute(select(classes.c.archived, classes.c.name)).one()
    assert tuple(archived) == (True, "Math")
    assert load(store, school).classes == {}

    back = ClassInfo("c1", "Math II", subject="math")
    sync_to(store, school, roster(school, classes={"c1": back}))
    with store.unit_of_work() as uow:
        assert uow.connection.execute(select(classes.c.archived)).scalars().all() == [False]
    assert load(store, school).classes == {"c1": back}


def test_a_class_that_comes_back_unchanged_is_unarchived(
    store: SqlStore, make_school: MakeSchool
) -> None:
    school = make_school()
    math = roster(school, classes={"c1": ClassInfo("c1", "Math")})
    sync_to(store, school, math)
    sync_to(store, school, roster(school))
    assert sync_to(store, school, math) == 1
    assert load(store, school) == math


def test_removed_memberships_and_contact_links_are_deleted(
    store: SqlStore, make_school: MakeSchool
) -> None:
    school = make_school()
    amy, mom = student("amy"), Account("mom", ("contact",), first_name="Mo")
    full = roster(
        school,
        (amy, "student"),
        (mom, "contact"),
        classes={"c1": ClassInfo("c1", "Math")},
        memberships={("c1", "amy", "student")},
        contact_links={("mom", "amy"): LinkInfo("Parent", "Parent/Guardian")},
    )
    sync_to(store, school, full)
    sync_to(
        store,
        school,
        roster(school, (amy, "student"), (mom, "contact"), classes=dict(full.classes)),
    )
    with store.unit_of_work() as uow:
        for table in (memberships, contact_links):
            assert uow.connection.execute(select(table)).all() == []


def test_checkpoint_runs_mid_apply_inside_the_transaction(
    store: SqlStore, make_school: MakeSchool
) -> None:
    school = make_school()
    desired = roster(
        school,
        (student("amy"), "student"),
        classes={"c1": ClassInfo("c1", "Math")},
        memberships={("c1", "amy", "student")},
    )
    points: list[str] = []

    def crash(point: str) -> None:
        points.append(point)
        raise RuntimeError("worker died")

    with store.unit_of_work() as uow, pytest.raises(RuntimeError, match="worker died"):
        uow.apply_changes(school, diff(SchoolRoster(school.id), desired), crash)

    assert points == ["mid_apply"]
    assert load(store, school) == SchoolRoster(school.id)
    assert version(store, school) == 0


def test_a_change_set_of_100k_rows_applies_in_bulk(
    store: SqlStore, make_school: MakeSchool
) -> None:
    school = make_school()
    desired = SchoolRoster(school.id)
    for i in range(40_000):
        account = student(f"u{i:05d}")
        desired.accounts[account.source_id] = account
        desired.links.add((account.source_id, "student"))
    desired.classes = {f"c{c}": ClassInfo(f"c{c}", f"Class {c}") for c in range(1_000)}
    desired.memberships = {(f"c{i % 1_000}", f"u{i:05d}", "student") for i in range(40_000)}
    change_set = diff(SchoolRoster(school.id), desired)
    assert len(change_set.changes) == 81_000

    # 40k accounts + 40k links + 1k classes + 40k memberships
    assert apply(store, school, change_set) == 121_000
    assert load(store, school) == desired
    # and back: 40k links and memberships deleted, 40k accounts deactivated, 1k archived
    assert sync_to(store, school, SchoolRoster(school.id)) == 121_000
