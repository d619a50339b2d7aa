"""A fetch staged in PostgreSQL (``PgStaging``, a store with no fetch cache) reads back
exactly as the same fetch staged in a fresh SQLite file: every school's users in the same
order, its roles, sections and problems, the digests, the unknown students, the users in no
school. The fetches are those of the fetch cache's property test (users placed in one or two
schools, contacts of present and missing students, users with alerts, one listed out of
order, sections repeated or with problems); a user staged twice and ids that need escaping
in COPY text are checked on their own."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from rostersync.domain.partial import Scope
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
from rostersync.storage.staging_pg import PgStaging

from .test_fetch_cache_merge import IDS, SCHOOLS, _contents, _feed, fetches


@pytest.fixture(scope="module")
def pg_engine(pg_database_url: str) -> Iterator[Engine]:
    engine = create_engine(pg_database_url)
    yield engine
    engine.dispose()


def _everything(staging: SqliteStaging | PgStaging, scope: Scope) -> dict[str, object]:
    return {
        **_contents(staging),  # type: ignore[arg-type]
        "roles": {school: staging.school_roles(school) for school in SCHOOLS},
        "part": {school: list(staging.school_users_part(school, scope)) for school in SCHOOLS},
    }


def _part(staging: SqliteStaging | PgStaging, school: str, scope: Scope) -> list[MappedUser]:
    """What ``school_users_part`` promises: the school's users in scope or flagged."""
    return [
        user
        for user in staging.school_users(school)
        if user.record.source_id in scope.accounts
        or user.problems
        or (user.record.teacher is not None and not user.record.email)
    ]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(plan=fetches(), scope=st.frozensets(st.sampled_from(IDS)))
def test_a_fetch_staged_in_postgresql_reads_as_in_a_fresh_file(
    pg_engine: Engine, plan, scope: frozenset[str]
) -> None:
    accounts = Scope(scope, frozenset())
    for refs, _completes, sections, size in plan:
        file = SqliteStaging()
        server = PgStaging(pg_engine)
        try:
            assert _feed(file, refs, sections, size) == _feed(server, refs, sections, size)  # type: ignore[arg-type]
            file.finish()
            server.finish()
            expected = _contents(file)  # type: ignore[arg-type]
            assert _contents(server) == expected  # type: ignore[arg-type]
            assert {s: server.school_roles(s) for s in SCHOOLS} == {
                s: file.school_roles(s) for s in SCHOOLS
            }
            for school in SCHOOLS:
                assert list(server.school_users_part(school, accounts)) == _part(
                    server, school, accounts
                )
                assert server.school_scope(school) == Scope(frozenset(), frozenset())
                assert server.previous_check(school) is None
            assert not server.merging
        finally:
            file.close()
            server.close()


def _student(user_id: str, school: str, first: str = "") -> MappedUser:
    record = UserRecord(
        source_id=user_id, name=PersonName(first=first), student=StudentInfo(schools=(school,))
    )
    return MappedUser(record, ())


def _stage(staging: SqliteStaging | PgStaging, users: list[MappedUser]) -> None:
    for user in users:
        staging.unchanged_user(user.record.source_id, msgspec.json.encode(user.record))
        staging.add_user(user)
    staging.finish()


def test_a_user_staged_twice_keeps_its_first_record_and_every_placement(
    pg_engine: Engine,
) -> None:
    users = [
        _student("u1", "s1", "first"),
        _student("u2", "s1"),
        _student("u1", "s2", "second"),  # listed again, out of order
    ]
    file, server = SqliteStaging(), PgStaging(pg_engine)
    try:
        _stage(file, users)
        _stage(server, users)
        assert server.user("u1") == file.user("u1") == users[0]
        for school in ("s1", "s2"):
            assert list(server.school_users(school)) == list(file.school_users(school))
            assert server.school_roles(school) == file.school_roles(school)
        assert server.school_roles("s2") == {"u1": 1}
        assert server.input_digests() == file.input_digests()
    finally:
        file.close()
        server.close()


def test_ids_and_text_that_copy_text_must_escape_come_back_as_they_were(
    pg_engine: Engine,
) -> None:
    odd = "a\\b\tc\nd\re"
    users = [
        _student(f"u{odd}", f"s{odd}", first=odd),
        MappedUser(
            UserRecord(
                source_id="v\\1",
                name=PersonName(first="Pat"),
                teacher=TeacherInfo(schools=(f"s{odd}",)),
                contact=ContactInfo(relationships=(StudentRelationship(f"u{odd}"),)),
            ),
            (RowProblem(Severity.ALERT, "user", "v\\1", "odd", "An\talert."),),
        ),
    ]
    section = SectionRecord(f"c{odd}", f"s{odd}", odd, student_ids=(f"u{odd}",))
    problem = RowProblem(Severity.ERROR, "section", "x", "bad", "Bad\\one.", school_id=f"s{odd}")
    file, server = SqliteStaging(), PgStaging(pg_engine)
    try:
        for staging in (file, server):
            staging.add_section(section)
            staging.add_problem(problem)
            _stage(staging, users)
        school = f"s{odd}"
        assert list(server.school_users(school)) == list(file.school_users(school)) == users
        assert list(server.school_sections(school)) == [section]
        assert server.problems(school) == file.problems(school) == [problem]
        assert server.input_digests() == file.input_digests()
        assert server.school_roles(school) == file.school_roles(school)
    finally:
        file.close()
        server.close()


def test_reads_wait_for_finish_and_close_takes_the_tables_away(pg_engine: Engine) -> None:
    server = PgStaging(pg_engine)
    pid = server._conn.info.backend_pid
    server.add_user(_student("u1", "s1"))
    with pytest.raises(ValueError, match="after finish"):
        list(server.school_users("s1"))
    server.finish()
    assert [u.record.source_id for u in server.school_users("s1")] == ["u1"]
    server.close()
    with pg_engine.connect() as conn:
        # its session (and with it every temporary table) is gone from the server
        alive = conn.execute(
            text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}
        ).scalar_one()
    assert alive == 0


@pytest.fixture
def icu_engine(pg_database_url: str) -> Iterator[Engine]:
    """An engine on a database whose default collation is English's (``a`` before ``B``),
    not bytes': the staging must not depend on the database's collation."""
    admin = create_engine(
        make_url(pg_database_url).set(database="postgres"), isolation_level="AUTOCOMMIT"
    )
    name = f"rostersync_icu_{secrets.token_hex(4)}"
    with admin.connect() as conn:
        conn.execute(
            text(
                f'CREATE DATABASE "{name}" TEMPLATE template0'
                " LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'"
            )
        )
    engine = create_engine(make_url(pg_database_url).set(database=name))
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_users_come_in_the_order_of_their_ids_bytes_whatever_the_collation(
    icu_engine: Engine,
) -> None:
    ids = ["a1", "B1", "_1", "A-1", "a 1", "é1"]
    users = [_student(user_id, "s1") for user_id in sorted(ids)]
    file, server = SqliteStaging(), PgStaging(icu_engine)
    try:
        _stage(file, users)
        _stage(server, users)
        staged = [u.record.source_id for u in server.school_users("s1")]
        assert staged == [u.record.source_id for u in file.school_users("s1")] == sorted(ids)
        assert [u.record.source_id for u in server.unplaced_users()] == []
    finally:
        file.close()
        server.close()
