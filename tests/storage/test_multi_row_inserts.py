"""SQLite sends the memberships and contact links of an apply as multi-row INSERTs
(``roster_sql.sqlite_batches``): chunks of ``MULTI_ROW_SIZES`` rows, the last few by
executemany. The chunks must carry every row once, in order, stay under the driver's limit
of bound values, and write exactly what the row-by-row INSERTs and upserts wrote."""

from __future__ import annotations

from collections.abc import Callable
from itertools import chain

from rostersync.domain.changes import ChangeSet, diff
from rostersync.domain.roster import Account, ClassInfo, LinkInfo, SchoolRoster
from rostersync.service.model import SchoolRow
from rostersync.storage import SqlStore
from rostersync.storage.roster_sql import Write, sql, sqlite_batches
from tests.storage.test_store_roster import apply, load, roster, student

MakeSchool = Callable[..., SchoolRow]


def memberships_write(n: int, *, upsert: bool = False) -> Write:
    rows = [("sch", f"c{i % 7}", f"u{i:05d}", "student") for i in range(n)]
    name = "insert_memberships"
    return Write("memberships", sql(name, "sqlite", upsert=upsert), rows, name=name, upsert=upsert)


def sizes(write: Write, max_variables: int = 32_766) -> list[tuple[str, int]]:
    """Each statement's kind (``many`` or ``one``) and its number of rows."""
    out = []
    for text, params in sqlite_batches(write, max_variables):
        if isinstance(params, list):
            out.append(("many", len(params)))
        else:
            out.append(("one", text.count("(?, ?, ?, ?)")))
    return out


def test_rows_go_in_the_largest_chunks_first_and_the_rest_by_executemany() -> None:
    # 1,100 = 1,024 + 64 + 12
    assert sizes(memberships_write(1_100)) == [("one", 1_024), ("one", 64), ("many", 12)]
    assert sizes(memberships_write(16)) == [("one", 16)]
    assert sizes(memberships_write(15)) == [("many", 15)]


def test_chunks_stay_under_the_limit_of_bound_values() -> None:
    # 4 values a row: 1,024 and 256 rows would bind more than 999.
    assert sizes(memberships_write(1_100), max_variables=999) == [("one", 64)] * 17 + [("many", 12)]


def test_the_chunks_carry_every_row_once_in_order() -> None:
    write = memberships_write(1_337, upsert=True)
    sent: list[object] = []
    for text, params in sqlite_batches(write, 32_766):
        if isinstance(params, list):
            assert text == write.sql
            sent.extend(chain.from_iterable(params))
        else:
            assert text.endswith(" ON CONFLICT DO NOTHING")
            sent.extend(params)
    assert sent == list(chain.from_iterable(write.rows))


def test_other_writes_stay_one_executemany() -> None:
    rows = [("d1", f"u{i}", "student", *[""] * 8) for i in range(100)]
    write = Write("accounts", sql("upsert_accounts", "sqlite"), rows, name="upsert_accounts")
    assert list(sqlite_batches(write, 32_766)) == [(write.sql, rows)]


def big_roster(school: SchoolRow, relationship: str = "Parent") -> SchoolRoster:
    """1,100 students, each in one of 9 classes and with one contact: more rows than the
    largest chunk, so every chunk size and the executemany tail are used."""
    people = [(student(f"u{i:04d}"), "student") for i in range(1_100)]
    parent = Account("p1", ("contact",), first_name="Pat")
    desired = roster(school, *people, (parent, "contact"))
    desired.classes = {f"c{c}": ClassInfo(f"c{c}", f"Class {c}") for c in range(9)}
    desired.memberships = {(f"c{i % 9}", f"u{i:04d}", "student") for i in range(1_100)}
    desired.contact_links = {
        ("p1", f"u{i:04d}"): LinkInfo(relationship, "guardian") for i in range(1_100)
    }
    return desired


def test_a_large_first_load_and_its_upserts_write_every_row_once(
    store: SqlStore, make_school: MakeSchool
) -> None:
    school = make_school()
    desired = big_roster(school)
    change_set = diff(load(store, school), desired)
    # 1,101 accounts and links, 9 classes, 1,100 memberships and contact links
    assert apply(store, school, change_set) == 1_101 * 2 + 9 + 1_100 * 2
    assert load(store, school) == desired

    # The tables now hold rows of the school: the same rows again go through the upserts
    # (ON CONFLICT after the multi-row VALUES) and change nothing.
    assert apply(store, school, change_set) == 0
    # New values for every contact link: each upserted row counts once.
    changed = big_roster(school, relationship="Grandparent")
    assert apply(store, school, diff(load(store, school), changed)) == 1_100
    assert load(store, school) == changed
    # and a re-applied change set of only the contact links writes nothing
    contacts = ChangeSet(school.id, [c for c in change_set.changes if c.entity == "contact_links"])
    assert apply(store, school, contacts) == 1_100  # back to "Parent"
    assert apply(store, school, contacts) == 0
