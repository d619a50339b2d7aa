"""District-wide problems are stored once per distinct set and shared between runs.

A run's problems must read back exactly as written (same tuple, same order) whether they
are all district-wide, all the school's own, mixed, or stored before migration 0004.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Connection, Table, func, insert, select

from rostersync.domain.records import RowProblem, SchoolRecord, Severity
from rostersync.service.model import RunRecord, SchoolRow
from rostersync.storage import SqlStore, upgrade_database
from rostersync.storage.codec import problem_rows, split_problems
from rostersync.storage.migrate import alembic_config
from rostersync.storage.tables import problem_sets, run_problems, sync_runs
from tests.storage.conftest import _district
from tests.storage.recording import statements
from tests.storage.test_store_runs import run_record


def district_wide(n: int, prefix: str = "c") -> tuple[RowProblem, ...]:
    return tuple(
        RowProblem(Severity.ERROR, "contact_link", f"{prefix}{i}", "unknown_student", f"#{i}.")
        for i in range(n)
    )


def own(school: SchoolRow, n: int) -> tuple[RowProblem, ...]:
    return tuple(
        RowProblem(Severity.ALERT, "teacher", f"t{i}", "missing_email", "No email.", school.id)
        for i in range(n)
    )


def count(conn: Connection, table: Table) -> int:
    return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def add_runs(store: SqlStore, *runs: RunRecord) -> None:
    with store.unit_of_work() as uow:
        for run in runs:
            uow.add_run(run)
        uow.commit()


def test_split_keeps_the_leading_district_wide_problems_only() -> None:
    a, b = district_wide(2)
    mine = RowProblem(Severity.ALERT, "teacher", "t1", "missing_email", "No email.", "s1")
    assert split_problems((a, b, mine)) == ((a, b), (mine,))
    assert split_problems((mine, a)) == ((), (mine, a))
    assert split_problems(()) == ((), ())


def test_shared_and_own_problems_read_back_in_order(
    store: SqlStore, make_school: Callable[..., SchoolRow]
) -> None:
    school = make_school()
    run = run_record(school, "r1", problems=district_wide(3) + own(school, 2))
    add_runs(store, run)
    with store.unit_of_work() as uow:
        assert uow.get_run("r1") == run
        assert count(uow.connection, problem_sets) == 3
        assert count(uow.connection, run_problems) == 2


def test_many_runs_with_the_same_district_wide_problems_store_them_once(
    store: SqlStore, make_school: Callable[..., SchoolRow]
) -> None:
    schools = [make_school(f"s{i}") for i in range(50)]
    shared = district_wide(20)
    runs = [run_record(s, f"r{i}", problems=shared + own(s, i % 3)) for i, s in enumerate(schools)]
    add_runs(store, *runs[:25])
    add_runs(store, *runs[25:])
    with store.unit_of_work() as uow:
        assert count(uow.connection, problem_sets) == 20
        assert count(uow.connection, run_problems) == sum(i % 3 for i in range(50))
        digests = set(uow.connection.execute(select(sync_runs.c.shared_problems)).scalars())
        assert len(digests) == 1
        assert [uow.get_run(r.id) for r in runs] == runs
        assert uow.list_runs(schools[7].id) == [runs[7]]


def test_runs_with_different_district_wide_problems_keep_their_own_set(
    store: SqlStore, make_school: Callable[..., SchoolRow]
) -> None:
    a, b = make_school("sA"), make_school("sB")
    runs = [
        run_record(a, "a1", 0, problems=district_wide(3, "x")),
        run_record(a, "a2", 1, problems=district_wide(2, "x")),  # a prefix: another set
        run_record(a, "a3", 2, problems=district_wide(3, "y") + own(a, 1)),
        run_record(b, "b1", 3, problems=district_wide(3, "x") + own(b, 2)),
    ]
    add_runs(store, *runs)
    with store.unit_of_work() as uow:
        assert count(uow.connection, problem_sets) == 3 + 2 + 3
        assert [uow.get_run(r.id) for r in runs] == runs
        assert uow.list_runs(a.id) == runs[2::-1]


def test_a_district_wide_problem_after_an_own_one_reads_back_in_place(
    store: SqlStore, make_school: Callable[..., SchoolRow]
) -> None:
    school = make_school()
    mixed = district_wide(2, "a") + own(school, 1) + district_wide(2, "b") + own(school, 1)
    runs = [
        run_record(school, "mixed", problems=mixed),
        run_record(school, "own-first", 1, problems=own(school, 1) + district_wide(1)),
        run_record(school, "only-own", 2, problems=own(school, 2)),
        run_record(school, "none", 3),
    ]
    add_runs(store, *runs)
    with store.unit_of_work() as uow:
        assert [uow.get_run(r.id) for r in runs] == runs
        assert count(uow.connection, problem_sets) == 2
        shared = uow.connection.execute(
            select(sync_runs.c.id).where(sync_runs.c.shared_problems.is_not(None))
        )
        assert list(shared.scalars()) == ["mixed"]


def test_a_rolled_back_unit_of_work_leaves_no_set_behind(
    store: SqlStore, make_school: Callable[..., SchoolRow]
) -> None:
    school = make_school()
    problems = district_wide(5) + own(school, 1)
    with store.unit_of_work() as uow:
        uow.add_run(run_record(school, "lost", problems=problems))
        uow.rollback()
        uow.add_run(run_record(school, "kept", problems=problems))  # must write the set again
        uow.commit()

    def crash() -> None:
        with store.unit_of_work() as uow:
            uow.add_run(run_record(school, "crashed", 1, problems=district_wide(4, "z")))
            raise RuntimeError("crash")

    with pytest.raises(RuntimeError, match="crash"):
        crash()
    with store.unit_of_work() as uow:
        assert uow.get_run("lost") is None and uow.get_run("crashed") is None
        assert uow.get_run("kept") == run_record(school, "kept", problems=problems)
        assert count(uow.connection, problem_sets) == 5


def test_a_transaction_asks_once_whether_a_set_is_stored(
    store: SqlStore, make_school: Callable[..., SchoolRow]
) -> None:
    schools = [make_school(f"s{i}") for i in range(6)]
    shared = district_wide(4)
    runs = [run_record(s, f"r{i}", problems=shared + own(s, 1)) for i, s in enumerate(schools)]

    def asked() -> int:
        return sum("FROM problem_sets" in s for s in sent)

    with statements(store) as sent:
        add_runs(store, *runs[:3])  # one transaction: asked once
        assert asked() == 1
        add_runs(store, *runs[3:])  # the next one asks again
        assert asked() == 2
        with store.unit_of_work() as uow:  # and after a rollback, writes the set again
            uow.add_run(run_record(schools[0], "lost", 9, problems=district_wide(2, "n")))
            uow.rollback()
            uow.add_run(run_record(schools[0], "kept", 9, problems=district_wide(2, "n")))
            uow.commit()
        assert asked() == 4
    with store.unit_of_work() as uow:
        assert [uow.get_run(r.id) for r in runs] == runs
        assert uow.get_run("lost") is None
        assert uow.get_run("kept") == run_record(
            schools[0], "kept", 9, problems=district_wide(2, "n")
        )
        assert count(uow.connection, problem_sets) == 4 + 2


def test_a_run_stored_before_problem_sets_reads_back(
    store: SqlStore, make_school: Callable[..., SchoolRow]
) -> None:
    school = make_school()
    run = run_record(school, "old", problems=district_wide(2) + own(school, 1))
    with store.unit_of_work() as uow:
        uow.connection.execute(
            insert(sync_runs).values(
                id="old",
                district_id=school.district_id,
                school_id=school.id,
                trigger="schedule",
                started_at=run.started_at,
                finished_at=run.finished_at,
                outcome=run.outcome.value,
                changes="{}",
                counts="{}",
            )
        )
        uow.connection.execute(insert(run_problems), problem_rows("old", run.problems))
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.get_run("old") == run


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of its own, to migrate up and down."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    factory: Callable[[], str] = request.getfixturevalue("pg_database_factory")
    yield factory()


def test_downgrading_puts_the_shared_problems_back_into_each_run(fresh_url: str) -> None:
    upgrade_database(fresh_url)
    store = SqlStore(fresh_url)
    try:
        with store.unit_of_work() as uow:
            uow.add_district(_district("d1"))
            a, b = (uow.upsert_school("d1", SchoolRecord(s, s)) for s in ("sA", "sB"))
            uow.commit()
        runs = [
            run_record(a, "a1", problems=district_wide(3) + own(a, 2)),
            run_record(b, "b1", problems=district_wide(3) + own(b, 1)),
            run_record(b, "b2", 1, problems=own(b, 2) + district_wide(1)),
            run_record(b, "b3", 2),
        ]
        add_runs(store, *runs)
        store.dispose()
        command.downgrade(alembic_config(fresh_url), "0003")
        upgrade_database(fresh_url)
        with store.unit_of_work() as uow:
            assert count(uow.connection, problem_sets) == 0
            assert [uow.get_run(r.id) for r in runs] == runs
    finally:
        store.dispose()


def test_a_set_of_the_same_objects_is_not_hashed_again_but_an_equal_copy_is(
    store: SqlStore, make_school: Callable[..., SchoolRow], monkeypatch: pytest.MonkeyPatch
) -> None:
    from rostersync.storage import runs_repo

    hashed: list[int] = []
    original = runs_repo.problem_set_digest

    def counting(problems: tuple[RowProblem, ...]) -> str:
        hashed.append(len(problems))
        return original(problems)

    monkeypatch.setattr(runs_repo, "problem_set_digest", counting)
    schools = [make_school(f"s{i}") for i in range(3)]
    shared = district_wide(30, prefix="ident")
    copy = tuple(RowProblem(*(getattr(p, f) for f in p.__slots__)) for p in shared)
    add_runs(store, run_record(schools[0], "r0", problems=shared + own(schools[0], 1)))
    add_runs(store, run_record(schools[1], "r1", problems=tuple(shared) + own(schools[1], 2)))
    add_runs(store, run_record(schools[2], "r2", problems=copy))

    assert hashed == [30, 30]  # the first time, and the equal copy made of other objects
    with store.unit_of_work() as uow:
        assert count(uow.connection, problem_sets) == 30
        assert uow.get_run("r2").problems == shared
