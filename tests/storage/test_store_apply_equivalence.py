"""The SQL apply ends where the pure ``domain.changes.apply_changes`` ends, for any diff.

Random pairs of rosters over a small pool of ids (so adds, updates, removals, multi-role
accounts and restores all happen), a second school sharing the accounts, and invariants on
the district-wide accounts table after every apply.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import count

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from rostersync.domain.changes import apply_changes, diff
from rostersync.domain.roster import Account, ClassInfo, FreshRoster, LinkInfo, SchoolRoster
from rostersync.service.model import SchoolRow
from rostersync.storage import SqlStore, roster_copy
from rostersync.storage.roster_plan import plan_changes, plan_fresh, plan_roster
from rostersync.storage.tables import accounts, school_links

PEOPLE = [f"p{i}" for i in range(8)]
ROLES = ["student", "teacher", "staff", "contact"]
CLASSES = [f"c{i}" for i in range(4)]
NAMES = ["", "Ann", "Bo"]

_district_ids = count()


@st.composite
def rosters(draw: st.DrawFn) -> SchoolRoster:
    """A roster without a school id (set by ``placed``); values vary over a tiny range."""
    out = SchoolRoster(school_id="")
    links = draw(st.sets(st.tuples(st.sampled_from(PEOPLE), st.sampled_from(ROLES))))
    for person, role in sorted(links):
        out.links.add((person, role))
        out.accounts[person] = Account(
            person,
            roles=tuple(sorted(r for p, r in links if p == person)),
            first_name=draw(st.sampled_from(NAMES)),
        )
    for class_id in draw(st.sets(st.sampled_from(CLASSES))):
        out.classes[class_id] = ClassInfo(class_id, draw(st.sampled_from(NAMES)))
    out.memberships = draw(
        st.sets(
            st.tuples(
                st.sampled_from(CLASSES),
                st.sampled_from(PEOPLE),
                st.sampled_from(["student", "teacher"]),
            )
        )
    )
    pairs = draw(st.sets(st.tuples(st.sampled_from(PEOPLE), st.sampled_from(PEOPLE))))
    for pair in pairs:
        out.contact_links[pair] = LinkInfo(draw(st.sampled_from(NAMES)), "Primary")
    return out


def placed(school: SchoolRow, roster: SchoolRoster) -> SchoolRoster:
    return SchoolRoster(
        school.id,
        dict(roster.accounts),
        set(roster.links),
        dict(roster.classes),
        set(roster.memberships),
        dict(roster.contact_links),
    )


def apply_diff(store: SqlStore, school: SchoolRow, desired: SchoolRoster) -> None:
    with store.unit_of_work() as uow:
        before = uow.load_roster(school.id)
        change_set = diff(before, desired)
        uow.apply_changes(school, change_set)
        assert uow.load_roster(school.id) == apply_changes(before, change_set) == desired
        uow.commit()


def assert_accounts_active_exactly_when_linked(store: SqlStore, district_id: str) -> None:
    linked = select(school_links.c.account_id).where(school_links.c.account_id == accounts.c.id)
    stmt = select(accounts.c.active, accounts.c.deactivated_at, linked.exists()).where(
        accounts.c.district_id == district_id
    )
    with store.unit_of_work() as uow:
        for active, deactivated_at, has_link in uow.connection.execute(stmt):
            assert active is has_link
            assert (deactivated_at is None) is active


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(first=rosters(), second=rosters(), other=rosters())
def test_sql_apply_equals_pure_apply(
    store: SqlStore,
    make_school: Callable[..., SchoolRow],
    first: SchoolRoster,
    second: SchoolRoster,
    other: SchoolRoster,
) -> None:
    check_applies(store, make_school, first, second, other)


@pytest.mark.parametrize("store_url", ["postgresql"], indirect=True)  # COPY is PostgreSQL's
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(first=rosters(), second=rosters(), other=rosters())
def test_sql_apply_equals_pure_apply_through_the_copy_stage(
    store: SqlStore,
    make_school: Callable[..., SchoolRow],
    monkeypatch: pytest.MonkeyPatch,
    first: SchoolRoster,
    second: SchoolRoster,
    other: SchoolRoster,
) -> None:
    """The same with every PostgreSQL INSERT that may conflict sent by COPY into the stage
    (``roster_copy``), as large ones are: its INSERT ... SELECT keeps every ON CONFLICT."""
    assert store.engine.dialect.name == "postgresql"
    monkeypatch.setattr(roster_copy, "STAGE_MIN_ROWS", 0)
    check_applies(store, make_school, first, second, other)


def check_applies(
    store: SqlStore,
    make_school: Callable[..., SchoolRow],
    first: SchoolRoster,
    second: SchoolRoster,
    other: SchoolRoster,
) -> None:
    district = f"hd{next(_district_ids)}"
    a = make_school("sA", district_id=district)
    b = make_school("sB", district_id=district)
    apply_diff(store, a, placed(a, first))
    apply_diff(store, b, placed(b, other))
    b_before = _shape(store, b)

    apply_diff(store, a, placed(a, second))
    assert _shape(store, b) == b_before
    assert_accounts_active_exactly_when_linked(store, district)

    # and back: removed classes and deactivated accounts return
    apply_diff(store, a, placed(a, first))
    assert_accounts_active_exactly_when_linked(store, district)


def _shape(store: SqlStore, school: SchoolRow) -> tuple[object, ...]:
    """A school's roster without account values (another school may update those)."""
    with store.unit_of_work() as uow:
        roster = uow.load_roster(school.id)
    return roster.links, roster.classes, roster.memberships, roster.contact_links


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(first=rosters(), other=rosters(), later=rosters())
def test_first_load_written_whole_equals_its_diff(
    store: SqlStore,
    make_school: Callable[..., SchoolRow],
    first: SchoolRoster,
    other: SchoolRoster,
    later: SchoolRoster,
) -> None:
    """``apply_roster`` (a school's first load, written with no change set) leaves the
    store exactly as ``apply_changes`` of the diff from the empty roster: the same rows,
    account ids and versions included, the same rows written per table; with accounts the
    district already holds, some of them deactivated by another school's removals. The
    same for the roster in its fresh form (``FreshRoster``, what a sync's first load
    builds)."""
    ends = []
    for whole in ("roster", "fresh", "diff"):
        district = f"fl{next(_district_ids)}"
        a = make_school("sA", district_id=district)
        b = make_school("sB", district_id=district)
        apply_diff(store, b, placed(b, other))
        apply_diff(store, b, placed(b, later))  # removals: some accounts deactivated
        desired = placed(a, first)
        with store.unit_of_work() as uow:
            assert uow.load_roster(a.id).is_empty()
            if whole == "roster":
                rows = uow.apply_roster(a, desired)
            elif whole == "fresh":
                rows = uow.apply_roster(a, FreshRoster.of(desired))
            else:
                rows = uow.apply_changes(a, diff(uow.load_roster(a.id), desired))
            written = dict(uow._open.roster.written)
            assert uow.load_roster(a.id) == desired
            version = uow.get_school(a.id)
            uow.commit()
        assert version is not None
        ends.append((rows, written, version.roster_version, _accounts(store, district)))
        assert_accounts_active_exactly_when_linked(store, district)
    assert ends[0] == ends[1] == ends[2]


def _accounts(store: SqlStore, district_id: str) -> list[tuple[object, ...]]:
    """The district's accounts in id order, their ids made relative to the first."""
    with store.unit_of_work() as uow:
        rows = uow.connection.execute(
            select(accounts).where(accounts.c.district_id == district_id).order_by(accounts.c.id)
        ).all()
    base = rows[0].id if rows else 0
    return [
        (
            row.id - base,
            *(
                v
                for k, v in row._mapping.items()
                if k not in ("id", "district_id", "deactivated_at")
            ),
        )
        for row in rows
    ]


def test_a_first_load_refuses_a_membership_of_another_role() -> None:
    member = ("c1", "p2", "student")
    with pytest.raises(KeyError, match="neither student nor teacher"):
        plan_roster(SchoolRoster("s", memberships={("c1", "p1", "staff"), member}))
    plan = plan_roster(SchoolRoster("s", memberships={member, ("c2", "p1", "teacher")}))
    assert sorted(plan.memberships_added) == [member, ("c2", "p1", "teacher")]
    with pytest.raises(KeyError, match="neither student nor teacher"):
        plan_fresh(FreshRoster("s", memberships=[("c1", "p1", "staff"), member]))


def test_a_first_load_refuses_a_link_of_an_unknown_role() -> None:
    """Both planners refuse a role the store has no entity for, as a change set would."""
    roster = SchoolRoster("s", accounts={"p1": Account("p1", ("pilot",))}, links={("p1", "pilot")})
    with pytest.raises(KeyError, match="unknown role 'pilot'"):
        plan_roster(roster)
    with pytest.raises(KeyError, match="unknown role 'pilot'"):
        plan_fresh(FreshRoster.of(roster))


@settings(max_examples=100, deadline=None)
@given(roster=rosters())
def test_a_fresh_roster_is_planned_as_its_roster(roster: SchoolRoster) -> None:
    """``plan_fresh`` of a roster's fresh form makes the groups ``plan_roster`` makes, in
    the same order (the memberships: the same rows, grouped by class in class order)."""
    whole, fresh = plan_roster(roster), plan_fresh(FreshRoster.of(roster))
    assert list(fresh.accounts_linked.items()) == list(whole.accounts_linked.items())
    assert list(fresh.links_by_role.items()) == list(whole.links_by_role.items())
    assert list(fresh.classes_put.items()) == list(whole.classes_put.items())
    assert sorted(fresh.memberships_added) == sorted(whole.memberships_added)
    assert [m[0] for m in fresh.memberships_added] == [m[0] for m in whole.memberships_added]
    assert list(fresh.contact_links_put.items()) == list(whole.contact_links_put.items())
    assert fresh.accounts_updated == whole.accounts_updated == {}
    assert fresh.links_removed == fresh.classes_archived == fresh.memberships_removed == []
    assert fresh.contact_links_removed == []


def _grouped(links: list[tuple[str, str]]) -> dict[str, list[str]]:
    by_role: dict[str, list[str]] = {}
    for account_id, role in links:
        by_role.setdefault(role, []).append(account_id)
    return by_role


@settings(max_examples=60, deadline=None)
@given(before=rosters(), after=rosters())
def test_both_planners_group_the_added_links_by_role_in_their_order(
    before: SchoolRoster, after: SchoolRoster
) -> None:
    """``links_by_role`` (what the SQLite INSERT of links takes) is ``links_added``
    grouped by role, each role's ids in the same order, whichever planner made the plan."""
    whole = plan_roster(after)
    changes = plan_changes(diff(before, after))
    for plan in (whole, changes):
        assert plan.links_by_role == _grouped(plan.links_added)
    assert whole.links_by_role == _grouped(sorted(after.links, key=_role_then_id))


def _role_then_id(link: tuple[str, str]) -> tuple[int, str]:
    return ROLES.index(link[1]), link[0]


@settings(max_examples=60, deadline=None)
@given(roster=rosters())
def test_a_first_load_adds_the_memberships_class_by_class(roster: SchoolRoster) -> None:
    """Every membership once, grouped by class in the order of the class ids (the table's
    key order after the school), so the INSERTs of one class land together."""
    added = plan_roster(roster).memberships_added
    assert sorted(added) == sorted(roster.memberships)
    classes = [class_id for class_id, _, _ in added]
    assert classes == sorted(classes)
