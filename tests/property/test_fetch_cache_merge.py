"""A fetch merged into the district's cache stages exactly what a fresh staging of the same
fetch holds, whatever the cache held before: every school's users and digest, the unknown
students, the users in no school. Fetches come in sequences (users added, changed, moved,
removed, listed out of order), with failed fetches in between."""

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
    SectionRecord,
    Severity,
    StudentInfo,
    StudentRelationship,
    TeacherInfo,
    UserRecord,
)
from rostersync.storage import staging_merge
from rostersync.storage.staging import SqliteStaging

IDS = [f"u{n:02d}" for n in range(24)]
SCHOOLS = ["s1", "s2", "s3"]


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


@st.composite
def fetches(
    draw: st.DrawFn,
) -> list[tuple[list[tuple[MappedUser, bytes]], bool, int, int]]:
    """Fetches: their users (one maybe moved out of order), whether each completes, how
    many sections it has, and its page size (most often the previous one's)."""
    plan = []
    before: list[tuple[MappedUser, bytes]] | None = None
    size = draw(st.integers(1, 5))
    for _ in range(draw(st.integers(1, 5))):
        refs = draw(users(before if before is not None and draw(st.integers(0, 3)) else None))
        before = list(refs)
        if len(refs) > 2 and draw(st.integers(0, 3)) == 0:
            i = draw(st.integers(0, len(refs) - 1))
            j = draw(st.integers(0, len(refs) - 1))
            refs.insert(j, refs.pop(i))
        if draw(st.integers(0, 3)) == 0:
            size = draw(st.integers(1, 5))
        completes = draw(st.booleans()) or len(plan) == 0
        plan.append((refs, completes, draw(st.integers(0, 2)), size))
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
    staging: SqliteStaging, refs: list[tuple[MappedUser, bytes]], sections: int, size: int
) -> tuple[int, int]:
    """Feed the users a page of ``size`` at a time, as the fetch does (a page keyed like a
    source keys it, passed over when the staging holds it whole, else chunk by chunk, each
    passed over when the staging holds it whole); (staged, users asked about)."""
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
        known = staging.known_chunks([chunk_key for chunk_key, _ in chunks])
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
    for n in range(sections):
        staging.add_section(
            SectionRecord(source_id=f"sec{n}", school_id=SCHOOLS[n], name=f"Section {n}")
        )
    return staged, asked


def _contents(staging: SqliteStaging) -> dict[str, object]:
    return {
        "digests": staging.input_digests(),
        "users": {school: list(staging.school_users(school)) for school in SCHOOLS},
        "unknown": staging.unknown_students(),
        "unplaced": list(staging.unplaced_users()),
        "each": {user_id: staging.user(user_id) for user_id in IDS},
    }


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(plan=fetches(), window=st.sampled_from([1, 2, 3, 10_000]))
def test_a_merged_fetch_equals_a_fresh_one(tmp_path: Path, plan, window: int) -> None:
    original = staging_merge._WINDOW
    staging_merge._WINDOW = window  # how many stored ids the merge reads at a time
    try:
        _check_merges(tmp_path, plan)
    finally:
        staging_merge._WINDOW = original


def _check_merges(tmp_path: Path, plan) -> None:
    cache = str(tmp_path / "cache" / f"{uuid.uuid4().hex}.db")
    previous: dict[str, bytes] = {}
    for refs, completes, sections, size in plan:
        cached = SqliteStaging(cache)
        try:
            staged, _ = _feed(cached, refs, sections, size)
            if not completes:
                previous = {}  # closed unfinished (a failed fetch): the cache is dropped
                continue
            cached.finish()
            fresh = SqliteStaging()
            try:
                _feed(fresh, refs, sections, size)
                fresh.finish()
                assert _contents(cached) == _contents(fresh)
            finally:
                fresh.close()
        finally:
            cached.close()
        # only what differs from the last completed fetch is staged again
        assert staged == sum(1 for u, raw in refs if previous.get(u.record.source_id) != raw)
        previous = {u.record.source_id: raw for u, raw in refs}


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
    _check_merges(tmp_path, [(refs, True, 0, size) for refs in plan for size in (1, 3)])


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
    _check_merges(tmp_path, [(refs, True, 0, 4) for refs in (*fetched, fetched[-1])])


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
            seen.append(_feed(staging, refs, 0, 4))
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
