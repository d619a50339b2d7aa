"""The two ways the store writes a group: plain INSERTs into a table that holds no row of
the school yet (a first load), and upserts. Both must leave the same rows, on both engines,
and accounts stay district-wide either way (restored, updated, never duplicated).

On PostgreSQL the plain INSERTs go by COPY, and large upserts by COPY into a staging table
(``storage/roster_copy.py``); the ``stage`` fixture sends every INSERT through the stage, so
rosters of a few rows test that path too, and values that COPY must escape are checked."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import astuple
from typing import Any

import pytest
from sqlalchemy import select

from rostersync.domain.changes import diff
from rostersync.domain.roster import Account, ClassInfo, LinkInfo, SchoolRoster
from rostersync.service.model import SchoolRow
from rostersync.storage import SqlStore, roster_copy, roster_repo
from rostersync.storage.tables import (
    accounts,
    classes,
    contact_links,
    districts,
    memberships,
    school_links,
    schools,
)
from tests.storage.recording import statements
from tests.storage.test_store_roster import account_row, load, roster, student

MakeSchool = Callable[..., SchoolRow]
SCHOOL_TABLES = (school_links, classes, memberships, contact_links)


@pytest.fixture(autouse=True)
def fresh_at_any_size(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rosters of a few rows stand for large ones here: the store asks which tables are
    empty (and writes plain INSERTs into those) whatever the number of rows; the last test
    checks the threshold itself."""
    monkeypatch.setattr(roster_repo, "FRESH_MIN_ROWS", 0)


@contextmanager
def inserts(store: SqlStore) -> Iterator[list[str]]:
    """The INSERT statements the store runs inside the block (listed when it ends); on
    PostgreSQL, the parts of a joint write (``roster_sql.JointWrite``) count one each."""
    found: list[str] = []
    with statements(store) as sent:
        yield found
    for statement in sent:
        parts = re.findall(r"w\d+ AS \((.*?) RETURNING 1\)", statement)
        # An INSERT from a stage reads it through ``WITH staged AS (DELETE ... RETURNING *)``.
        parts = parts or [re.sub(r"^WITH staged AS \(DELETE .*? RETURNING \*\) ", "", statement)]
        found.extend(s for s in parts if s.lstrip().upper().startswith("INSERT"))


@pytest.fixture(params=["arrays", "stage"])
def stage(request: pytest.FixtureRequest, store_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """``stage``: on PostgreSQL every INSERT that cannot COPY straight into its table goes
    through the COPY-filled stage, however few its rows ("arrays": only from
    ``STAGE_MIN_ROWS`` rows, as in production)."""
    if request.param == "stage":  # SQLite has no stage: there it runs as "arrays" does
        monkeypatch.setattr(roster_copy, "STAGE_MIN_ROWS", 0)
    return str(request.param)


@pytest.fixture
def copies(store_url: str, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The COPY statements psycopg runs during the test (none on SQLite)."""
    seen: list[str] = []
    if not store_url.startswith("postgresql"):
        return seen
    import psycopg

    original = psycopg.Cursor.copy

    def recording(self: psycopg.Cursor[Any], statement: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(str(statement))
        return original(self, statement, *args, **kwargs)

    monkeypatch.setattr(psycopg.Cursor, "copy", recording)
    return seen


def apply(store: SqlStore, school: SchoolRow, desired: SchoolRoster) -> tuple[int, dict[str, int]]:
    """Apply the diff to ``desired``; the rows written, in all and per table."""
    with store.unit_of_work() as uow:
        change_set = diff(uow.load_roster(school.id), desired)
        written = uow.apply_changes(school, change_set)
        per_table = dict(uow.repos.roster.written)
        uow.commit()
    return written, per_table


def rows_of(store: SqlStore, school: SchoolRow) -> dict[str, set[tuple[Any, ...]]]:
    """Every stored row of the school's tables, without the school id; links name the
    account by source id (account ids differ between schools' accounts)."""
    out: dict[str, set[tuple[Any, ...]]] = {}
    with store.unit_of_work() as uow:
        conn = uow.connection
        for table in SCHOOL_TABLES[1:]:
            stmt = select(*(c for c in table.c if c.name != "school_id"))
            out[table.name] = {
                tuple(r) for r in conn.execute(stmt.where(table.c.school_id == school.id))
            }
        link = select(accounts.c.source_id, school_links.c.role).join_from(school_links, accounts)
        out["school_links"] = {
            tuple(r) for r in conn.execute(link.where(school_links.c.school_id == school.id))
        }
    return out


def full_roster(school: SchoolRow, *extra: tuple[Account, str], **parts: Any) -> SchoolRoster:
    mom = Account("mom", ("contact",), first_name="Mo", phone="555")
    teacher = Account("tea", ("teacher",), first_name="Tea", email="t@x")
    out = roster(
        school,
        (student("amy"), "student"),
        (student("bob"), "student"),
        (teacher, "teacher"),
        (mom, "contact"),
        *extra,
        classes={"c1": ClassInfo("c1", "Math", period="1"), "c2": ClassInfo("c2", "Art")},
        memberships={("c1", "amy", "student"), ("c2", "bob", "student"), ("c1", "tea", "teacher")},
        contact_links={("mom", "amy"): LinkInfo("Parent", "Primary")},
    )
    for name, value in parts.items():
        getattr(out, name).update(value)
    return out


def test_a_first_load_and_upserts_write_the_same_rows(
    store: SqlStore, make_school: MakeSchool, stage: str, copies: list[str]
) -> None:
    # Two districts, so neither school finds the other's accounts.
    fresh, held = make_school("sA"), make_school("sB", district_id="d2")
    # sB already holds a row in each of its tables, so every group is an upsert there.
    zed = student("zed")
    extras = {
        "classes": {"old": ClassInfo("old", "Old")},
        "memberships": {("old", "zed", "student")},
        "contact_links": {("zed", "zed"): LinkInfo("Self", "Other")},
    }
    apply(store, held, roster(held, (zed, "student"), **extras))

    copies.clear()
    with inserts(store) as first_load:
        fresh_counts = apply(store, fresh, full_roster(fresh))
    first_copies = list(copies)
    with inserts(store) as upserts:
        held_counts = apply(store, held, full_roster(held, (zed, "student"), **extras))

    # 4 accounts and links, 2 classes, 3 memberships, 1 contact link, either way.
    expected = {"accounts": 4, "school_links": 4, "classes": 2, "memberships": 3}
    assert fresh_counts == held_counts == (14, expected | {"contact_links": 1})
    # Only the district-wide accounts needed ON CONFLICT on the first load.
    assert [s for s in first_load if "ON CONFLICT" in s] == first_load[:1]
    assert "INTO accounts" in first_load[0]
    assert len(upserts) == 5 and all("ON CONFLICT" in s for s in upserts)
    if store.engine.dialect.name == "postgresql":
        # The three plain INSERTs went by COPY straight into their tables; the accounts (and
        # with the stage forced, the upserts) by COPY into the stage. The links never do:
        # one statement, one row per role, whatever the number of links.
        straight = [f"COPY {t}" for t in ("classes", "memberships", "contact_links")]
        staged = ["COPY pg_temp.roster_stage_upsert_accounts"] if stage == "stage" else []
        assert [" ".join(c.split()[:2]) for c in first_copies] == staged + straight
        assert len(copies) - len(first_copies) == (4 if stage == "stage" else 0)
        for sent in (first_load, upserts):
            links = [s for s in sent if "INTO school_links" in s]
            assert len(links) == 1 and "jsonb_array_elements_text" in links[0]

    written, extra_rows = rows_of(store, fresh), rows_of(store, held)
    for table, rows in written.items():
        assert rows < extra_rows[table]
        assert len(extra_rows[table] - rows) == 1, table  # the row sB held before
    assert load(store, fresh) == full_roster(fresh)


def test_a_stage_is_kept_empty_across_schools_commits_and_rollbacks(
    store: SqlStore, make_school: MakeSchool, stage: str
) -> None:
    """On PostgreSQL a stage is made once a connection and kept (no temporary table made and
    dropped per write), emptied by the INSERT that reads it and at every commit; a rollback
    takes back what was copied in. Every school's rows come out whole on both engines."""
    a, b, c = make_school("sA"), make_school("sB"), make_school("sC")
    pg = store.engine.dialect.name == "postgresql"

    with statements(store) as sent, store.unit_of_work() as uow:
        for school in (a, b):  # two schools in one transaction, as a sync's batch has
            uow.apply_roster(school, full_roster(school))
        if pg and stage == "stage":
            held = uow.connection.exec_driver_sql(
                "SELECT count(*) FROM pg_temp.roster_stage_upsert_accounts"
            ).scalar()
            assert held == 0  # each INSERT emptied what it read
        uow.commit()
    with store.unit_of_work() as uow:  # a failed apply: copied into the stage, rolled back
        uow.apply_roster(c, full_roster(c, (student("ghost"), "student")))
        uow.rollback()
    with statements(store) as again, store.unit_of_work() as uow:
        uow.apply_roster(c, full_roster(c))
        uow.commit()

    for school in (a, b, c):
        assert load(store, school) == full_roster(school)
    assert "ghost" not in {row[0] for row in stored_accounts(store)}  # rolled back, all of it
    assert not [s for s in sent + again if s.upper().startswith(("DROP", "CREATE TEMP TABLE PG"))]
    if pg and stage == "stage":
        made = [s for s in sent if s.startswith("CREATE TEMP TABLE IF NOT EXISTS")]
        assert len(made) == 2 and "ON COMMIT DELETE ROWS" in made[0]


def test_a_first_load_restores_and_updates_accounts_of_other_schools(
    store: SqlStore, make_school: MakeSchool
) -> None:
    a, c = make_school("sA"), make_school("sC")
    apply(store, a, roster(a, (student("amy"), "student"), (student("bob"), "student")))
    apply(store, a, roster(a, (student("bob"), "student")))
    amy_before = account_row(store, "d1", "amy")
    assert amy_before.active is False

    amy, bob = student("amy", first="Amelia"), student("bob", first="Robert")
    desired = roster(c, (amy, "student"), (bob, "student"), (student("cy"), "student"))
    assert apply(store, c, desired) == (6, {"accounts": 3, "school_links": 3})

    amy_after = account_row(store, "d1", "amy")
    assert (amy_after.id, amy_after.active, amy_after.deactivated_at) == (amy_before.id, True, None)
    assert load(store, c) == desired
    assert load(store, a).accounts == {"bob": bob}  # accounts are district-wide
    with store.unit_of_work() as uow:
        ids = uow.connection.execute(select(accounts.c.source_id)).scalars().all()
    assert sorted(ids) == ["amy", "bob", "cy"]


def test_an_archived_class_comes_back_when_the_other_tables_are_empty(
    store: SqlStore, make_school: MakeSchool
) -> None:
    school = make_school()
    sync = roster(school, classes={"c1": ClassInfo("c1", "Math")})
    apply(store, school, sync)
    apply(store, school, roster(school))  # c1 archived: classes holds a row, the rest none

    desired = full_roster(school, classes={"c1": ClassInfo("c1", "Math II")})
    with inserts(store) as seen:
        written, per_table = apply(store, school, desired)

    # c1 is restored with its new values (an update), c2 inserted.
    assert per_table["classes"] == 2 and written == 14
    assert [s for s in seen if "ON CONFLICT" in s and "INTO classes" in s]
    assert load(store, school) == desired
    with store.unit_of_work() as uow:
        stored = uow.connection.execute(select(classes.c.source_id, classes.c.name)).all()
    assert sorted(map(tuple, stored)) == [("c1", "Math II"), ("c2", "Art")]


def test_written_is_empty_after_an_empty_change_set(
    store: SqlStore, make_school: MakeSchool
) -> None:
    school = make_school()
    apply(store, school, full_roster(school))
    assert apply(store, school, full_roster(school)) == (0, {})


# Values COPY's text format must escape or could misread: its field and line separators, a
# carriage return, backslashes (also as its NULL marker and end-of-data line), and values it
# must pass through untouched: empty strings, spaces, quotes, non-ASCII, placeholders.
AWKWARD = [
    "tab\there",
    "line\nbreak",
    "cr\rlf\r\n",
    "back\\slash",
    "\\N",
    "\\.",
    "\\",
    "\\t not a tab",
    "cr\ronly",
    "",
    " spaced ",
    "quo'te\"s",
    "ünïcødé ✓ 名前 🎒",
    "%s %(x)s",
    "\t\n",
]


def awkward_roster(school: SchoolRow, tag: str) -> SchoolRoster:
    """A roster whose every COPY-written column, ids too, holds each awkward value."""
    out = roster(school)
    for i, odd in enumerate(AWKWARD):
        person = Account(f"u{i}{odd}", ("student",), odd, tag + odd, odd[::-1], odd, odd, odd)
        parent = Account(f"p{i}{odd}", ("contact",), first_name=tag, phone=odd)
        for account, role in ((person, "student"), (parent, "contact")):
            out.accounts[account.source_id] = account
            out.links.add((account.source_id, role))
        class_id = f"c{i}{odd}"
        out.classes[class_id] = ClassInfo(class_id, tag + odd, odd, odd, odd, odd, odd, odd, odd)
        out.memberships.add((class_id, person.source_id, "student"))
        out.contact_links[(parent.source_id, person.source_id)] = LinkInfo(tag + odd, odd)
    return out


def expected_rows(desired: SchoolRoster) -> dict[str, set[tuple[Any, ...]]]:
    """The rows ``rows_of`` must find for a roster, built from the domain objects alone."""
    return {
        "classes": {(*astuple(c), False) for c in desired.classes.values()},
        "memberships": set(desired.memberships),
        "contact_links": {
            (*key, link.relationship, link.type) for key, link in desired.contact_links.items()
        },
        "school_links": set(desired.links),
    }


def stored_accounts(store: SqlStore) -> set[tuple[Any, ...]]:
    columns = [c for c in accounts.c if c.name not in ("id", "district_id", "deactivated_at")]
    with store.unit_of_work() as uow:
        return {tuple(r) for r in uow.connection.execute(select(*columns))}


def expected_accounts(desired: SchoolRoster) -> set[tuple[Any, ...]]:
    return {(a.source_id, ",".join(a.roles), *a[2:], True) for a in desired.accounts.values()}


def test_awkward_values_come_back_exactly_from_a_first_load_and_an_update(
    store: SqlStore,
    make_school: MakeSchool,
    stage: str,
    copies: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # One row per piece of COPY text, so each value alone decides whether it is escaped.
    monkeypatch.setattr(roster_copy, "_CHUNK_ROWS", 1)
    school = make_school()
    first = awkward_roster(school, "one ")
    n = len(AWKWARD)
    # 2n accounts and links, n classes, memberships and contact links.
    assert apply(store, school, first)[1] == {
        "accounts": 2 * n,
        "school_links": 2 * n,
        "classes": n,
        "memberships": n,
        "contact_links": n,
    }
    if store.engine.dialect.name == "postgresql":
        assert {" ".join(c.split()[:2]) for c in copies} >= {"COPY classes", "COPY memberships"}
    assert rows_of(store, school) == expected_rows(first)
    assert stored_accounts(store) == expected_accounts(first)
    assert load(store, school) == first

    # Every value changes: upserts (through the stage when it is forced).
    second = awkward_roster(school, "two\t\\")
    assert apply(store, school, second)[1] == {
        "accounts": 2 * n,
        "classes": n,
        "contact_links": n,
    }
    assert rows_of(store, school) == expected_rows(second)
    assert stored_accounts(store) == expected_accounts(second)
    assert load(store, school) == second


def test_only_large_inserts_ask_which_tables_are_empty(
    store: SqlStore, make_school: MakeSchool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(roster_repo, "FRESH_MIN_ROWS", 12)  # full_roster inserts 10 rows
    fresh, big, held = make_school("sA"), make_school("sB", district_id="d2"), make_school("sC")

    def asked() -> int:
        return sum("SELECT EXISTS" in s for s in sent)

    with statements(store) as sent:
        with inserts(store) as small:  # a first load of 10 rows: upserts, nothing asked
            apply(store, fresh, full_roster(fresh))
        assert asked() == 0 and all("ON CONFLICT" in s for s in small)
        two = (Account("x1", ("student",)), "student"), (Account("x2", ("student",)), "student")
        with inserts(store) as large:  # 12 rows: asked once, plain INSERTs where empty
            apply(store, big, full_roster(big, *two))
        assert asked() == 1
        assert [s for s in large if "ON CONFLICT" in s] == large[:1]
        apply(store, held, full_roster(held, *two))
        with inserts(store) as update:  # a small change to a school with rows
            apply(store, held, full_roster(held, (student("amy", first="Ann"), "student")))
        assert asked() == 2 and all("ON CONFLICT" in s for s in update)
    assert load(store, fresh) == full_roster(fresh)
    assert load(store, big) == full_roster(big, *two)
    assert load(store, held) == full_roster(held, (student("amy", first="Ann"), "student"))


def test_a_resyncs_independent_writes_go_as_one_statement_on_postgresql(
    store: SqlStore, make_school: MakeSchool
) -> None:
    school = make_school()
    extra = (student("cat"), "student"), (Account("dad", ("contact",), first_name="D"), "contact")
    before = full_roster(
        school,
        *extra,
        classes={"c3": ClassInfo("c3", "Old")},
        memberships={("c2", "cat", "student")},
        contact_links={("dad", "cat"): LinkInfo("Parent", "Primary")},
    )
    apply(store, school, before)
    # Every independent group changes: an account's values (no new link), a class put and
    # one archived, a membership added and one removed, a contact link put and one removed.
    after = full_roster(school, *extra)
    after.accounts["cat"] = student("cat", first="Cathy")
    after.classes["c4"] = ClassInfo("c4", "New")
    after.memberships.add(("c4", "amy", "student"))
    after.contact_links[("dad", "amy")] = LinkInfo("Parent", "Emergency")
    version = versions(store, school)
    with statements(store) as sent:
        written = apply(store, school, after)
    joint = [s for s in sent if s.lstrip().startswith("WITH w0 AS")]
    bumps = [s for s in sent if "UPDATE schools SET roster_version" in s]
    if store.engine.dialect.name == "postgresql":
        assert len(joint) == 1 and joint[0].count(" RETURNING 1)") == 7
        assert bumps == joint  # the roster version goes up in the same statement
    else:
        assert joint == [] and len(bumps) == 1
    # One bump whichever way: the school's version and its district's total, once each.
    assert versions(store, school) == (version[0] + 1, version[1] + 1)
    # accounts 1, classes 2 (one put, one archived), memberships 2, contact links 2
    expected = {"accounts": 1, "classes": 2, "memberships": 2, "contact_links": 2}
    assert written == (7, expected)
    assert load(store, school) == after


def test_a_write_that_is_not_joint_bumps_the_version_on_its_own(
    store: SqlStore, make_school: MakeSchool
) -> None:
    school = make_school()
    apply(store, school, full_roster(school))
    version = versions(store, school)
    after = full_roster(school)
    after.accounts["amy"] = student("amy", first="Annie")  # one group only: nothing to join
    with statements(store) as sent:
        apply(store, school, after)
    assert not [s for s in sent if s.lstrip().startswith("WITH w0 AS")]
    assert len([s for s in sent if "UPDATE schools SET roster_version" in s]) == 1
    assert versions(store, school) == (version[0] + 1, version[1] + 1)
    assert load(store, school) == after


def versions(store: SqlStore, school: SchoolRow) -> tuple[int, int]:
    """The school's roster version and its district's roster total."""
    with store.engine.connect() as conn:
        row = conn.execute(
            select(schools.c.roster_version, districts.c.roster_total)
            .join(districts, districts.c.id == schools.c.district_id)
            .where(schools.c.id == school.id)
        ).one()
    return int(row[0]), int(row[1])
