"""Sync runs, their findings and problems, and held change sets."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from rostersync.domain.changes import Change, ChangeSet, Op
from rostersync.domain.policy import Finding, HoldKind
from rostersync.domain.records import RowProblem, Severity
from rostersync.domain.roster import Account, ClassInfo, LinkInfo
from rostersync.domain.state import Outcome
from rostersync.service.model import RunRecord, SchoolRow
from rostersync.storage import SqlStore
from tests.storage.recording import statements

T0 = datetime(2024, 9, 2, 7, 30, tzinfo=UTC)


def run_record(school: SchoolRow, run_id: str, minutes: int = 0, **changes: Any) -> RunRecord:
    base = RunRecord(
        id=run_id,
        district_id=school.district_id,
        school_id=school.id,
        trigger="schedule",
        started_at=T0 + timedelta(minutes=minutes),
        finished_at=T0 + timedelta(minutes=minutes, seconds=42),
        outcome=Outcome.APPLIED,
    )
    return replace(base, **changes)


HELD = ChangeSet(
    "clever-school-1",
    [
        Change("students", Op.ADDED, ("u1",), after=Account("u1", ("student", "contact"), "A")),
        Change(
            "teachers",
            Op.UPDATED,
            ("u2",),
            before=Account("u2", ("teacher",), email="a@x"),
            after=Account("u2", ("teacher",), email="b@x"),
        ),
        Change("staff", Op.REMOVED, ("u3",), before=Account("u3", ("staff",))),
        Change("contacts", Op.REMOVED, ("u4",), before=Account("u4", ("contact",), phone="1")),
        Change("classes", Op.REMOVED, ("c1",), before=ClassInfo("c1", "Math", term="Fall")),
        Change("enrollments", Op.REMOVED, ("c1", "u1")),
        Change("class_teachers", Op.ADDED, ("c2", "u2")),
        Change(
            "contact_links",
            Op.UPDATED,
            ("u4", "u1"),
            before=LinkInfo("Parent", "Primary"),
            after=LinkInfo("Parent", "Emergency"),
        ),
    ],
)


def test_a_run_round_trips_with_findings_problems_and_counts(
    store: SqlStore, make_school: Callable[..., SchoolRow]
) -> None:
    school = make_school()
    run = run_record(
        school,
        "r1",
        outcome=Outcome.HELD,
        hold_kind=HoldKind.DATA_CONFIGURATION,
        changes={"students": {"added": 3, "updated": 0, "removed": 1}},
        findings=(
            Finding(HoldKind.DATA_CONFIGURATION, "too_many_contacts", "Amy has 7.", "u1"),
            Finding(HoldKind.DATA_REMOVALS, "removal_total", "Too many removals.", "total"),
        ),
        problems=(
            RowProblem(Severity.ERROR, "contact_link", "u9", "unknown_student", "Skipped."),
            RowProblem(Severity.ALERT, "teacher", "t1", "missing_email", "No email.", "s1"),
        ),
        error="",
        counts={"students": 40, "classes": 3},
        roster_version=4,
        requests=12,
        rows_written=0,
        actor="admin@example.org",
    )
    with store.unit_of_work() as uow:
        uow.add_run(run)
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.get_run("r1") == run
        assert uow.get_run("nope") is None


def test_a_held_run_keeps_its_exact_change_set(
    store: SqlStore, make_school: Callable[..., SchoolRow]
) -> None:
    school = make_school()
    with store.unit_of_work() as uow:
        uow.add_run(run_record(school, "held", outcome=Outcome.HELD), HELD)
        uow.add_run(run_record(school, "plain"))
        uow.add_run(run_record(school, "empty", outcome=Outcome.HELD), ChangeSet("s1"))
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.held_change_set("held") == HELD
        assert uow.held_change_set("plain") is None
        assert uow.held_change_set("missing") is None
        assert uow.held_change_set("empty") == ChangeSet("s1")


def test_runs_are_listed_newest_first_per_school(
    store: SqlStore, make_school: Callable[..., SchoolRow]
) -> None:
    a, b = make_school("sA"), make_school("sB")
    with store.unit_of_work() as uow:
        for minutes, run_id in [(5, "a2"), (0, "a1"), (10, "a3")]:
            uow.add_run(run_record(a, run_id, minutes))
        uow.add_run(run_record(b, "b1", 20))
        uow.commit()
    with store.unit_of_work() as uow:
        assert [r.id for r in uow.list_runs(a.id)] == ["a3", "a2", "a1"]
        assert [r.id for r in uow.list_runs(a.id, limit=2)] == ["a3", "a2"]
        assert [r.id for r in uow.list_runs(b.id)] == ["b1"]
        assert uow.list_runs("unknown") == []


AWKWARD_TEXT = [
    "quo'te\"s",
    "back\\slash",
    "\\N",
    "tab\tline\nbreak",
    "ünïcødé ✓ 🎒",
    "%s %(x)s",
    "",
]


def test_a_runs_own_problems_come_back_exactly_and_go_in_one_statement(
    store: SqlStore, make_school: Callable[..., SchoolRow]
) -> None:
    school = make_school()
    own = tuple(
        RowProblem(Severity.ALERT if i % 2 else Severity.ERROR, f"e{t}", f"u{t}", t, t, "s1")
        for i, t in enumerate(AWKWARD_TEXT)
    )
    run = run_record(school, "r1", problems=own)
    with statements(store) as sent, store.unit_of_work() as uow:
        uow.add_run(run)
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.get_run("r1") == run
    inserts = [s for s in sent if "INSERT INTO run_problems" in s]
    if store.engine.dialect.name == "postgresql":
        assert len(inserts) == 1 and "jsonb_array_elements" in inserts[0]
    else:
        assert len(inserts) >= 1
