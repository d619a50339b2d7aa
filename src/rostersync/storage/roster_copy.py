"""PostgreSQL's COPY for the roster INSERTs of an apply: how a first load stays cheap there.

The other way ``roster_sql`` sends many rows in one statement, one JSON array of them, costs
the client about 1.5-2 µs a row (``json.dumps``, and the server's ``jsonb`` parse). The COPY
text is built here with a few joins per chunk of rows: about 0.3 µs a row.

``by_copy`` routes the INSERTs of ``roster_writes`` two ways:

- straight into the table, for plain values into a table that holds no row of the school
  (``fresh``): no key can conflict there, so no ON CONFLICT is lost;
- through a temporary staging table, for everything else large: the accounts (district-wide,
  so any may exist already) and the upserts into tables that hold rows of the school. The
  rows are copied into the stage and an INSERT ... SELECT like the one that reads the JSON
  rows, with its ON CONFLICT, reads the stage, emptying it in the same statement (``WITH
  staged AS (DELETE ... RETURNING *)``). The stage costs two more round trips, more than
  the JSON of a few hundred rows.

Each write has a stage of its own (``pg_temp.roster_stage_<write>``), made the first time a
connection needs it (``CREATE TEMP TABLE IF NOT EXISTS``) and kept: creating and dropping a
temporary table for every school of a first load churned the catalog (thousands of rows of
``pg_class`` and ``pg_attribute`` written and deleted). ``ON COMMIT DELETE ROWS`` empties it
at every commit whatever happened, and a rollback takes back the rows copied in (or the
table, if that transaction made it); behind a transaction-pooling proxy, a connection that
lacks it makes it.

The school links never need either: their write is one row per role, the accounts' source
ids an array in it (``roster_sql``), a few rows whatever the size of the school.

Only the COPY itself runs on psycopg's own connection (SQLAlchemy has no COPY): it is the
connection of the apply, so the same transaction.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from rostersync.storage.roster_sql import Row, Write, conflict_clause

# Below this many rows an INSERT that needs the stage sends its rows as JSON instead
# (accounts, measured locally, client CPU a statement: JSON 0.4 ms against the stage's 0.5 at
# 200 rows, the same at 500, 1.7 against 1.2 at 1,000 and 4.2 against 2.5 at 3,000).
STAGE_MIN_ROWS = 500
# Rows per piece of COPY text: bounds the text held at once (about 1 MB).
_CHUNK_ROWS = 10_000

_STAGE = "pg_temp.roster_stage"

# COPY straight into a table holding no row of the school: the statement, in the rows' column
# order, and the constant columns each line ends with (COPY text), where the INSERT has them.
_STRAIGHT: dict[str, tuple[str, str]] = {
    "insert_classes": (
        "COPY classes (school_id, source_id, name, subject, period, grade, section_number,"
        " sis_id, term, course, archived) FROM STDIN",
        "\tf",
    ),
    "insert_memberships": (
        "COPY memberships (school_id, class_source_id, account_source_id, role) FROM STDIN",
        "",
    ),
    "insert_contact_links": (
        "COPY contact_links (school_id, contact_source_id, student_source_id, relationship,"
        " type) FROM STDIN",
        "",
    ),
}

# Through a stage (``_STAGE`` and the write's name): its columns (the rows' order, all text as
# the arrays were), and the INSERT reading what the stage held (``staged``, emptied as it is
# read), which ``roster_sql.conflict_clause`` completes where keys may exist. Written out in
# full, as in ``roster_sql``.
_STAGED: dict[str, tuple[str, str]] = {
    "upsert_accounts": (
        "district_id, source_id, roles, first_name, middle_name, last_name, email, sis_id,"
        " number, grade, phone",
        "INSERT INTO accounts (district_id, source_id, roles, first_name, middle_name,"
        " last_name, email, sis_id, number, grade, phone, active)"
        " SELECT *, TRUE FROM staged",
    ),
    "insert_classes": (
        "school_id, source_id, name, subject, period, grade, section_number, sis_id, term, course",
        "INSERT INTO classes (school_id, source_id, name, subject, period, grade,"
        " section_number, sis_id, term, course, archived)"
        " SELECT *, FALSE FROM staged",
    ),
    "insert_memberships": (
        "school_id, class_source_id, account_source_id, role",
        "INSERT INTO memberships (school_id, class_source_id, account_source_id, role)"
        " SELECT * FROM staged",
    ),
    "insert_contact_links": (
        "school_id, contact_source_id, student_source_id, relationship, type",
        "INSERT INTO contact_links"
        " (school_id, contact_source_id, student_source_id, relationship, type)"
        " SELECT * FROM staged",
    ),
}


@dataclass(frozen=True, slots=True)
class CopyWrite:
    """One bulk INSERT whose rows go by COPY: straight into ``table``, or, when ``insert`` is
    set, into a staging table (``stage``, the DDL that makes it if missing) that ``insert``
    then reads and empties."""

    table: str
    copy: str
    rows: list[Row]
    tail: str = ""
    stage: str = ""
    insert: str = ""

    def run(self, conn: Connection) -> int:
        """Write the rows in ``conn``'s transaction; return the rows inserted or updated.

        The statements other than COPY go through SQLAlchemy like every other write, so its
        cursor events still see them."""
        if self.stage:
            conn.exec_driver_sql(self.stage)
        driver: Any = conn.connection.driver_connection
        with driver.cursor() as cursor:
            with cursor.copy(self.copy) as copy:
                for text in copy_text(self.rows, self.tail):
                    copy.write(text)
            copied: int = cursor.rowcount
        if not self.insert:
            return copied
        return int(conn.exec_driver_sql(self.insert).rowcount)


def by_copy(writes: list[Write]) -> list[Write | CopyWrite]:
    """The PostgreSQL writes with their INSERTs sent by COPY where that is cheaper."""
    return [_routed(write) for write in writes]


def _routed(write: Write) -> Write | CopyWrite:
    """The write by COPY straight into its table, by COPY through the stage, or unchanged
    (not an INSERT, or too few rows to pay for the stage)."""
    rows = write.rows
    if not write.upsert and write.name in _STRAIGHT:
        copy, tail = _STRAIGHT[write.name]
        return CopyWrite(write.table, copy, rows, tail)
    if write.name in _STAGED and len(rows) >= STAGE_MIN_ROWS:
        columns, insert = _STAGED[write.name]
        table = f"{_STAGE}_{write.name}"
        # The names are this module's own (``_STAGE``, the keys of ``_STAGED``), no value.
        insert = f"WITH staged AS (DELETE FROM {table} RETURNING *) {insert}"  # noqa: S608
        if write.upsert:
            insert += conflict_clause(write.name)
        stage = f"CREATE TEMP TABLE IF NOT EXISTS {table} ("
        stage += ", ".join(f"{column} text" for column in columns.split(", "))
        stage += ") ON COMMIT DELETE ROWS"
        return CopyWrite(write.table, f"COPY {table} FROM STDIN", rows, "", stage, insert)
    return write


def copy_text(rows: Sequence[Row], tail: str = "") -> Iterator[str]:
    """The rows as COPY text (tab-separated lines), a chunk at a time; ``tail`` ends each line.

    Every value is a string (the roster columns are NOT NULL text). Joining whole rows is
    the cheap part; a chunk whose counts of tabs and line breaks show that no value holds
    one, and that holds no backslash or carriage return, needs no escaping at all. Any
    other chunk is escaped value by value."""
    for start in range(0, len(rows), _CHUNK_ROWS):
        chunk = rows[start : start + _CHUNK_ROWS]
        text = "\n".join(map("\t".join, chunk))
        tabs = len(chunk) * (len(chunk[0]) - 1)
        if (
            text.count("\t") != tabs
            or text.count("\n") != len(chunk) - 1
            or "\\" in text
            or "\r" in text
        ):
            text = "\n".join("\t".join(map(copy_value, row)) for row in chunk)
        if tail:
            # Escaped, a value holds no line break: every one left ends a line.
            text = text.replace("\n", tail + "\n")
        yield text + tail + "\n"


def copy_value(value: str) -> str:
    """A value as COPY text: backslash first, then the characters that would end a field or a
    line. COPY reads every other character as itself (the text is in the client encoding)."""
    return (
        value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    )
