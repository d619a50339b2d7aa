"""A district fetch spilled to a SQLite file, read back one school at a time; kept between
syncs as the district's fetch cache, so a resync stages only what changed.

A sync fetches the whole district before it can judge any school (a school's contacts come
through its students, its memberships through its sections), but a 1M-student district as
Python objects takes several GB. So each record goes into this file as it arrives, indexed
by the schools it belongs to, and the evaluation reads back one school's records at a time:
memory is bounded by a page and a school, not by the district. Users are kept mapped, with
their mapping problems, and sections and row problems, as msgpack.

Users are most of a district and most of them do not change between syncs. With a cache
file, the users of the last complete fetch stay in it, and a fetch *merges* the new items
against them in id order (Clever lists are sorted by id; an item out of order is looked up
on its own): an item whose hash is the one stored is done, without being decoded or
written; a changed or new one replaces its rows; a stored user the fetch did not list is
dropped at the end. The schools those rows reach are *touched*, and only their per-school
digests (``input_digests``) are recomputed. The outcome equals a fresh staging of the same
fetch (a property test pins this), whatever the cache held before: it is only a cache.

Sections are kept the same way, by the runs of items (chunks) they were staged in rather
than by id: a page or chunk of sections the last fetch staged whole (every item a section
mapped without a problem) and that comes back the same keeps its rows, unread; the others
are mapped and staged anew, and the rows of the last fetch's chunks not kept are dropped at
the end. The sections that changed (for ``school_scope``) and the per-school digests follow
the rows added and dropped.

A cache is marked dirty (durably) before a fetch changes it and clean after the fetch is
written and synced; a dirty, unreadable or other-version file is thrown away and rebuilt by
a full fetch, and so is one left by a failed fetch. Writes are unjournaled and unsynced
until then. One process at a time uses a cache (an exclusive ``flock``); another sync of
the same district meanwhile stages into a temporary file instead.

It uses the standard library's ``sqlite3`` directly: it is not the store, it needs no
schema migrations, and it must work the same whichever database the store uses.
"""

from __future__ import annotations

import heapq
import json
import os
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import msgspec
import xxhash

from rostersync.domain.partial import Scope
from rostersync.domain.records import ChunkKey, MappedUser, PageKey, RowProblem, SectionRecord
from rostersync.domain.roster import placement
from rostersync.storage import staging_file as sf
from rostersync.storage import staging_sql as q
from rostersync.storage.staging_merge import PreviousUsers

_BATCH = 10_000


class SqliteStaging:
    """The ``RosterStaging`` port: write a district's records, then read them per school.

    ``cache``: the path of the district's fetch cache, or ``None`` for a temporary file
    deleted on close (as when the cache is in use by another process)."""

    def __init__(self, cache: str | None = None, directory: str | None = None) -> None:
        self._lock = sf.lock(cache) if cache else None
        self._keep = self._lock is not None
        self._path = cache if cache and self._keep else sf.temp_file(directory)
        self._fetch_path = sf.temp_file(directory)
        self._db = sf.open_users(self._path, self._keep)
        self._db.execute("ATTACH DATABASE ? AS f", (self._fetch_path,))
        for pragma in sf.PRAGMAS:
            self._db.execute(f"PRAGMA f.{pragma}")
        sf.run(self._db, q.FETCH_SCHEMA)
        self._db.execute("BEGIN")
        merging = self._db.execute("SELECT 1 FROM users LIMIT 1").fetchone() is not None
        if merging:  # (there since the file's first fetch; the merge's statements name them)
            sf.run(self._db, q.READ_INDEXES + q.MERGE_INDEXES)
        self._previous = PreviousUsers(self._db, self._gone, self._back) if merging else None
        # The digests the last sync found for the state this fetch merges into; forgotten
        # now (in this fetch's transaction), and remembered again by ``remember_checks``.
        self._checks: dict[str, str] = {}
        if merging and self._keep:
            self._checks = dict(self._db.execute("SELECT school, digest FROM school_checks"))
        self._db.execute("DELETE FROM school_checks")
        # The pages the last fetch staged whole, by first id; kept again as this fetch
        # confirms them (``unchanged_page``, ``add_page``).
        self._pages: dict[str, tuple[str, int, bytes]] = {}
        if merging and self._keep:
            self._pages = {
                first: (last, size, digest)
                for first, last, size, digest in self._db.execute(q.PAGES)
            }
        self._db.execute("DELETE FROM pages")
        # Sections: the chunks staged so far have ids up to ``_top``; this fetch's start
        # above it (``_chunk``: the one being staged), and the pages kept are checked again.
        self._section_pages: dict[str, tuple[str, int, bytes]] = {}
        if merging and self._keep:
            self._section_pages = {
                first: (last, size, digest)
                for first, last, size, digest in self._db.execute(q.SECTION_PAGES)
            }
        else:
            sf.run_all(self._db, q.NO_SECTIONS)
        self._db.execute("DELETE FROM section_pages")
        top = self._db.execute("SELECT max(id) FROM section_chunks").fetchone()[0]
        self._top: int = top or 0
        self._chunk = self._top + 1
        self._chunk_open = False  # sections were added to ``_chunk``
        self._known_sections: dict[ChunkKey, int] = {}
        self._pending: dict[str, list[tuple[Any, ...]]] = {name: [] for name in q.INSERTS}
        self._users = self._pending["users"]
        self._direct = self._pending["direct"]
        self._contact_students = self._pending["contact_students"]
        self._dropping: list[tuple[str]] = []  # changed users whose previous rows go
        self._hashed: tuple[str, int] = ("", 0)
        self._clean = False
        self._encode = msgspec.msgpack.Encoder().encode
        self._section = msgspec.msgpack.Decoder(SectionRecord)
        self._user = msgspec.msgpack.Decoder(MappedUser)
        self._problem = msgspec.msgpack.Decoder(RowProblem)
        self._shared: list[tuple[int, RowProblem]] | None = None

    @property
    def merging(self) -> bool:
        return self._previous is not None

    # writing (during the fetch)
    def unchanged_user(self, user_id: str, raw: bytes) -> bool:
        """Whether the previous fetch had this very item (then it stays as it was, and need
        not be added). Otherwise its previous rows are gone, and ``add_user`` adds it anew
        if it maps. Called once per user of every fetch, in the source's order."""
        h = record_hash(raw)
        self._hashed = (user_id, h)
        previous = self._previous
        if previous is None:
            return False
        before = previous.hash_of(user_id)
        if before == h:
            return True
        if before is not None:
            self._drop(user_id, before)
        self._add("changed", (user_id,))
        return False

    def unchanged_page(self, key: PageKey) -> bool:
        """Whether the last fetch staged a page of this key whole: then its users are all
        staged as they were (the previous fetch checked that the stored ids between its
        first and last are its items, no more), and are passed over unread."""
        previous = self._previous
        if previous is None or self._pages.get(key.first_id) != (
            key.last_id,
            key.size,
            key.digest,
        ):
            return False
        if not previous.skip(key.first_id, key.last_id):
            return False
        self.add_page(key)
        if self._keep:  # and its chunks, for a fetch that finds it changed
            self._db.execute(q.CHUNKS_OF_PAGE, (key.first_id, key.last_id))
        return True

    def add_page(self, key: PageKey) -> None:
        """A page staged whole, kept with the cache for the next fetch."""
        if self._keep:
            self._add("pages", tuple(key))

    def known_chunks(
        self, keys: list[ChunkKey], page: PageKey | None = None
    ) -> dict[ChunkKey, tuple[str, str]]:
        """Of these chunks, those the last fetch staged whole, with their first and last ids
        (none without a previous fetch to merge into).

        With the key of their page, the chunk records starting within its ids are read in
        order from the index by first id (which holds every column), instead of each
        digest looked up where it falls in the table: a fetch asks for 200,000 chunks at
        R1M, and those lookups were pages read all over the file. A chunk that came back
        the same holds the same ids, so it starts within its page: the same ones are found."""
        if self._previous is None or not keys:
            return {}
        if page is not None:
            wanted = {key.digest for key in keys}
            rows = self._db.execute(q.CHUNKS_WITHIN, (page.first_id, page.last_id))
            return {
                ChunkKey(digest, size): (first, last)
                for digest, size, first, last in rows
                if digest in wanted
            }
        digests = json.dumps([key.digest for key in keys])
        return {
            ChunkKey(digest, size): (first, last)
            for digest, size, first, last in self._db.execute(q.KNOWN_CHUNKS, (digests,))
        }

    def pass_over(self, first_id: str, last_id: str) -> bool:
        """Keep the stored users from ``first_id`` to ``last_id`` as they are (see
        ``PreviousUsers.skip``)."""
        return self._previous is not None and self._previous.skip(first_id, last_id)

    def add_chunk(self, key: ChunkKey, first_id: str, last_id: str) -> None:
        """A chunk staged whole, kept with the cache for the next fetch (if its ids are still
        exactly its items at the end of the fetch)."""
        if self._keep:
            self._add("chunks", (key.digest, key.size, first_id, last_id))

    def add_user(self, user: MappedUser) -> None:
        """A user (its record and its mapping problems), under the schools it belongs to
        directly (and whether as a student there) and the students it is a contact of."""
        record = user.record
        user_id = record.source_id
        hashed_id, h = self._hashed
        blob = self._encode(user)
        if hashed_id != user_id:  # not offered to ``unchanged_user`` first: never matches
            h = record_hash(blob)
        schools, students = placement(record)
        placed = int(bool(schools or students))
        flagged = int(has_own_problems(user))
        self._users.append((user_id, h, int(record.student is not None), placed, flagged, blob))
        direct, links = self._direct, self._contact_students
        for school, roles in schools:
            direct.append((school, user_id, roles))
        for student in students:
            links.append((user_id, student))
        if len(self._users) >= _BATCH:
            self._flush_users()

    def unchanged_section_page(self, key: PageKey) -> bool:
        """Whether the last fetch staged a page of sections of this key whole: then they
        stay staged as they were (the chunks within its ids), and it is kept for the next
        fetch too."""
        if self._section_pages.get(key.first_id) != (key.last_id, key.size, key.digest):
            return False
        self._db.execute(q.SECTION_PAGE_CHUNKS, (self._top, key.first_id, key.last_id))
        self.add_section_page(key)
        return True

    def add_section_page(self, key: PageKey) -> None:
        """A page of sections staged whole, kept with the cache for the next fetch."""
        if self._keep:
            self._add("section_pages", tuple(key))

    def known_section_chunks(self, keys: list[ChunkKey]) -> dict[ChunkKey, tuple[str, str]]:
        """Of these chunks of sections, those the last fetch staged whole, with their first
        and last ids (none without a previous fetch to merge into)."""
        self._known_sections = {}
        if self._previous is None or not keys:
            return {}
        digests = json.dumps([key.digest for key in keys])
        found: dict[ChunkKey, tuple[str, str]] = {}
        rows = self._db.execute(q.KNOWN_SECTION_CHUNKS, (self._top, digests))
        for chunk_id, digest, size, first, last in rows:
            key = ChunkKey(digest, size)
            found[key] = (first, last)
            self._known_sections[key] = chunk_id
        return found

    def keep_section_chunk(self, key: ChunkKey) -> None:
        """Keep the sections of a chunk ``known_section_chunks`` just found, as staged."""
        self._add("kept_chunks", (self._known_sections[key],))

    def add_section(self, section: SectionRecord) -> None:
        """A section of the chunk being staged (``end_section_chunk`` ends it)."""
        blob = self._encode(section)
        self._add(
            "sections", (self._chunk, section.school_id, section.source_id, record_hash(blob), blob)
        )
        self._chunk_open = True

    def end_section_chunk(self, key: ChunkKey, first_id: str, last_id: str, whole: bool) -> None:
        """The sections added since the last chunk are the chunk ``key``, from ``first_id``
        to ``last_id``; ``whole``: each of its items is one of them, without a problem (it
        may then be kept by the next fetch)."""
        if whole or self._chunk_open:
            row = (self._chunk, key.digest, key.size, first_id, last_id, int(whole))
            self._add("section_chunks", row)
            self._chunk += 1
            self._chunk_open = False

    def add_problem(self, problem: RowProblem) -> None:
        self._add("problems", (problem.school_id, self._encode(problem)))

    def finish(self) -> None:
        """Write what is pending, drop the users the fetch no longer lists, bring the
        per-school digests up to date, and index the file for reading by school."""
        db = self._db
        if self._previous is not None:
            self._previous.finish()
        if self._chunk_open:  # sections added outside a chunk: dropped by the next fetch
            self.end_section_chunk(ChunkKey("", 0), "", "", False)
        self._flush_drops()
        for name in q.INSERTS:
            self._flush(name)
        previous = self._previous
        if previous is not None:
            sf.run_all(db, (*q.KEEP_OLD_GONE, *q.DROP_GONE, *q.CHANGES_KEPT, *q.SCOPES))
            if previous.disordered:
                # An id listed out of order may have been dropped and added again within
                # this fetch, so the kept rows need not be the previous fetch's: count all.
                sf.run_all(db, ("DELETE FROM user_digests", *q.ALL_USER_DIGESTS, *q.FIND_UNKNOWN))
            else:
                sf.run_all(db, (*q.DIGEST_CHANGES, *q.UNKNOWN_CHANGES))
            for sql in q.SECTION_CHANGES:
                db.execute(sql, (self._top,) if "?1" in sql else ())
        else:
            sf.run(db, q.READ_INDEXES)
            if self._keep:  # a temporary file is never merged into
                sf.run(db, q.MERGE_INDEXES)
            sf.run_all(db, ("DELETE FROM user_digests", *q.ALL_USER_DIGESTS, *q.FIND_UNKNOWN))
            sf.run_all(db, q.ALL_SECTION_DIGESTS)
        if self._keep:
            sf.run_all(db, (q.FLAGGED_IN, q.PAGES_CHECKED, *q.CHUNKS_CHECKED))
            sf.run_all(db, (q.SECTION_PAGES_CHECKED,))
        sf.run(db, q.FETCH_INDEXES)
        db.execute("COMMIT")
        if self._keep:
            sf.sync(self._path)
            db.execute("UPDATE meta SET value = 'clean' WHERE key = 'state'")
            sf.sync(self._path)
        self._clean = True

    # reading (during the evaluation)
    def school_users(self, school_id: str) -> Iterator[MappedUser]:
        """A school's users: its students, teachers and staff, and their contacts, by id."""
        decode = self._user.decode
        for (blob,) in self._db.execute(q.SCHOOL_USERS, (school_id,)):
            yield decode(blob)

    def school_users_part(self, school_id: str, scope: Scope) -> Iterator[MappedUser]:
        """``school_users``, only those in ``scope`` or with problems of their own (mapping
        alerts, a teacher without an email)."""
        decode = self._user.decode
        ids = json.dumps(sorted(scope.accounts))
        for _, blob in self._db.execute(q.SCHOOL_USERS_PART, (school_id, ids)):
            yield decode(blob)

    def school_roles(self, school_id: str) -> dict[str, int]:
        """Each user placed in the school directly, with its role bits there."""
        rows = self._db.execute(q.SCHOOL_ROLES, (school_id,)).fetchall()
        roles: dict[str, int] = dict(rows)  # in C: a user is placed once per school
        if len(roles) == len(rows):
            return roles
        roles.clear()  # (a user staged twice in one fetch: its rows' bits are combined)
        for user_id, bits in rows:
            roles[user_id] = roles.get(user_id, 0) | bits
        return roles

    def previous_check(self, school_id: str) -> str | None:
        """The input digest the last sync found for this school (``""``: for the district's
        shared inputs) from the fetch this one merged into; ``None`` when there was no such
        fetch (no cache, a rebuilt cache) or the school was not evaluated from it. Only then
        is ``school_scope`` meaningful."""
        return self._checks.get(school_id)

    def school_scope(self, school_id: str) -> Scope:
        """The accounts and classes whose rows may differ in the school between the fetch
        this one merged into and this one (see ``domain.partial``)."""
        db = self._db
        accounts = frozenset(row[0] for row in db.execute(q.SCOPE_ACCOUNTS, (school_id,)))
        classes = frozenset(row[0] for row in db.execute(q.SCOPE_CLASSES, (school_id,)))
        return Scope(accounts, classes)

    def remember_checks(self, shared: str, digests: Mapping[str, str]) -> None:
        """Keep, with the cache, the input digests this sync found (``shared``: the
        district's shared part), for the next fetch (``previous_check``)."""
        if not (self._keep and self._clean):
            return
        db = self._db
        db.execute("UPDATE meta SET value = 'dirty' WHERE key = 'state'")
        sf.sync(self._path)
        db.execute("BEGIN")
        db.execute("DELETE FROM school_checks")
        rows = [("", shared), *digests.items()]
        db.executemany("INSERT OR REPLACE INTO school_checks VALUES (?, ?)", rows)
        db.execute("COMMIT")
        sf.sync(self._path)
        db.execute("UPDATE meta SET value = 'clean' WHERE key = 'state'")
        sf.sync(self._path)

    def user(self, user_id: str) -> MappedUser | None:
        row = self._db.execute("SELECT blob FROM users WHERE id = ?", (user_id,)).fetchone()
        return None if row is None else self._user.decode(row[0])

    def unplaced_users(self) -> Iterator[MappedUser]:
        """The users who belong to no school, directly or as a contact, by id."""
        for (blob,) in self._db.execute(q.UNPLACED):
            yield self._user.decode(blob)

    def school_sections(self, school_id: str) -> Iterator[SectionRecord]:
        for (blob,) in self._db.execute(q.SCHOOL_SECTIONS, (school_id,)):
            yield self._section.decode(blob)

    def problems(self, school_id: str) -> list[RowProblem]:
        """The row problems of a school, and those tied to no school, in the order found.
        Those tied to no school are decoded once and handed out as the same objects to
        every school (the store recognises a district-wide set it has just written)."""
        if self._shared is None:
            self._shared = self._problems_of("")
        return in_order(self._shared, self._problems_of(school_id) if school_id else [])

    def _problems_of(self, school_id: str) -> list[tuple[int, RowProblem]]:
        query = "SELECT seq, blob FROM f.problems WHERE school = ? ORDER BY seq"
        rows = self._db.execute(query, (school_id,))
        return [(seq, self._problem.decode(blob)) for seq, blob in rows]

    def input_digests(self) -> dict[str, str]:
        """Per school, a digest of every staged record its roster is built from: its users,
        the contacts of its students and its sections (problems and the small tables are
        for the caller to add)."""
        return digests_of(self._db.execute(q.DIGESTS))

    def unknown_students(self) -> list[tuple[str, str]]:
        """(contact, student) pairs naming a student who is not in the fetch."""
        return [(c, s) for c, s in self._db.execute(q.UNKNOWN_STUDENTS)]

    def close(self) -> None:
        """Close the file; a temporary one, or a cache the fetch did not finish, is
        deleted (the next sync of the district then rebuilds its cache)."""
        self._db.close()
        if not (self._keep and self._clean):
            sf.unlink(self._path)
        sf.unlink(self._fetch_path)
        if self._lock is not None:
            os.close(self._lock)
            self._lock = None

    def _gone(self, user_id: str) -> None:
        self._add("gone", (user_id,))

    def _back(self, user_id: str) -> None:
        """A user taken for gone turned up later, out of order: it stays. (Its lookup
        comes next, and must not find the rows of a changed user still to be dropped.)"""
        self._flush_drops()
        self._flush("gone")
        self._db.execute("DELETE FROM f.gone WHERE id = ?", (user_id,))

    def _drop(self, user_id: str, before: int) -> None:
        """Forget a changed user's previous rows (kept for the fetch, with its previous
        hash), before its new ones are written (``_flush_drops``)."""
        self._dropping.append((user_id,))
        self._add("old_h", (user_id, before))

    def _flush_drops(self) -> None:
        dropping = self._dropping
        if dropping:
            for sql in (*q.KEEP_OLD_ONE, *q.DROP_ONE):
                self._db.executemany(sql, dropping)
            dropping.clear()

    def _add(self, name: str, row: tuple[Any, ...]) -> None:
        pending = self._pending[name]
        pending.append(row)
        if len(pending) >= _BATCH:
            self._flush(name)

    def _flush_users(self) -> None:
        self._flush_drops()
        for name in ("users", "direct", "contact_students"):
            self._flush(name)

    def _flush(self, name: str) -> None:
        pending = self._pending[name]
        if pending:
            sf.insert_rows(self._db, q.INSERTS[name], pending)
            pending.clear()


def in_order(
    shared: list[tuple[int, RowProblem]], own: list[tuple[int, RowProblem]]
) -> list[RowProblem]:
    """A school's row problems: those tied to no school (``shared``, the same objects for
    every school) and its own, each list by the order they were added in (``seq``), merged
    by it."""
    if not own:
        return [problem for _, problem in shared]
    return [problem for _, problem in heapq.merge(shared, own, key=_seq)]


def digests_of(rows: Iterable[tuple[str, int, int, int, int]]) -> dict[str, str]:
    """Per school, its input digest from its (school, kind, count, low, high) rows in kind
    order: ``kind:count:low:high``, the kinds joined by commas."""
    parts: dict[str, list[str]] = {}
    for school, kind, count, low, high in rows:
        parts.setdefault(school, []).append(f"{kind}:{count}:{low}:{high}")
    return {school: ",".join(values) for school, values in parts.items()}


def has_own_problems(user: MappedUser) -> bool:
    """Whether a user has row problems of its own (mapping alerts, a teacher without an
    email): such a user is read for its school's report even outside a resync's scope
    (``school_users_part``)."""
    record = user.record
    return bool(user.problems) or (record.teacher is not None and not record.email)


def _seq(item: tuple[int, RowProblem]) -> int:
    return item[0]


def record_hash(blob: bytes) -> int:
    """A 62-bit hash of a staged record (non-negative, so SQLite sums its halves exactly).
    XXH3: a tenth of the cost of BLAKE2b on a 500-byte item, and it runs once per record
    of every fetch. Not cryptographic: see docs/security.md."""
    return int(xxhash.xxh3_64_intdigest(blob)) >> 2
