"""A fetch merged into the district's cache stages exactly what a fresh staging of the same
fetch holds, whatever the cache held before: every school's users and digest, the unknown
students, the users in no school. Fetches come in sequences (users added, changed, moved,
removed, listed out of order), with failed fetches in between."""

from __future__ import annotations

import uuid
from pathlib import Path

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rostersync.domain.records import (
    ContactInfo,
    MappedUser,
    PersonName,
    RowProblem,
    SectionRecord,
    Severity,
    StudentInfo,
    StudentRelationship,
    TeacherInfo,
    UserRecord,
)
from rostersync.storage.staging import SqliteStaging

IDS = [f"u{n:02d}" for n in range(24)]
SCHOOLS = ["s1", "s2", "s3"]


@st.composite
def users(draw: st.DrawFn) -> list[tuple[MappedUser, bytes]]:
    """One fetch's users, in id order, each with its raw item (which says everything about
    it, as a source's item does)."""
    drawn = []
    for user_id in sorted(draw(st.sets(st.sampled_from(IDS), max_size=len(IDS)))):
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
        problems = (
            (RowProblem(Severity.ALERT, "user", user_id, "odd", "An alert."),) if version else ()
        )
        raw = msgspec.json.encode([user_id, kind, schools, students, version])
        drawn.append((MappedUser(record, problems), raw))
    return drawn


@st.composite
def fetches(draw: st.DrawFn) -> list[tuple[list[tuple[MappedUser, bytes]], bool, int]]:
    """Fetches: their users (one maybe moved out of order), and whether each completes."""
    plan = []
    for _ in range(draw(st.integers(1, 4))):
        refs = draw(users())
        if len(refs) > 2 and draw(st.booleans()):
            i = draw(st.integers(0, len(refs) - 1))
            j = draw(st.integers(0, len(refs) - 1))
            refs.insert(j, refs.pop(i))
        plan.append((refs, draw(st.booleans()) or len(plan) == 0, draw(st.integers(0, 2))))
    return plan


def _feed(staging: SqliteStaging, refs: list[tuple[MappedUser, bytes]], sections: int) -> int:
    staged = 0
    for user, raw in refs:
        if not staging.unchanged_user(user.record.source_id, raw):
            staging.add_user(user)
            staged += 1
    for n in range(sections):
        staging.add_section(
            SectionRecord(source_id=f"sec{n}", school_id=SCHOOLS[n], name=f"Section {n}")
        )
    return staged


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
@given(plan=fetches())
def test_a_merged_fetch_equals_a_fresh_one(tmp_path: Path, plan) -> None:
    cache = str(tmp_path / "cache" / f"{uuid.uuid4().hex}.db")
    previous: dict[str, bytes] = {}
    for refs, completes, sections in plan:
        cached = SqliteStaging(cache)
        try:
            staged = _feed(cached, refs, sections)
            if not completes:
                previous = {}  # closed unfinished (a failed fetch): the cache is dropped
                continue
            cached.finish()
            fresh = SqliteStaging()
            try:
                _feed(fresh, refs, sections)
                fresh.finish()
                assert _contents(cached) == _contents(fresh)
            finally:
                fresh.close()
        finally:
            cached.close()
        # only what differs from the last completed fetch is staged again
        assert staged == sum(1 for u, raw in refs if previous.get(u.record.source_id) != raw)
        previous = {u.record.source_id: raw for u, raw in refs}
