"""``SqliteStaging.school_roles``: each user placed in a school directly, with its role bits."""

from __future__ import annotations

from pathlib import Path

from rostersync.domain.records import MappedUser, StudentInfo, TeacherInfo, UserRecord
from rostersync.domain.roster import STUDENT_BIT, TEACHER_BIT
from rostersync.storage.staging import SqliteStaging


def _user(user_id: str, *, student: str = "", teacher: tuple[str, ...] = ()) -> MappedUser:
    return MappedUser(
        UserRecord(
            source_id=user_id,
            email=f"{user_id}@example.org",
            student=StudentInfo(school=student) if student else None,
            teacher=TeacherInfo(school=teacher[0], schools=teacher) if teacher else None,
        )
    )


def test_roles_per_user_of_a_school(tmp_path: Path) -> None:
    staging = SqliteStaging(directory=str(tmp_path))
    try:
        staging.add_user(_user("a", student="s1"))
        staging.add_user(_user("b", teacher=("s1", "s2")))
        staging.add_user(_user("c", student="s1", teacher=("s1",)))
        staging.add_user(_user("d", student="s2"))
        staging.finish()
        assert staging.school_roles("s1") == {
            "a": STUDENT_BIT,
            "b": TEACHER_BIT,
            "c": STUDENT_BIT | TEACHER_BIT,
        }
        assert staging.school_roles("s2") == {"b": TEACHER_BIT, "d": STUDENT_BIT}
        assert staging.school_roles("s3") == {}
    finally:
        staging.close()


def test_a_user_staged_twice_has_the_bits_of_both(tmp_path: Path) -> None:
    # The stream reports a repeated id and keeps the first copy; should one reach the
    # staging file anyway, the school's roles still name the user once, with both roles.
    staging = SqliteStaging(directory=str(tmp_path))
    try:
        staging.add_user(_user("a", student="s1"))
        staging.add_user(_user("b", student="s1"))
        staging.add_user(_user("a", teacher=("s1",)))
        staging.finish()
        assert staging.school_roles("s1") == {"a": STUDENT_BIT | TEACHER_BIT, "b": STUDENT_BIT}
    finally:
        staging.close()
