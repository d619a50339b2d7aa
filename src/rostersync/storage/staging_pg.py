"""A fetch staged in the PostgreSQL store's own server, for a sync that keeps no fetch cache.

``storage.staging`` spills a fetch to a SQLite file next to the sync process; when that file
is only temporary (the fetch cache is off), a PostgreSQL store can hold the fetch instead:
the same tables, as temporary tables of a connection of the sync's own, filled by COPY and
indexed and summed by the server. The sync process then leaves SQLite's B-tree work to the
server (inserting about nine million rows at R1M, indexing them, the per-school digests,
and the reads of each school's users): an R1M first load took a fifth less CPU in the sync
process (docs/performance.md, item 65), and no local disk at all, which a worker with a small
disk needs (a 1M-student district stages about 2 GB).

It is the ``RosterStaging`` port without a previous fetch to merge into: every user is
mapped and staged, nothing is passed over, and the reads give exactly what a fresh
``SqliteStaging`` gives for the same fetch (``tests/property/test_pg_staging.py``): the
same users in the same order (ids compared byte by byte, ``COLLATE "C"``, as SQLite does),
the first of a user staged twice, every placement of both, the same digests, problems and
unknown students. Temporary tables vanish with the connection, so a sync that crashes
leaves nothing behind in the database. (Text goes as COPY text, escaped as the apply's
COPY escapes it, ``roster_copy.copy_value``; a NUL, which PostgreSQL text cannot hold,
never reaches it: the mapping takes NULs out of records.)
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import msgspec
from sqlalchemy import Engine

from rostersync.domain.partial import Scope
from rostersync.domain.records import ChunkKey, MappedUser, PageKey, RowProblem, SectionRecord
from rostersync.domain.roster import placement
from rostersync.storage.roster_copy import copy_value
from rostersync.storage.staging import digests_of, has_own_problems, in_order, record_hash

# Rows held before a COPY sends them (each table's own list).
_BATCH = 10_000
# The server's memory for the temporary tables of the staging's session (its default is
# 8 MB: a 200k district's users alone are about 100 MB, written to and read back from
# temporary files without it). A bound, allocated as used.
TEMP_BUFFERS = "128MB"

# ``seq`` keeps the order rows were added in (COPY fills it in row order); every id is
# compared byte by byte, as SQLite and Python compare them.
_SCHEMA = (
    'CREATE TEMP TABLE st_users (seq bigserial, id text COLLATE "C" NOT NULL,'
    " h bigint NOT NULL, student boolean NOT NULL, placed boolean NOT NULL,"
    " flagged boolean NOT NULL, blob bytea NOT NULL)",
    'CREATE TEMP TABLE st_direct (school text COLLATE "C" NOT NULL,'
    ' user_id text COLLATE "C" NOT NULL, roles integer NOT NULL)',
    'CREATE TEMP TABLE st_contact_students (link bigserial, contact text COLLATE "C" NOT NULL,'
    ' student text COLLATE "C" NOT NULL)',
    'CREATE TEMP TABLE st_sections (seq bigserial, school text COLLATE "C" NOT NULL,'
    ' id text COLLATE "C" NOT NULL, h bigint NOT NULL, blob bytea NOT NULL)',
    'CREATE TEMP TABLE st_problems (seq bigserial, school text COLLATE "C" NOT NULL,'
    " blob bytea NOT NULL)",
)
_COPY = {
    "users": "COPY st_users (id, h, student, placed, flagged, blob) FROM STDIN",
    "direct": "COPY st_direct (school, user_id, roles) FROM STDIN",
    "contact_students": "COPY st_contact_students (contact, student) FROM STDIN",
    "sections": "COPY st_sections (school, id, h, blob) FROM STDIN",
    "problems": "COPY st_problems (school, blob) FROM STDIN",
}
# A user staged twice in one fetch (listed out of order, twice): the first stays, as the
# staging file's ``INSERT OR IGNORE`` keeps it; both keep their placements.
_FIRST_ONLY = "DELETE FROM st_users u USING st_users f WHERE f.id = u.id AND f.seq < u.seq"
_FINISH = (
    "CREATE UNIQUE INDEX ON st_users (id) INCLUDE (h, student, placed)",
    "CREATE INDEX ON st_direct (school, user_id, roles)",
    "CREATE INDEX ON st_direct (user_id)",
    "CREATE INDEX ON st_contact_students (student)",
    "CREATE INDEX ON st_sections (school, id, seq)",
    "CREATE INDEX ON st_problems (school, seq)",
    # Temporary tables get no statistics from autovacuum; the reads' joins need them.
    "ANALYZE st_users",
    "ANALYZE st_direct",
    "ANALYZE st_contact_students",
    "ANALYZE st_sections",
    "ANALYZE st_problems",
)
# The statements below mirror ``staging_sql``'s of the same names (see there).
_DIGESTS = """
SELECT d.school, 0, count(*), sum(u.h & 2147483647), sum((u.h >> 31) & 2147483647)
  FROM st_direct d JOIN st_users u ON u.id = d.user_id GROUP BY d.school
UNION ALL
SELECT d.school, 1, count(*), sum(u.h & 2147483647), sum((u.h >> 31) & 2147483647)
  FROM st_direct d JOIN st_contact_students cs ON cs.student = d.user_id
  JOIN st_users u ON u.id = cs.contact
 WHERE d.roles & 1 = 1 GROUP BY d.school
UNION ALL
SELECT school, 2, count(*), sum(h & 2147483647), sum((h >> 31) & 2147483647)
  FROM st_sections GROUP BY school
ORDER BY 1, 2
"""
_UNKNOWN_STUDENTS = """
SELECT cs.contact, cs.student FROM st_contact_students cs
 WHERE NOT EXISTS (SELECT 1 FROM st_users u WHERE u.id = cs.student AND u.student)
 ORDER BY cs.contact, cs.link
"""
_SCHOOL_IDS = """
SELECT user_id FROM st_direct WHERE school = %(school)s
UNION
SELECT cs.contact FROM st_direct d JOIN st_contact_students cs ON cs.student = d.user_id
 WHERE d.school = %(school)s AND d.roles & 1 = 1
"""
_SCHOOL_USERS = f"SELECT u.blob FROM st_users u WHERE u.id IN ({_SCHOOL_IDS}) ORDER BY u.id"  # noqa: S608
_SCHOOL_USERS_PART = (
    f"SELECT u.blob FROM st_users u WHERE u.id IN ({_SCHOOL_IDS})"  # noqa: S608
    " AND (u.flagged OR u.id = ANY(%(scope)s)) ORDER BY u.id"
)
_SCHOOL_ROLES = "SELECT user_id, roles FROM st_direct WHERE school = %s"
_SCHOOL_SECTIONS = "SELECT blob FROM st_sections WHERE school = %s ORDER BY id, seq"
_PROBLEMS = "SELECT seq, blob FROM st_problems WHERE school = %s ORDER BY seq"
_USER = "SELECT blob FROM st_users WHERE id = %s"
_UNPLACED = "SELECT blob FROM st_users WHERE NOT placed ORDER BY id"


class PgStaging:
    """The ``RosterStaging`` port in temporary tables of a PostgreSQL connection of its own
    (to ``engine``'s database, closed with the staging), for one fetch with no fetch cache.
    Close it after use."""

    def __init__(self, engine: Engine) -> None:
        # A connection of its own, not one of the pool's: a fresh session, so that its
        # temporary tables are only these and ``temp_buffers`` can still be set (a pooled
        # session may have used temporary tables already, as the apply's stages do).
        args, kwargs = engine.dialect.create_connect_args(engine.url)
        conn: Any = engine.dialect.connect(*args, **kwargs)
        conn.autocommit = True
        self._conn = conn
        conn.execute("SET jit = off")  # as the store's sessions (``storage.engine``)
        conn.execute(f"SET temp_buffers = '{TEMP_BUFFERS}'")
        for statement in _SCHEMA:
            conn.execute(statement)
        self._pending: dict[str, list[str]] = {name: [] for name in _COPY}
        self._users = self._pending["users"]
        self._direct = self._pending["direct"]
        self._contact_students = self._pending["contact_students"]
        self._hashed: tuple[str, int] = ("", 0)
        self._top = ""  # the highest user id staged so far
        self._disordered = False  # a user id came at or below it: maybe staged twice
        self._finished = False
        self._digests: dict[str, str] = {}
        self._shared: list[tuple[int, RowProblem]] | None = None
        self._encode = msgspec.msgpack.Encoder().encode
        self._user = msgspec.msgpack.Decoder(MappedUser)
        self._section = msgspec.msgpack.Decoder(SectionRecord)
        self._problem = msgspec.msgpack.Decoder(RowProblem)

    @property
    def merging(self) -> bool:
        return False

    # writing (during the fetch); with no previous fetch, nothing is unchanged or kept
    def unchanged_user(self, user_id: str, raw: bytes) -> bool:
        self._hashed = (user_id, record_hash(raw))
        return False

    def unchanged_page(self, key: PageKey) -> bool:
        return False

    def add_page(self, key: PageKey) -> None:
        """Nothing to keep: no later fetch reads this staging."""

    def known_chunks(
        self, keys: list[ChunkKey], page: PageKey | None = None
    ) -> dict[ChunkKey, tuple[str, str]]:
        return {}

    def pass_over(self, first_id: str, last_id: str) -> bool:
        return False

    def add_chunk(self, key: ChunkKey, first_id: str, last_id: str) -> None:
        """Nothing to keep (see ``add_page``)."""

    def add_user(self, user: MappedUser) -> None:
        """As ``SqliteStaging.add_user``: the user, its placements, and the students it is a
        contact of, each as a line of COPY text."""
        record = user.record
        user_id = record.source_id
        hashed_id, h = self._hashed
        blob = self._encode(user)
        if hashed_id != user_id:  # not offered to ``unchanged_user`` first
            h = record_hash(blob)
        if user_id <= self._top:
            self._disordered = True
        else:
            self._top = user_id
        schools, students = placement(record)
        placed = "t" if schools or students else "f"
        student = "f" if record.student is None else "t"
        flagged = "t" if has_own_problems(user) else "f"
        # (ids are letters and digits, which COPY text takes as they are: escaped only if not)
        uid = user_id if user_id.isalnum() else copy_value(user_id)
        self._users.append(f"{uid}\t{h}\t{student}\t{placed}\t{flagged}\t\\\\x{blob.hex()}\n")
        direct = self._direct
        for school, roles in schools:
            direct.append(f"{school if school.isalnum() else copy_value(school)}\t{uid}\t{roles}\n")
        links = self._contact_students
        for other in students:
            links.append(f"{uid}\t{other if other.isalnum() else copy_value(other)}\n")
        if len(self._users) >= _BATCH:
            self._flush_users()

    def unchanged_section_page(self, key: PageKey) -> bool:
        return False

    def add_section_page(self, key: PageKey) -> None:
        """Nothing to keep (see ``add_page``)."""

    def known_section_chunks(self, keys: list[ChunkKey]) -> dict[ChunkKey, tuple[str, str]]:
        return {}

    def keep_section_chunk(self, key: ChunkKey) -> None:
        raise ValueError("A staging with no previous fetch holds no chunk of sections to keep.")

    def add_section(self, section: SectionRecord) -> None:
        blob = self._encode(section)
        line = (
            f"{copy_value(section.school_id)}\t{copy_value(section.source_id)}\t{record_hash(blob)}"
        )
        self._add("sections", f"{line}\t\\\\x{blob.hex()}\n")

    def end_section_chunk(self, key: ChunkKey, first_id: str, last_id: str, whole: bool) -> None:
        """Nothing to keep (see ``add_page``)."""

    def add_problem(self, problem: RowProblem) -> None:
        blob = self._encode(problem)
        self._add("problems", f"{copy_value(problem.school_id)}\t\\\\x{blob.hex()}\n")

    def finish(self) -> None:
        """Send what is pending, keep the first of any user staged twice, index the tables
        and sum the per-school digests."""
        for name in _COPY:
            self._flush(name)
        conn = self._conn
        if self._disordered:
            conn.execute(_FIRST_ONLY)
        for statement in _FINISH:
            conn.execute(statement)
        self._digests = digests_of(conn.execute(_DIGESTS))
        self._finished = True

    # reading (during the evaluation)
    def school_users(self, school_id: str) -> Iterator[MappedUser]:
        decode = self._user.decode
        for (blob,) in self._read(_SCHOOL_USERS, {"school": school_id}):
            yield decode(blob)

    def school_users_part(self, school_id: str, scope: Scope) -> Iterator[MappedUser]:
        """``school_users``, only those in ``scope`` or with problems of their own."""
        decode = self._user.decode
        params = {"school": school_id, "scope": sorted(scope.accounts)}
        for (blob,) in self._read(_SCHOOL_USERS_PART, params):
            yield decode(blob)

    def school_roles(self, school_id: str) -> dict[str, int]:
        """Each user placed in the school directly, with its role bits there (the bits of a
        user staged twice combined)."""
        roles: dict[str, int] = {}
        for user_id, bits in self._read(_SCHOOL_ROLES, (school_id,)):
            roles[user_id] = roles.get(user_id, 0) | bits
        return roles

    def school_sections(self, school_id: str) -> Iterator[SectionRecord]:
        decode = self._section.decode
        for (blob,) in self._read(_SCHOOL_SECTIONS, (school_id,)):
            yield decode(blob)

    def problems(self, school_id: str) -> list[RowProblem]:
        """As ``SqliteStaging.problems``: those tied to no school decoded once and handed to
        every school as the same objects, merged with the school's own in the order added."""
        if self._shared is None:
            self._shared = self._problems_of("")
        return in_order(self._shared, self._problems_of(school_id) if school_id else [])

    def _problems_of(self, school_id: str) -> list[tuple[int, RowProblem]]:
        decode = self._problem.decode
        return [(seq, decode(blob)) for seq, blob in self._read(_PROBLEMS, (school_id,))]

    def unknown_students(self) -> list[tuple[str, str]]:
        return [(contact, student) for contact, student in self._read(_UNKNOWN_STUDENTS, ())]

    def input_digests(self) -> dict[str, str]:
        self._check_finished()
        return dict(self._digests)

    def user(self, user_id: str) -> MappedUser | None:
        rows = self._read(_USER, (user_id,))
        return None if not rows else self._user.decode(rows[0][0])

    def unplaced_users(self) -> Iterator[MappedUser]:
        decode = self._user.decode
        for (blob,) in self._read(_UNPLACED, ()):
            yield decode(blob)

    def previous_check(self, school_id: str) -> str | None:
        """Always ``None``: there is no previous fetch."""
        return None

    def school_scope(self, school_id: str) -> Scope:
        """Nothing changed since a previous fetch: there is none."""
        return Scope(frozenset(), frozenset())

    def remember_checks(self, shared: str, digests: Mapping[str, str]) -> None:
        """Nothing to keep: no later fetch reads this staging."""

    def close(self) -> None:
        """Close the connection: its temporary tables go with it."""
        self._conn.close()

    def _read(self, query: str, params: Any) -> list[Any]:
        """The rows of a read, in binary (a blob comes as its bytes, not as hex text to
        decode), its plan prepared once per connection."""
        self._check_finished()
        cursor = self._conn.execute(query, params, prepare=True, binary=True)
        rows: list[Any] = cursor.fetchall()
        return rows

    def _check_finished(self) -> None:
        if not self._finished:
            raise ValueError("The staging is read only after finish().")

    def _add(self, name: str, line: str) -> None:
        pending = self._pending[name]
        pending.append(line)
        if len(pending) >= _BATCH:
            self._flush(name)

    def _flush_users(self) -> None:
        for name in ("users", "direct", "contact_students"):
            self._flush(name)

    def _flush(self, name: str) -> None:
        pending = self._pending[name]
        if not pending:
            return
        with self._conn.cursor() as cursor, cursor.copy(_COPY[name]) as copy:
            copy.write("".join(pending))
        pending.clear()
