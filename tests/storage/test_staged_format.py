"""What the staging file keeps per user and section: arrays of values, not maps of names.

A staged user is read back for every school it belongs to (millions of reads at district
scale), so its bytes are the record's values in field order; field names would double it.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import msgspec

from rostersync.domain.records import (
    ContactInfo,
    MappedUser,
    PersonName,
    RowProblem,
    SectionRecord,
    Severity,
    StudentInfo,
    StudentRelationship,
    UserRecord,
)
from rostersync.storage.staging import SqliteStaging

_USER = MappedUser(
    UserRecord(
        "u1",
        PersonName("Ada", "", "Lovelace"),
        "ada@example.org",
        student=StudentInfo("sis1", "n1", "", "5", "s1", ("s1", "s2")),
        contact=ContactInfo("", "555", "cell", (StudentRelationship("u2", "Parent", "Family"),)),
    ),
    (RowProblem(Severity.ALERT, "user", "u1", "unknown_enum", "An odd phone type."),),
)
_SECTION = SectionRecord("c1", "s1", "Maths", period="1", student_ids=("u1", "u2"))


def _staged(path: Path) -> tuple[bytes, bytes]:
    """The blobs of ``_USER`` and ``_SECTION`` as a fetch cache at ``path`` keeps them."""
    staging = SqliteStaging(cache=str(path))
    try:
        staging.add_user(_USER)
        staging.add_section(_SECTION)
        staging.finish()
        assert list(staging.school_users("s1")) == [_USER]
        assert list(staging.school_sections("s1")) == [_SECTION]
    finally:
        staging.close()
    db = sqlite3.connect(path)
    try:
        (user,) = db.execute("SELECT blob FROM users").fetchone()
        (section,) = db.execute("SELECT blob FROM sections").fetchone()
    finally:
        db.close()
    return user, section


def test_users_and_sections_are_staged_as_arrays_of_their_values(tmp_path: Path) -> None:
    user, section = _staged(tmp_path / "cache.db")
    record, problems = msgspec.msgpack.decode(user)
    assert record[:3] == ["u1", ["Ada", "", "Lovelace"], "ada@example.org"]
    assert record[3] == ["sis1", "n1", "", "5", "s1", ["s1", "s2"], ""]
    assert record[6] == ["", "555", "cell", [["u2", "Parent", "Family"]]]
    assert [p["code"] for p in problems] == ["unknown_enum"]  # problems stay dataclasses
    assert msgspec.msgpack.decode(section)[:4] == ["c1", "s1", "Maths", ""]
