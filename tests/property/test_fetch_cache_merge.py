"""A fetch merged into the district's cache stages exactly what a fresh staging of the same
fetch holds, whatever the cache held before: every school's users, sections, problems and
digest, the unknown students, the users in no school; and the sections it finds changed
are those whose (school, id, hash) is new or went. Fetches come in sequences (users and
sections added, changed, moved, removed, listed out of order, sections repeated or with
problems), with failed fetches in between."""

from __future__ import annotations

import uuid
from pathlib import Path

import msgspec
import pytest
import xxhash
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rostersync.domain.records import (
    ChunkKey,
    ContactInfo,
    MappedUser,
    PageKey,
    PersonName,
    RowProblem,
    Severity,
    StudentInfo,
    StudentRelationship,
    TeacherInfo,
    UserRecord,
)
from rostersync.service.fetch import _stage_sections
from rostersync.sources.clever import stream
from rostersync.sources.clever.mapping import convert_section
from rostersync.sources.clever.source import _item_id
from rostersync.storage import staging_merge
from rostersync.storage.staging import SqliteStaging, record_hash

IDS = [f"u{n:02d}" for n in range(24)]
SCHOOLS = ["s1", "s2", "s3"]
SECTION_IDS = [f"c{n:02d}" for n in range(16)]


def _section_item(section_id: str, school: str, version: int = 0, grade: str = "") -> bytes:
    """A Clever section item (``grade`` outside Clever's list: an alert; no ``school``: an
    error, and no section)."""
    data = {"id": section_id, "school": school, "name": f"S{section_id}v{version}"}
    if grade:
        data["grade"] = grade
    data["students"] = [f"u{version:02d}"]
    return msgspec.json.encode({"data": data})


def _drawn_section(draw: st.DrawFn, section_id: str) -> bytes:
    flaw = draw(st.sampled_from(["", "", "", "", "", "alert", "no school"]))
    school = "" if flaw == "no school" else draw(st.sampled_from(SCHOOLS))
    grade = "Grade five" if flaw == "alert" else ""
    return _section_item(section_id, school, draw(st.integers(0, 2)), grade)


@st.composite
def section_lists(draw: st.DrawFn, before: list[bytes] | None) -> list[bytes]:
    """One fetch's section items, in id order: drawn afresh, or the previous fetch's with a
    few added, changed (moved too) or removed; now and then one listed out of order or
    twice."""
    if before is None or not draw(st.integers(0, 3)):
        ids = sorted(draw(st.sets(st.sampled_from(SECTION_IDS), max_size=len(SECTION_IDS))))
        items = {section_id: _drawn_section(draw, section_id) for section_id in ids}
    else:
        items = {_item_id(raw): raw for raw in before}
        for section_id in draw(st.lists(st.sampled_from(SECTION_IDS), max_size=3)):
            if section_id in items and draw(st.booleans()):
                del items[section_id]
            else:
                items[section_id] = _drawn_section(draw, section_id)
    listed = [items[section_id] for section_id in sorted(items)]
    if len(listed) > 2 and not draw(st.integers(0, 4)):
        i = draw(st.integers(0, len(listed) - 1))
        listed.insert(draw(st.integers(0, len(listed) - 1)), listed.pop(i))
    if listed and not draw(st.integers(0, 5)):
        listed.insert(draw(st.integers(0, len(listed))), draw(st.sampled_from(listed)))
    return listed


class SectionSource:
    """Serves section items in pages of ``size``, as the Clever source does."""

    def __init__(self, items: list[bytes], size: int) -> None:
        self.pages = [items[n : n + size] for n in range(0, len(items), size)]

    def section_pages(self) -> object:
        return stream.item_pages(iter(self.pages), "section", convert_section, _item_id)


def _drawn_user(draw: st.DrawFn, user_id: str) -> tuple[MappedUser, bytes]:
    """A user and its raw item (which says everything about it, as a source's item does)."""
    kind = draw(st.sampled_from(["student", "teacher", "contact", "nobody"]))
    schools = tuple(sorted(draw(st.sets(st.sampled_from(SCHOOLS), min_size=1, max_size=2))))
    students = tuple(draw(st.lists(st.sampled_from(IDS), min_size=1, max_size=3)))
    version = draw(st.integers(0, 1))
    record = UserRecord(
        source_id=user_id,
        name=PersonName(first=f"v{version}"),
        student=StudentInfo(schools=schools) if kind == "student" else None,
        teacher=TeacherInfo(schools=schools) if kind == "teacher" else None,
        contact=(
            ContactInfo(relationships=tuple(StudentRelationship(s) for s in students))
            if kind == "contact"
            else None
        ),
    )
    problems = (RowProblem(Severity.ALERT, "user", user_id, "odd", "An alert."),) if version else ()
    raw = msgspec.json.encode([user_id, kind, schools, students, version])
    return MappedUser(record, problems), raw


@st.composite
def users(
    draw: st.DrawFn, before: list[tuple[MappedUser, bytes]] | None = None
) -> list[tuple[MappedUser, bytes]]:
    """One fetch's users, in id order: drawn afresh, or (``before``) the previous fetch's
    with a few removed, added or changed, so that most of its pages come back the same."""
    if before is None:
        ids = sorted(draw(st.sets(st.sampled_from(IDS), max_size=len(IDS))))
        return [_drawn_user(draw, user_id) for user_id in ids]
    kept = {user.record.source_id: (user, raw) for user, raw in before}
    for user_id in draw(st.lists(st.sampled_from(IDS), max_size=3)):
        if user_id in kept and draw(st.booleans()):
            del kept[user_id]
        else:
            kept[user_id] = _drawn_user(draw, user_id)
    return [kept[user_id] for user_id in sorted(kept)]


Sections = tuple[list[bytes], int]  # a fetch's section items, and their page size


@st.composite
def fetches(
    draw: st.DrawFn,
) -> list[tuple[list[tuple[MappedUser, bytes]], bool, Sections, int]]:
    """Fetches: their users (one maybe moved out of order), whether each completes, its
    sections with their page size, and its page size of users (page sizes most often the
    previous one's)."""
    plan = []
    before: list[tuple[MappedUser, bytes]] | None = None
    sections: list[bytes] | None = None
    size = draw(st.integers(1, 5))
    section_size = draw(st.integers(1, 6))
    for _ in range(draw(st.integers(1, 5))):
        refs = draw(users(before if before is not None and draw(st.integers(0, 3)) else None))
        before = list(refs)
        if len(refs) > 2 and draw(st.integers(0, 3)) == 0:
            i = draw(st.integers(0, len(refs) - 1))
            j = draw(st.integers(0, len(refs) - 1))
            refs.insert(j, refs.pop(i))
        if draw(st.integers(0, 3)) == 0:
            size = draw(st.integers(1, 5))
        if draw(st.integers(0, 3)) == 0:
            section_size = draw(st.integers(1, 6))
        sections = draw(section_lists(sections))
        completes = draw(st.booleans()) or len(plan) == 0
        plan.append((refs, completes, (sections, section_size), size))
    return plan


def _chunks(
    page: list[tuple[MappedUser, bytes]],
) -> list[tuple[ChunkKey, list[tuple[MappedUser, bytes]]]]:
    """A page cut where an item's hash is odd (as a source cuts it, on the item alone)."""
    cut: list[tuple[ChunkKey, list[tuple[MappedUser, bytes]]]] = []
    part: list[tuple[MappedUser, bytes]] = []
    for n, (user, raw) in enumerate(page, start=1):
        part.append((user, raw))
        if xxhash.xxh3_64_intdigest(raw) & 1 or n == len(page):
            digest = xxhash.xxh3_128_hexdigest(b"".join(r for _, r in part))
            cut.append((ChunkKey(digest, len(part)), part))
            part = []
    return cut


def _feed(
    staging: SqliteStaging, refs: list[tuple[MappedUser, bytes]], sections: Sections, size: int
) -> tuple[int, int]:
    """Feed the users a page of ``size`` at a time, as the fetch does (a page keyed like a
    source keys it, passed over when the staging holds it whole, else chunk by chunk, each
    passed over when the staging holds it whole), then the sections as the fetch does;
    (staged, users asked about)."""
    staged = asked = 0
    top = ""
    for start in range(0, len(refs), size):
        page = refs[start : start + size]
        ids = [user.record.source_id for user, _ in page]
        key = None
        if ids[0] > top and ids[-1] >= ids[0]:
            digest = xxhash.xxh3_128_digest(b"".join(raw for _, raw in page))
            key = PageKey(ids[0], ids[-1], len(page), digest)
        if key is not None and staging.unchanged_page(key):
            top = max(top, key.last_id)
            continue
        whole = key is not None
        chunks = _chunks(page)
        known = staging.known_chunks([chunk_key for chunk_key, _ in chunks], key)
        for chunk_key, part in chunks:
            held = known.get(chunk_key)
            if held is not None and held[0] > top and staging.pass_over(*held):
                top = max(top, held[1])
                staging.add_chunk(chunk_key, *held)
                continue
            clean = True
            for user, raw in part:
                user_id = user.record.source_id
                if user_id <= top:
                    clean = False  # listed out of order: the source reports it on the page
                top = max(top, user_id)
                asked += 1
                if not staging.unchanged_user(user_id, raw):
                    staging.add_user(user)
                    staged += 1
            whole = whole and clean
            if clean:
                staging.add_chunk(chunk_key, part[0][0].record.source_id, top)
        if whole and key is not None:
            staging.add_page(key)
    _stage_sections(SectionSource(*sections), staging)  # type: ignore[arg-type]
    return staged, asked


def _contents(staging: SqliteStaging) -> dict[str, object]:
    return {
        "digests": staging.input_digests(),
        "users": {school: list(staging.school_users(school)) for school in SCHOOLS},
        "unknown": staging.unknown_students(),
        "unplaced": list(staging.unplaced_users()),
        "each": {user_id: staging.user(user_id) for user_id in IDS},
        "sections": {school: list(staging.school_sections(school)) for school in SCHOOLS},
        "problems": {school: staging.problems(school) for school in ["", *SCHOOLS]},
    }


def _section_triples(staging: SqliteStaging) -> set[tuple[str, str, int]]:
    """(school, id, hash) of each staged section."""
    encode = msgspec.msgpack.encode
    return {
        (school, section.source_id, record_hash(encode(section)))
        for school in SCHOOLS
        for section in staging.school_sections(school)
    }


def _changed_sections(staging: SqliteStaging) -> set[tuple[str, str]]:
    return {(school, c) for school in SCHOOLS for c in staging.school_scope(school).classes}


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    plan=fetches(),
    window=st.sampled_from([1, 2, 3, 10_000]),
    mask=st.sampled_from([0, 1, 3, 15]),
)
def test_a_merged_fetch_equals_a_fresh_one(tmp_path: Path, plan, window: int, mask: int) -> None:
    original = staging_merge._WINDOW, stream.CHUNK_MASK
    staging_merge._WINDOW = window  # how many stored ids the merge reads at a time
    stream.CHUNK_MASK = mask  # how sections are cut into chunks (0: one item a chunk)
    try:
        _check_merges(tmp_path, plan)
    finally:
        staging_merge._WINDOW, stream.CHUNK_MASK = original


def _check_merges(tmp_path: Path, plan) -> None:
    cache = str(tmp_path / "cache" / f"{uuid.uuid4().hex}.db")
    previous: dict[str, bytes] = {}
    before: set[tuple[str, str, int]] | None = None  # the last completed fetch's sections
    for refs, completes, sections, size in plan:
        cached = SqliteStaging(cache)
        try:
            staged, _ = _feed(cached, refs, sections, size)
            if not completes:
                previous, before = {}, None  # closed unfinished: the cache is dropped
                continue
            cached.finish()
            fresh = SqliteStaging()
            try:
                _feed(fresh, refs, sections, size)
                fresh.finish()
                assert _contents(cached) == _contents(fresh)
                now = _section_triples(fresh)
            finally:
                fresh.close()
            # merged into the last fetch (one with users): the sections whose (school, id,
            # hash) is new or went; none found otherwise
            changed = {(school, c) for school, c, _ in now ^ (before or set())}
            assert _changed_sections(cached) == (changed if previous else set())
        finally:
            cached.close()
        # only what differs from the last completed fetch is staged again
        assert staged == sum(1 for u, raw in refs if previous.get(u.record.source_id) != raw)
        previous = {u.record.source_id: raw for u, raw in refs}
        before = now


def _user(user_id: str, version: int) -> tuple[MappedUser, bytes]:
    record = UserRecord(
        source_id=user_id,
        name=PersonName(first=f"v{version}"),
        student=StudentInfo(schools=("s1",)),
    )
    return MappedUser(record, ()), msgspec.json.encode([user_id, version])


def _versions(*ids: str, changed: str = "") -> list[tuple[MappedUser, bytes]]:
    return [_user(user_id, int(user_id == changed)) for user_id in ids]


def _person(
    user_id: str, kind: str, school: str = "s1", students: tuple[str, ...] = (), version: int = 0
) -> tuple[MappedUser, bytes]:
    record = UserRecord(
        source_id=user_id,
        name=PersonName(first=f"v{version}"),
        student=StudentInfo(schools=(school,)) if kind == "student" else None,
        contact=(
            ContactInfo(relationships=tuple(StudentRelationship(s) for s in students))
            if kind == "contact"
            else None
        ),
    )
    return MappedUser(record, ()), msgspec.json.encode([user_id, kind, school, students, version])


def _family(**changes: tuple[str, ...]) -> list[tuple[MappedUser, bytes]]:
    """Two contacts (u00: of u01 and u02; u03: of u01 and u09, who is no student), two
    students (u01 in s1, u02 in s2), and a teacher (u04), with ``changes`` applied: an id
    mapped to () is left out, else to the arguments of its ``_person``."""
    people: dict[str, tuple[str, ...]] = {
        "u00": ("contact", "s1", ("u01", "u02")),
        "u01": ("student", "s1"),
        "u02": ("student", "s2"),
        "u03": ("contact", "s1", ("u01", "u09")),
        "u04": ("teacher", "s1"),
        **changes,
    }
    return [
        _person(user_id, *args)  # type: ignore[arg-type]
        for user_id, args in sorted(people.items())
        if args
    ]


FAMILY = {
    "student moved, its contacts the same": _family(u01=("student", "s2")),
    "contact and its student changed": _family(
        u00=("contact", "s1", ("u01", "u02"), 1), u01=("student", "s1", (), 1)
    ),
    "contact relinked": _family(u00=("contact", "s1", ("u02",))),
    "contact gone": _family(u00=()),
    "student gone": _family(u01=()),
    "unknown student appears": _family(u09=("student", "s2")),
    "student no longer a student": _family(u02=("teacher", "s2")),
}


@pytest.mark.parametrize("window", [1, 10_000])
@pytest.mark.parametrize("change", sorted(FAMILY))
def test_contacts_and_students_changing_merge_as_a_fresh_fetch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change: str, window: int
) -> None:
    monkeypatch.setattr(staging_merge, "_WINDOW", window)
    plan = [_family(), FAMILY[change], _family()]
    _check_merges(tmp_path, [(refs, True, ([], 1), size) for refs in plan for size in (1, 3)])


FIRST_TWELVE = IDS[:12]
SCRIPTS = {
    # a page read again, then pages passed over, one straddling two windows of stored ids
    "changed": [_versions(*FIRST_TWELVE), _versions(*FIRST_TWELVE, changed="u01")],
    # u04 gone and u03 new on the first page: the second page comes back the same, and u04
    # (stored before it, never asked for) is gone
    "replaced": [
        _versions("u00", "u01", "u02", "u04", "u05", "u06", "u07", "u08"),
        _versions("u00", "u01", "u02", "u03", "u05", "u06", "u07", "u08"),
    ],
    # the last page gone, then back
    "shrunk": [
        _versions(*FIRST_TWELVE),
        _versions(*IDS[:8]),
        _versions(*FIRST_TWELVE),
    ],
}


@pytest.mark.parametrize("window", [1, 2, 3, 5, 10_000])
@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_scripted_merges_with_every_window_equal_a_fresh_fetch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, script: str, window: int
) -> None:
    monkeypatch.setattr(staging_merge, "_WINDOW", window)
    fetched = SCRIPTS[script]
    _check_merges(tmp_path, [(refs, True, ([], 1), 4) for refs in (*fetched, fetched[-1])])


def test_pages_the_last_fetch_staged_whole_are_passed_over(tmp_path: Path) -> None:
    cache = str(tmp_path / "cache.db")
    first = [_user(user_id, 0) for user_id in IDS[:12]]
    # u05 changed: its page (u04-u07) is read again; the others are passed over.
    second = [_user(user_id, int(user_id == "u05")) for user_id in IDS[:12]]
    # u13 added: it comes on a page of its own, the only one read.
    third = [*second, _user("u13", 0)]
    seen = []
    for refs in (first, first, second, third, third):
        staging = SqliteStaging(cache)
        try:
            seen.append(_feed(staging, refs, ([], 1), 4))
            staging.finish()
        finally:
            staging.close()
    # (staged, asked about): u05's page is read chunk by chunk; as these items' hashes cut
    # it, u04 is a chunk of its own and is passed over, and u05-u07 are read
    assert seen == [(12, 12), (0, 0), (1, 3), (1, 1), (0, 0)]


def test_a_chunk_whose_range_took_in_an_item_listed_elsewhere_is_not_kept(tmp_path: Path) -> None:
    cache = str(tmp_path / "cache.db")
    chunk = ChunkKey("digest-of-a-c", 2)
    staging = SqliteStaging(cache)
    try:
        for user_id in ("u00", "u02", "u03", "u01"):  # u01 listed last, out of order
            user, raw = _user(user_id, 0)
            assert not staging.unchanged_user(user_id, raw)
            staging.add_user(user)
            if user_id == "u02":
                staging.add_chunk(chunk, "u00", "u02")  # staged whole: u00, u02
        staging.finish()
    finally:
        staging.close()
    staging = SqliteStaging(cache)
    try:
        # u01 now lies between its ids: passing over u00-u02 would keep u01 unasked
        assert staging.known_chunks([chunk]) == {}
    finally:
        staging.close()
