"""A district fetch spilled to a temporary SQLite file, read back one school at a time.

A sync fetches the whole district before it can judge any school (a school's contacts come
through its students, its memberships through its sections), but a 1M-student district as
Python objects takes several GB. So each record goes into this file as it arrives, indexed
by the schools it belongs to, and the evaluation reads back one school's records at a time:
memory is bounded by a page and a school, not by the district. Users are kept as the source
sent them (most schools are unchanged on a resync, and their users need never be mapped);
sections and row problems, few and already mapped, as msgpack.

The file lives in the system temporary directory with journaling and syncing off (it is
thrown away after the run, and a crash loses nothing that matters) and is deleted on close.
It uses the standard library's ``sqlite3`` directly: it is not the store, it needs no schema
migrations, and it must work the same whichever database the store uses.
"""

from __future__ import annotations

import contextlib
import hashlib
import heapq
import os
import sqlite3
import tempfile
from collections.abc import Iterator
from typing import Any

import msgspec

from rostersync.domain.records import RowProblem, SectionRecord, UserRef

_BATCH = 10_000
# No journal and no syncing (the file is thrown away); a page cache of 8 MiB, so memory does
# not follow the file; larger pages, since users are kept as raw items of about 500 bytes.
_PRAGMAS = (
    "page_size=16384",
    "journal_mode=OFF",
    "synchronous=OFF",
    "cache_size=-8192",
    "temp_store=FILE",
)
_SCHEMA = """
CREATE TABLE users (id TEXT PRIMARY KEY, h INTEGER NOT NULL, student INTEGER NOT NULL,
                    blob BLOB NOT NULL);
CREATE TABLE direct (school TEXT NOT NULL, user_id TEXT NOT NULL, as_student INTEGER NOT NULL);
CREATE TABLE contact_students (contact TEXT NOT NULL, student TEXT NOT NULL);
CREATE TABLE sections (school TEXT NOT NULL, id TEXT NOT NULL, h INTEGER NOT NULL,
                       blob BLOB NOT NULL);
CREATE TABLE problems (seq INTEGER PRIMARY KEY, school TEXT NOT NULL, blob BLOB NOT NULL);
"""
_INDEXES = """
CREATE INDEX ix_direct ON direct (school, user_id);
CREATE INDEX ix_contact_students ON contact_students (student);
CREATE INDEX ix_sections ON sections (school, id);
CREATE INDEX ix_problems ON problems (school, seq);
"""
_INSERTS = {
    "users": "INSERT OR IGNORE INTO users VALUES (?, ?, ?, ?)",
    "direct": "INSERT INTO direct VALUES (?, ?, ?)",
    "contact_students": "INSERT INTO contact_students VALUES (?, ?)",
    "sections": "INSERT INTO sections VALUES (?, ?, ?, ?)",
    "problems": "INSERT INTO problems (school, blob) VALUES (?, ?)",
}
_SCHOOL_USERS = """
SELECT u.id, u.blob FROM direct d JOIN users u ON u.id = d.user_id WHERE d.school = ?1
UNION
SELECT u.id, u.blob FROM direct d
  JOIN contact_students cs ON cs.student = d.user_id
  JOIN users u ON u.id = cs.contact
 WHERE d.school = ?1 AND d.as_student = 1
ORDER BY 1
"""
# Per school: how many staged inputs it has and two 31-bit sums of their hashes, an
# order-free digest of the multiset computed inside SQLite (no Python per row). Each kind
# (direct users, contacts through its students, sections) is summed on its own.
_DIGEST_PARTS = (
    "SELECT d.school, u.h FROM direct d JOIN users u ON u.id = d.user_id",
    """SELECT d.school, u.h FROM direct d
  JOIN contact_students cs ON cs.student = d.user_id
  JOIN users u ON u.id = cs.contact
 WHERE d.as_student = 1""",
    "SELECT school, h FROM sections",
)
_DIGEST = """
SELECT school, count(*), sum(h & 2147483647), sum((h >> 31) & 2147483647)
  FROM ({part}) GROUP BY school
"""
_UNKNOWN_STUDENTS = """
SELECT contact, student FROM contact_students
 WHERE student NOT IN (SELECT id FROM users WHERE student) ORDER BY rowid
"""


class SqliteStaging:
    """The ``RosterStaging`` port: write a district's records, then read them per school."""

    def __init__(self, directory: str | None = None) -> None:
        handle, self._path = tempfile.mkstemp(
            prefix="rostersync-fetch-", suffix=".db", dir=directory
        )
        os.close(handle)
        self._db = sqlite3.connect(self._path, isolation_level=None)
        for pragma in _PRAGMAS:
            self._db.execute(f"PRAGMA {pragma}")
        self._db.executescript(_SCHEMA)
        self._db.execute("BEGIN")
        self._pending: dict[str, list[tuple[Any, ...]]] = {name: [] for name in _INSERTS}
        self._users = self._pending["users"]
        self._direct = self._pending["direct"]
        self._contact_students = self._pending["contact_students"]
        self._encode = msgspec.msgpack.Encoder().encode
        self._section = msgspec.msgpack.Decoder(SectionRecord)
        self._problem = msgspec.msgpack.Decoder(RowProblem)
        self._shared: list[tuple[int, RowProblem]] | None = None

    # writing (during the fetch)
    def add_user(self, user: UserRef) -> None:
        """A user's raw item (hashed as sent: the same item always maps the same), the
        schools it belongs to directly (and whether as a student there), and the students
        it is a contact of. Called once per user of every fetch, hence written out flat."""
        user_id, schools, students, is_student, blob = user
        users, direct, links = self._users, self._direct, self._contact_students
        users.append((user_id, _hash(blob), int(is_student), blob))
        for school, as_student in schools:
            direct.append((school, user_id, int(as_student)))
        for student in students:
            links.append((user_id, student))
        if len(users) >= _BATCH:
            for name in ("users", "direct", "contact_students"):
                self._flush(name)

    def add_section(self, section: SectionRecord) -> None:
        blob = self._encode(section)
        self._add("sections", (section.school_id, section.source_id, _hash(blob), blob))

    def add_problem(self, problem: RowProblem) -> None:
        self._add("problems", (problem.school_id, self._encode(problem)))

    def finish(self) -> None:
        """Write what is pending and index the file for reading by school."""
        for name in _INSERTS:
            self._flush(name)
        self._db.execute("COMMIT")
        self._db.executescript(_INDEXES)

    # reading (during the evaluation)
    def school_users(self, school_id: str) -> Iterator[bytes]:
        """The raw items of a school's users: its students, teachers and staff, and their
        contacts, by id."""
        for _, blob in self._db.execute(_SCHOOL_USERS, (school_id,)):
            yield blob

    def user(self, user_id: str) -> bytes | None:
        row = self._db.execute("SELECT blob FROM users WHERE id = ?", (user_id,)).fetchone()
        return None if row is None else bytes(row[0])

    def school_sections(self, school_id: str) -> Iterator[SectionRecord]:
        query = "SELECT blob FROM sections WHERE school = ? ORDER BY id"
        for (blob,) in self._db.execute(query, (school_id,)):
            yield self._section.decode(blob)

    def problems(self, school_id: str) -> list[RowProblem]:
        """The row problems of a school, and those tied to no school, in the order found.
        Those tied to no school are decoded once and handed out as the same objects to
        every school (the store recognises a district-wide set it has just written)."""
        if self._shared is None:
            self._shared = self._problems_of("")
        if not school_id:
            return [problem for _, problem in self._shared]
        own = self._problems_of(school_id)
        return [problem for _, problem in heapq.merge(self._shared, own, key=_seq)]

    def _problems_of(self, school_id: str) -> list[tuple[int, RowProblem]]:
        query = "SELECT seq, blob FROM problems WHERE school = ? ORDER BY seq"
        rows = self._db.execute(query, (school_id,))
        return [(seq, self._problem.decode(blob)) for seq, blob in rows]

    def input_digests(self) -> dict[str, str]:
        """Per school, a digest of every staged record its roster is built from: its users,
        the contacts of its students and its sections (problems and the small tables are
        for the caller to add)."""
        parts: dict[str, list[str]] = {}
        for kind, part in enumerate(_DIGEST_PARTS):
            for school, count, low, high in self._db.execute(_DIGEST.format(part=part)):
                parts.setdefault(school, []).append(f"{kind}:{count}:{low}:{high}")
        return {school: ",".join(values) for school, values in parts.items()}

    def unknown_students(self) -> list[tuple[str, str]]:
        """(contact, student) pairs naming a student who is not in the fetch."""
        return [(c, s) for c, s in self._db.execute(_UNKNOWN_STUDENTS)]

    def close(self) -> None:
        self._db.close()
        for suffix in ("", "-journal", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._path + suffix)

    def _add(self, name: str, row: tuple[Any, ...]) -> None:
        pending = self._pending[name]
        pending.append(row)
        if len(pending) >= _BATCH:
            self._flush(name)

    def _flush(self, name: str) -> None:
        pending = self._pending[name]
        if pending:
            self._db.executemany(_INSERTS[name], pending)
            pending.clear()


def _seq(item: tuple[int, RowProblem]) -> int:
    return item[0]


def _hash(blob: bytes) -> int:
    """A 62-bit hash of a staged record (non-negative, so SQLite sums its halves exactly)."""
    return int.from_bytes(hashlib.blake2b(blob, digest_size=8).digest(), "little") >> 2
