"""The roster writes as driver-level SQL, with their parameter rows built as plain tuples.

Every group of a ``RosterPlan`` is one statement sent with the driver's ``executemany``.
Compiling SQLAlchemy statements and processing a parameter dict per row cost more than the
database's own work on a first load (hundreds of thousands of INSERTs), so the text is
written here once and the rows come straight from the plan. SQLite and PostgreSQL share the
upsert syntax (``ON CONFLICT ... DO UPDATE ... WHERE``) and the ``TRUE``/``FALSE`` literals,
so one text serves both, with ``?`` turned into ``%s`` for psycopg. On PostgreSQL each
write is one statement instead, taking all its rows as one JSON array (``_BY_JSON``), and
the INSERTs go by COPY when that is cheaper (``roster_copy.by_copy``: a first load, and any
large INSERT); the writes that need nothing another write does go together as one
statement (``JointWrite``).

Updates carry a ``WHERE`` that skips rows already holding the new values, so the rowcount
is the number of rows that really changed (a re-applied change set writes nothing).

The school links are the exception on SQLite too: each needs its account's id, looked up by
source id, and one ``INSERT ... SELECT`` per link (opening its cursors on three B-trees at
every row) cost more than inserting the accounts. There, one statement per role takes the
role's source ids as a JSON array and joins it to the accounts (``_LINKS_BY_ROLE``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from itertools import chain, repeat
from operator import add, attrgetter
from typing import Any, TypeVar

from rostersync.domain.roster import ClassInfo
from rostersync.storage.roster_plan import RosterPlan
from rostersync.storage.statements import multi_row_values

Row = tuple[Any, ...]
T = TypeVar("T")

# The tables whose keys start with the school id: an INSERT into one that holds no row of
# the school cannot conflict, so it needs no ON CONFLICT clause.
SCHOOL_TABLES: tuple[str, ...] = ("school_links", "classes", "memberships", "contact_links")

# An account's values after ``roles`` (joined separately): a slice of the named tuple,
# whose fields are in the column order of the statements below (a test pins it). And a
# class's values, in that order too.
_ACCOUNT_REST = slice(2, None)
_CLASS_VALUES: Callable[[ClassInfo], Row] = attrgetter(
    "name", "subject", "period", "grade", "section_number", "sis_id", "term", "course"
)


# Written out in full, so each statement reads as it runs (and no text is ever built from
# values); the store tests compare every column with the domain's apply.
_SQL: dict[str, str] = {
    "upsert_accounts": (
        "INSERT INTO accounts (district_id, source_id, roles, first_name, middle_name,"
        " last_name, email, sis_id, number, grade, phone, active)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, TRUE)"
    ),
    "update_accounts": (
        "UPDATE accounts SET roles = ?, first_name = ?, middle_name = ?, last_name = ?,"
        " email = ?, sis_id = ?, number = ?, grade = ?, phone = ?"
        " WHERE district_id = ? AND source_id = ? AND (roles != ? OR first_name != ?"
        " OR middle_name != ? OR last_name != ? OR email != ? OR sis_id != ? OR number != ?"
        " OR grade != ? OR phone != ?)"
    ),
    "insert_links": (
        "INSERT INTO school_links (school_id, account_id, role)"
        " SELECT ?, id, ? FROM accounts WHERE district_id = ? AND source_id = ?"
    ),
    "insert_classes": (
        "INSERT INTO classes (school_id, source_id, name, subject, period, grade,"
        " section_number, sis_id, term, course, archived)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, FALSE)"
    ),
    "archive_classes": (
        "UPDATE classes SET archived = TRUE WHERE school_id = ? AND source_id = ? AND NOT archived"
    ),
    "insert_memberships": (
        "INSERT INTO memberships (school_id, class_source_id, account_source_id, role)"
        " VALUES (?, ?, ?, ?)"
    ),
    "delete_memberships": (
        "DELETE FROM memberships WHERE school_id = ? AND class_source_id = ?"
        " AND account_source_id = ? AND role = ?"
    ),
    "insert_contact_links": (
        "INSERT INTO contact_links"
        " (school_id, contact_source_id, student_source_id, relationship, type)"
        " VALUES (?, ?, ?, ?, ?)"
    ),
    "delete_contact_links": (
        "DELETE FROM contact_links"
        " WHERE school_id = ? AND contact_source_id = ? AND student_source_id = ?"
    ),
    "delete_links": (
        "DELETE FROM school_links WHERE school_id = ? AND role = ? AND account_id ="
        " (SELECT id FROM accounts WHERE district_id = ? AND source_id = ?)"
    ),
    "deactivate_accounts": (
        "UPDATE accounts SET active = FALSE, deactivated_at = ?"
        " WHERE district_id = ? AND source_id = ? AND accounts.active AND NOT EXISTS"
        " (SELECT 1 FROM school_links WHERE school_links.account_id = accounts.id)"
    ),
    # In SCHOOL_TABLES order.
    "school_has_rows": (
        "SELECT EXISTS (SELECT 1 FROM school_links WHERE school_id = ?),"
        " EXISTS (SELECT 1 FROM classes WHERE school_id = ?),"
        " EXISTS (SELECT 1 FROM memberships WHERE school_id = ?),"
        " EXISTS (SELECT 1 FROM contact_links WHERE school_id = ?)"
    ),
}
# How an INSERT whose key may exist goes on instead of failing: always for the accounts
# (district-wide), for the other tables unless they hold no row of the school. (SQLite needs
# the WHERE of INSERT ... SELECT to tell ON CONFLICT from a join's ON.)
_ON_CONFLICT: dict[str, str] = {
    "upsert_accounts": (
        " ON CONFLICT (district_id, source_id) DO UPDATE SET roles = excluded.roles,"
        " first_name = excluded.first_name, middle_name = excluded.middle_name,"
        " last_name = excluded.last_name, email = excluded.email, sis_id = excluded.sis_id,"
        " number = excluded.number, grade = excluded.grade, phone = excluded.phone,"
        " active = TRUE, deactivated_at = NULL"
        " WHERE accounts.roles != excluded.roles OR accounts.first_name != excluded.first_name"
        " OR accounts.middle_name != excluded.middle_name"
        " OR accounts.last_name != excluded.last_name OR accounts.email != excluded.email"
        " OR accounts.sis_id != excluded.sis_id OR accounts.number != excluded.number"
        " OR accounts.grade != excluded.grade OR accounts.phone != excluded.phone"
        " OR NOT accounts.active"
    ),
    "insert_links": " ON CONFLICT DO NOTHING",
    "insert_classes": (
        " ON CONFLICT (school_id, source_id) DO UPDATE SET name = excluded.name,"
        " subject = excluded.subject, period = excluded.period, grade = excluded.grade,"
        " section_number = excluded.section_number, sis_id = excluded.sis_id,"
        " term = excluded.term, course = excluded.course, archived = FALSE"
        " WHERE classes.name != excluded.name OR classes.subject != excluded.subject"
        " OR classes.period != excluded.period OR classes.grade != excluded.grade"
        " OR classes.section_number != excluded.section_number"
        " OR classes.sis_id != excluded.sis_id OR classes.term != excluded.term"
        " OR classes.course != excluded.course OR classes.archived"
    ),
    "insert_memberships": " ON CONFLICT DO NOTHING",
    "insert_contact_links": (
        " ON CONFLICT (school_id, contact_source_id, student_source_id) DO UPDATE SET"
        " relationship = excluded.relationship, type = excluded.type"
        " WHERE contact_links.relationship != excluded.relationship"
        " OR contact_links.type != excluded.type"
    ),
}


# PostgreSQL: every write of an apply in one statement, fed all its rows as one JSON array
# bound as one ``jsonb`` parameter (``v->>n`` is column n of a row, as text). psycopg's
# executemany sends and processes each row on its own (about 30 µs of the client's CPU a
# row of a 1 % resync's deletes), and an array per column (``unnest``, before, for the
# INSERTs) is adapted value by value in Python (10-15 µs a row of an account), against about
# 2 µs for ``json.dumps`` of the rows (C). ``jsonb`` rather than ``json``: the server parses
# each row once, where ``json`` rescans it for every column. Each statement reads the rows
# the SQLite statement of the same name binds, in their order; the keys of a write are
# unique, so joining them matches what row-by-row statements did. Written out in full, as
# above.
_BY_JSON: dict[str, str] = {
    "upsert_accounts": (
        "INSERT INTO accounts (district_id, source_id, roles, first_name, middle_name,"
        " last_name, email, sis_id, number, grade, phone, active)"
        " SELECT v->>0, v->>1, v->>2, v->>3, v->>4, v->>5, v->>6, v->>7, v->>8, v->>9,"
        " v->>10, TRUE FROM jsonb_array_elements(?::jsonb) AS v"
    ),
    # The rows hold the values, the key, then the values again (the SQLite statement's).
    "update_accounts": (
        "UPDATE accounts SET roles = v->>0, first_name = v->>1, middle_name = v->>2,"
        " last_name = v->>3, email = v->>4, sis_id = v->>5, number = v->>6, grade = v->>7,"
        " phone = v->>8 FROM jsonb_array_elements(?::jsonb) AS v"
        " WHERE district_id = v->>9 AND source_id = v->>10"
        " AND (roles != v->>11 OR first_name != v->>12 OR middle_name != v->>13"
        " OR last_name != v->>14 OR email != v->>15 OR sis_id != v->>16 OR number != v->>17"
        " OR grade != v->>18 OR phone != v->>19)"
    ),
    # One row per role (``_links_by_role``), its accounts' source ids an array in the row,
    # looked up together in the unique (district_id, source_id) index (``= ANY``). Not as a
    # join with the array's elements: the planner takes a set-returning function for 100
    # rows, and past some thousands of accounts it hashes the whole accounts table instead
    # (measured: seven times the wall time of a 200k first load's links).
    "insert_links": (
        "INSERT INTO school_links (school_id, account_id, role)"
        " SELECT v->>0, a.id, v->>1 FROM jsonb_array_elements(?::jsonb) AS v"
        " JOIN LATERAL (SELECT id FROM accounts WHERE district_id = v->>3"
        " AND source_id = ANY (ARRAY(SELECT jsonb_array_elements_text(v->2)))) AS a ON TRUE"
    ),
    "insert_classes": (
        "INSERT INTO classes (school_id, source_id, name, subject, period, grade,"
        " section_number, sis_id, term, course, archived)"
        " SELECT v->>0, v->>1, v->>2, v->>3, v->>4, v->>5, v->>6, v->>7, v->>8, v->>9, FALSE"
        " FROM jsonb_array_elements(?::jsonb) AS v"
    ),
    "insert_memberships": (
        "INSERT INTO memberships (school_id, class_source_id, account_source_id, role)"
        " SELECT v->>0, v->>1, v->>2, v->>3 FROM jsonb_array_elements(?::jsonb) AS v"
    ),
    "insert_contact_links": (
        "INSERT INTO contact_links"
        " (school_id, contact_source_id, student_source_id, relationship, type)"
        " SELECT v->>0, v->>1, v->>2, v->>3, v->>4 FROM jsonb_array_elements(?::jsonb) AS v"
    ),
    "archive_classes": (
        "UPDATE classes SET archived = TRUE FROM jsonb_array_elements(?::jsonb) AS v"
        " WHERE school_id = v->>0 AND source_id = v->>1 AND NOT archived"
    ),
    "delete_memberships": (
        "DELETE FROM memberships USING jsonb_array_elements(?::jsonb) AS v"
        " WHERE school_id = v->>0 AND class_source_id = v->>1 AND account_source_id = v->>2"
        " AND role = v->>3"
    ),
    "delete_contact_links": (
        "DELETE FROM contact_links USING jsonb_array_elements(?::jsonb) AS v"
        " WHERE school_id = v->>0 AND contact_source_id = v->>1 AND student_source_id = v->>2"
    ),
    "delete_links": (
        "DELETE FROM school_links USING jsonb_array_elements(?::jsonb) AS v, accounts a"
        " WHERE school_links.school_id = v->>0 AND school_links.role = v->>1"
        " AND a.district_id = v->>2 AND a.source_id = v->>3 AND school_links.account_id = a.id"
    ),
    # The time comes as ISO 8601 text (``Write.json_rows``), UTC.
    "deactivate_accounts": (
        "UPDATE accounts SET active = FALSE, deactivated_at = (v->>0)::timestamptz"
        " FROM jsonb_array_elements(?::jsonb) AS v"
        " WHERE district_id = v->>1 AND source_id = v->>2 AND accounts.active AND NOT EXISTS"
        " (SELECT 1 FROM school_links WHERE school_links.account_id = accounts.id)"
    ),
}


# SQLite: the links of one role in one statement, the source ids bound as a JSON array
# (rows from ``_links_by_role``). A CROSS JOIN, which SQLite keeps in this order: each id
# finds its account by the unique (district_id, source_id) index. The WHERE also keeps the
# ON CONFLICT clause apart from the join (see ``_ON_CONFLICT``).
_LINKS_BY_ROLE = (
    "INSERT INTO school_links (school_id, account_id, role)"
    " SELECT ?, a.id, ? FROM json_each(?) AS j CROSS JOIN accounts a"
    " WHERE a.district_id = ? AND a.source_id = j.value"
)


# SQLite: the INSERTs ... VALUES go as multi-row VALUES, this many rows a statement (the
# largest first, then smaller ones for the rest; under the smallest, one executemany).
# Each size is a statement of its own, prepared once and kept by the driver's statement
# cache: preparing a statement of n rows costs about as much as inserting them. Row by row,
# the driver binds, steps (releasing and taking the GIL) and resets a statement per row;
# in one statement of a thousand rows SQLite loops over them itself.
MULTI_ROW_SIZES: tuple[int, ...] = (1024, 256, 64, 16)
# Only the narrow rows: accounts (12 columns) and classes (10) came out slower that way
# (about +12 % and +35 % at 200k students), memberships and contact links about 10 % faster.
_MULTI_ROW = frozenset({"insert_memberships", "insert_contact_links"})


@cache
def multi_row_sql(name: str, rows: int, *, upsert: bool) -> str:
    """The SQLite INSERT ``name`` with ``rows`` groups of values (see ``MULTI_ROW_SIZES``)."""
    text = multi_row_values(_SQL[name], rows)
    return text + (_ON_CONFLICT.get(name, "") if upsert else "")


def sqlite_batches(write: Write, max_variables: int) -> Iterator[tuple[str, Row | list[Row]]]:
    """The write as SQLite statements: (text, parameters), the parameters one flat row for
    an execute or a list of rows for an executemany.

    An INSERT ... VALUES goes in multi-row statements of ``MULTI_ROW_SIZES`` rows (those
    that stay under ``max_variables`` bound values), the last few rows by executemany;
    anything else is one executemany. Rows keep their order, so the outcome is the same as
    one executemany (the keys of a write are unique)."""
    rows = write.rows
    if write.name not in _MULTI_ROW or not rows:
        yield write.sql, rows
        return
    width = len(rows[0])
    start = 0
    for size in MULTI_ROW_SIZES:
        if size * width > max_variables:
            continue
        text = multi_row_sql(write.name, size, upsert=write.upsert)
        while len(rows) - start >= size:
            yield text, tuple(chain.from_iterable(rows[start : start + size]))
            start += size
    if start < len(rows):
        yield write.sql, rows[start:]


@cache
def sql(name: str, engine: str, *, upsert: bool = True) -> str:
    """The statement ``name`` for ``engine`` (``sqlite`` or ``postgresql``).

    ``upsert=False`` leaves out the ON CONFLICT clause, for a table known to hold none of
    the keys. On PostgreSQL a write takes its rows as one JSON array (``Write.json_rows``)."""
    pg = engine == "postgresql"
    if pg and name in _BY_JSON:
        text = _BY_JSON[name]
    elif not pg and name == "insert_links":
        text = _LINKS_BY_ROLE
    else:
        text = _SQL[name]
    text += _ON_CONFLICT.get(name, "") if upsert else ""
    return text.replace("?", "%s") if pg else text


def conflict_clause(name: str) -> str:
    """The ON CONFLICT clause of the INSERT ``name`` (empty if it has none)."""
    return _ON_CONFLICT.get(name, "")


@dataclass(frozen=True, slots=True)
class Write:
    """One bulk write: the table it changes, its statement and its parameter rows.

    ``name``: the statement's key in ``_SQL`` (``roster_copy`` routes by it); ``upsert``:
    whether it needs its ON CONFLICT clause (the table may hold the key). On SQLite the rows
    go as they are (``sqlite_batches``), on PostgreSQL as one JSON array (``json_rows``)."""

    table: str
    sql: str
    rows: list[Row]
    name: str = ""
    upsert: bool = True

    def json_rows(self) -> str:
        """The rows as one JSON array, the one parameter of the PostgreSQL statement (text,
        every character as itself)."""
        return json.dumps(self.rows, ensure_ascii=False, default=_json_value)


# PostgreSQL: the JSON writes that no other write of an apply depends on (none reads the
# accounts' ids or links they make) go together as one statement, each a ``WITH`` part.
# They change rows no other part of the statement touches: the plan gives each key one final
# operation, so a class put is never the one archived, nor a membership or contact link
# added the one removed, and the accounts updated are not those linked. (``WITH`` parts see
# one snapshot, and PostgreSQL refuses to change a row twice in one statement.)
_JOINT = frozenset(
    {
        "update_accounts",
        "insert_classes",
        "archive_classes",
        "insert_memberships",
        "delete_memberships",
        "insert_contact_links",
        "delete_contact_links",
    }
)


@dataclass(frozen=True, slots=True)
class JointWrite:
    """PostgreSQL JSON writes sent as one statement (``joined``): one round trip instead of
    one each; the rows each part changed are counted by its ``RETURNING``."""

    writes: tuple[Write, ...]
    # (school id, district id) to bump the roster version of in the same statement (the
    # apply's last step otherwise: one round trip less); empty: no bump.
    bump: tuple[str, str] | tuple[()] = ()

    @property
    def sql(self) -> str:
        """The statement: the parts' own texts (this module's), named ``w0``, ``w1``...;
        no value is ever part of it (each part's rows are its parameter, the bump's ids
        theirs)."""
        parts = ", ".join(f"w{i} AS ({w.sql} RETURNING 1)" for i, w in enumerate(self.writes))
        if self.bump:
            parts += f", {BUMP_PARTS}"
        counts = ", ".join(f"(SELECT count(*) FROM w{i})" for i in range(len(self.writes)))  # noqa: S608
        return f"WITH {parts} SELECT {counts}"

    def params(self) -> tuple[str, ...]:
        return (*(write.json_rows() for write in self.writes), *self.bump)


# A write to a school's roster bumps the school's roster version and its district's total
# (``RosterRepo``): as two parts of a WITH, their parameters the school id then the district id.
BUMP_PARTS = (
    "bumped AS (UPDATE schools SET roster_version = roster_version + 1 WHERE id = %s),"
    " totalled AS (UPDATE districts SET roster_total = roster_total + 1 WHERE id = %s)"
)


def joined(writes: Sequence[T], bump: tuple[str, str] | tuple[()] = ()) -> list[T | JointWrite]:
    """The PostgreSQL writes of an apply with its independent JSON writes (``_JOINT``, two or
    more) as one ``JointWrite``, where the first of them was, carrying ``bump`` (see
    ``JointWrite.bump``); the others as they were."""
    joint = tuple(w for w in writes if isinstance(w, Write) and w.name in _JOINT)
    if len(joint) < 2:
        return list(writes)
    out: list[T | JointWrite] = []
    for write in writes:
        if not (isinstance(write, Write) and write.name in _JOINT):
            out.append(write)
        elif write is joint[0]:
            out.append(JointWrite(joint, bump))
    return out


def _json_value(value: object) -> str:
    """A value of a row that JSON has no type for: a time, as ISO 8601 (with its offset)."""
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"a roster row holds a {type(value).__name__}, which JSON cannot carry")


def roster_writes(
    plan: RosterPlan,
    school: tuple[str, str],
    now: Any,
    engine: str,
    fresh: frozenset[str],
) -> list[Write]:
    """Every bulk write of the plan, in an order that keeps the tables consistent: accounts
    before the links that name them, link removals before deactivation.

    ``school`` is (school id, district id); ``now`` the deactivation time as the driver
    takes it; ``engine`` ``sqlite`` or ``postgresql``; ``fresh`` the tables holding no row
    of the school yet (plain INSERTs)."""
    school_id, district = school
    pg = engine == "postgresql"

    def write(table: str, name: str, rows: list[Row]) -> Write:
        upsert = table not in fresh
        statement = sql(name, engine, upsert=upsert)
        return Write(table, statement, rows, name, upsert)

    return [
        write("accounts", "upsert_accounts", _linked_rows(plan, district)),
        write("accounts", "update_accounts", _updated_rows(plan, district)),
        write("school_links", "insert_links", _links_by_role(plan, school, pg)),
        write("classes", "insert_classes", _class_rows(plan, school_id)),
        write("classes", "archive_classes", [(school_id, c) for c in plan.classes_archived]),
        write("memberships", "insert_memberships", _with(school_id, plan.memberships_added)),
        write("memberships", "delete_memberships", _with(school_id, plan.memberships_removed)),
        write("contact_links", "insert_contact_links", _contact_rows(plan, school_id)),
        write(
            "contact_links", "delete_contact_links", _with(school_id, plan.contact_links_removed)
        ),
        write("school_links", "delete_links", _link_rows(plan.links_removed, school)),
        write(
            "accounts",
            "deactivate_accounts",
            [(now, district, a) for a in plan.unlinked_accounts()],
        ),
    ]


def _with(school_id: str, keys: Iterable[tuple[str, ...]]) -> list[Row]:
    # In C (a first load's million memberships): a third cheaper than a comprehension.
    return list(map(add, repeat((school_id,)), keys))


def _linked_rows(plan: RosterPlan, district: str) -> list[Row]:
    return [
        (district, source_id, ",".join(a.roles), *a[_ACCOUNT_REST])
        for source_id, a in plan.accounts_linked.items()
    ]


def _updated_rows(plan: RosterPlan, district: str) -> list[Row]:
    rows = []
    for source_id, a in plan.accounts_updated.items():
        values = (",".join(a.roles), *a[_ACCOUNT_REST])
        rows.append((*values, district, source_id, *values))
    return rows


def _link_rows(links: list[tuple[str, str]], school: tuple[str, str]) -> list[Row]:
    school_id, district = school
    return [(school_id, role, district, account) for account, role in links]


def _links_by_role(plan: RosterPlan, school: tuple[str, str], pg: bool) -> list[Row]:
    """The added links as one row per role: (school id, role, the accounts' source ids,
    district id). For SQLite (``_LINKS_BY_ROLE``) the ids are bound as a JSON array; on
    PostgreSQL they stay a list, an array inside the write's one JSON parameter."""
    school_id, district = school
    if pg:
        return [(school_id, role, ids, district) for role, ids in plan.links_by_role.items()]
    return [
        (school_id, role, json.dumps(ids, ensure_ascii=False), district)
        for role, ids in plan.links_by_role.items()
    ]


def _class_rows(plan: RosterPlan, school_id: str) -> list[Row]:
    return [
        (school_id, class_id, *_CLASS_VALUES(info)) for class_id, info in plan.classes_put.items()
    ]


def _contact_rows(plan: RosterPlan, school_id: str) -> list[Row]:
    return [
        (school_id, contact, student, link.relationship, link.type)
        for (contact, student), link in plan.contact_links_put.items()
    ]
