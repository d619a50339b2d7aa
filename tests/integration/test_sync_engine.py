"""The sync engine over HTTP against the sandbox, on SQLite: PRODUCT.md's semantics."""

from __future__ import annotations

from collections import defaultdict

import pytest
from sqlalchemy import text

from rostersync.domain.changes import diff
from rostersync.domain.policy import HoldKind
from rostersync.domain.roster import ClassInfo, FreshRoster, SchoolRoster
from rostersync.domain.state import Outcome, SyncState
from rostersync.errors import ActionRefusedError
from rostersync.service import districts, holds
from rostersync.service.evaluate import SchoolVerdict, evaluate_school
from rostersync.service.model import Plan
from rostersync.service.queries import school_status
from tests.integration.conftest import Env, decode_table


def expected_counts(env: Env) -> dict[str, dict[str, int]]:
    """Each school's counts, computed straight from the sandbox's records."""
    users = decode_table(env.data, "users")
    sections = decode_table(env.data, "sections")
    schools = [s["id"] for s in decode_table(env.data, "schools")]
    members: dict[str, dict[str, set[str]]] = {s: defaultdict(set) for s in schools}
    for user in users:
        for role in ("student", "teacher", "staff"):
            info = user["roles"].get(role)
            if info is None:
                continue
            ids = set(info.get("schools") or []) | (
                {info["school"]} if info.get("school") else set()
            )
            for school in ids & set(schools):
                members[school][role].add(user["id"])
    out = {}
    for school in schools:
        students = members[school]["student"]
        links = {
            (u["id"], rel["student"])
            for u in users
            if "contact" in u["roles"]
            for rel in u["roles"]["contact"]["student_relationships"]
            if rel["student"] in students
        }
        own = [s for s in sections if s["school"] == school]
        out[school] = {
            "students": len(students),
            "teachers": len(members[school]["teacher"]),
            "staff": len(members[school]["staff"]),
            "contacts": len({c for c, _ in links}),
            "classes": len(own),
            "enrollments": sum(len(set(s["students"])) for s in own),
            "class_teachers": sum(
                len(set(s["teachers"]) | ({s["teacher"]} if s.get("teacher") else set()))
                for s in own
            ),
            "contact_links": len(links),
        }
    return out


def runs_by_school(result) -> dict[str, object]:
    return {run.school_id: run for run in result.runs}


def source_ids(env: Env) -> list[str]:
    return [s["id"] for s in decode_table(env.data, "schools")]


def test_first_sync_stores_exactly_the_sandbox_counts(env: Env) -> None:
    result = env.sync()
    assert {r.outcome for r in result.runs} == {Outcome.APPLIED}
    expected = expected_counts(env)
    for school_source_id, counts in expected.items():
        assert env.roster(school_source_id).counts() == counts
    views = {v.school.source_id: v for v in school_status(env.services)}
    assert {k: v.counts for k, v in views.items()} == expected
    assert all(v.school.status.state is SyncState.HEALTHY for v in views.values())


def test_two_syncs_without_change_write_no_roster_rows(env: Env) -> None:
    env.sync()
    counter = env.count_writes()
    result = env.sync()
    assert {r.outcome for r in result.runs} == {Outcome.UNCHANGED}
    assert counter.rows == 0, counter.statements
    assert all(r.rows_written == 0 for r in result.runs)


def test_large_removal_holds_the_school_and_writes_nothing(env: Env) -> None:
    env.sync()
    a, b, _ = source_ids(env)
    before = env.roster(a)
    removed = env.state.remove_share_of_students(a, 0.3)
    env.state.remove_share_of_sections(b, 0.05)  # small change elsewhere: applies
    result = env.sync()
    runs = runs_by_school(result)
    held = runs[env.school(a).id]
    assert held.outcome is Outcome.HELD
    assert held.hold_kind is HoldKind.DATA_REMOVALS
    assert any(f.subject == "students" for f in held.findings)
    assert env.roster(a) == before
    assert runs[env.school(b).id].outcome is Outcome.APPLIED
    assert env.school(a).status.hold_kind is HoldKind.DATA_REMOVALS
    assert held.changes["students"]["removed"] == len(removed)
    assert len(env.mailer.sent) == 1


def test_six_contacts_and_emergency_contacts_hold_with_named_records(env: Env) -> None:
    env.sync()
    a, _, _ = source_ids(env)
    student = sorted(env.state.users_of_school(a, "student"))[0]
    env.state.add_contacts(student, 6)
    emergency = env.state.set_contact_types(a, "Emergency", 1)
    before = env.roster(a)
    run = runs_by_school(env.sync())[env.school(a).id]
    assert run.hold_kind is HoldKind.DATA_CONFIGURATION
    subjects = {(f.rule, f.subject) for f in run.findings}
    assert ("too_many_contacts", student) in subjects
    assert ("blocked_contact_type", emergency[0]) in subjects
    assert env.roster(a) == before


def test_unshared_school_is_disconnected_and_others_sync(env: Env) -> None:
    env.sync()
    a, b, _ = source_ids(env)
    env.state.unshare_school(a)
    env.state.remove_share_of_sections(b, 0.05)
    runs = runs_by_school(env.sync())
    assert runs[env.school(a).id].hold_kind is HoldKind.DISCONNECTED
    assert runs[env.school(b).id].outcome is Outcome.APPLIED
    assert env.school(a).status.state is SyncState.ON_HOLD


def test_revoked_token_disconnects_every_school_at_once(env: Env) -> None:
    env.sync()
    env.state.revoke_token(env.server.token)
    result = env.sync()
    assert {r.hold_kind for r in result.runs} == {HoldKind.DISCONNECTED}
    assert len(env.mailer.sent) == len(result.runs)


def test_transient_failures_fail_then_disconnect_after_three_runs(env: Env) -> None:
    env.sync()
    a = source_ids(env)[0]
    before = env.roster(a)
    env.state.faults.add(r"^/v3.0/sections$", "503", count=-1)
    states = []
    for _ in range(3):
        env.sync()
        states.append(env.school(a).status.state)
    assert states == [SyncState.FAILING, SyncState.FAILING, SyncState.ON_HOLD]
    assert env.school(a).status.hold_kind is HoldKind.DISCONNECTED
    assert env.roster(a) == before  # an incomplete fetch never counts as removals


def test_a_held_school_emails_once_not_on_every_recheck(env: Env) -> None:
    env.sync()
    a = source_ids(env)[0]
    env.state.remove_share_of_students(a, 0.3)
    env.sync()
    env.sync()
    assert len(env.mailer.sent) == 1


def test_confirm_removals_applies_the_reviewed_change_set(env: Env) -> None:
    env.sync()
    a = source_ids(env)[0]
    removed = env.state.remove_share_of_students(a, 0.3)
    env.sync()
    result = holds.confirm_removals(env.services, a, actor="admin@x")
    assert result.outcome == "applied"
    roster = env.roster(a)
    assert not {sid for sid, role in roster.links if role == "student"} & set(removed)
    assert env.school(a).status.state is SyncState.HEALTHY
    assert runs_by_school(env.sync())[env.school(a).id].outcome is Outcome.UNCHANGED


def test_confirm_removals_refuses_a_stale_change_set(env: Env) -> None:
    env.sync()
    a = source_ids(env)[0]
    env.state.remove_share_of_students(a, 0.3)
    held = runs_by_school(env.sync())[env.school(a).id]
    env.state.remove_share_of_students(a, 0.3)
    env.sync()  # a re-check replaces the held change set
    with pytest.raises(ActionRefusedError):
        holds.confirm_removals(env.services, a, actor="admin@x", run_id=held.id)


def test_actions_the_state_does_not_allow_are_refused_and_recorded(env: Env) -> None:
    env.sync()
    a = source_ids(env)[0]
    with pytest.raises(ActionRefusedError, match="not available"):
        holds.confirm_removals(env.services, a, actor="admin@x")
    with pytest.raises(ActionRefusedError):
        holds.reconnect(env.services, a, actor="admin@x")
    env.state.remove_share_of_students(a, 0.3)
    env.sync()
    with pytest.raises(ActionRefusedError):
        holds.reconnect(env.services, a, actor="admin@x")
    with pytest.raises(ActionRefusedError, match="Yes, continue"):
        holds.check_new_data(env.services, a, actor="admin@x", confirmed=False)
    with env.store.unit_of_work() as uow:
        actions = uow.list_actions(env.school(a).id)
    assert [a.outcome for a in actions].count("refused") == 3


def test_check_new_data_syncs_at_once_when_the_data_is_fixed(env: Env) -> None:
    env.sync()
    a = source_ids(env)[0]
    student = sorted(env.state.users_of_school(a, "student"))[0]
    extra = env.state.add_contacts(student, 6)
    env.sync()
    again = holds.check_new_data(env.services, a, actor="admin@x", confirmed=True)
    assert again.outcome == "held"
    for contact_id in extra:
        env.state.delete_user(contact_id)
    fixed = holds.check_new_data(env.services, a, actor="admin@x", confirmed=True)
    assert fixed.outcome == "applied"
    assert env.school(a).status.state is SyncState.HEALTHY


def test_reconnect_keeps_the_hold_until_the_share_is_back(env: Env) -> None:
    env.sync()
    a = source_ids(env)[0]
    env.state.unshare_school(a)
    env.sync()
    still = holds.reconnect(env.services, a, actor="admin@x")
    assert still.outcome == "failed"
    assert env.school(a).status.hold_kind is HoldKind.DISCONNECTED
    env.state.share_school(a)
    back = holds.reconnect(env.services, a, actor="admin@x")
    assert back.outcome == "applied"
    assert env.school(a).status.state is SyncState.HEALTHY
    assert len(env.mailer.sent) == 1


def account_rows(env: Env, source_id: str) -> list[tuple]:
    with env.store.engine.connect() as conn:
        return list(
            conn.execute(
                text("SELECT id, active FROM accounts WHERE source_id = :s"), {"s": source_id}
            )
        )


def test_a_student_who_moves_keeps_one_account(env: Env) -> None:
    env.sync()
    a, b, _ = source_ids(env)
    student = sorted(env.state.users_of_school(a, "student"))[0]
    env.state.move_student(student, b)
    env.sync()
    assert (student, "student") in env.roster(b).links
    assert (student, "student") not in env.roster(a).links
    rows = account_rows(env, student)
    assert len(rows) == 1
    assert rows[0][1]


def test_a_removed_student_is_deactivated_then_restored(env: Env) -> None:
    env.sync()
    a = source_ids(env)[0]
    student = sorted(env.state.users_of_school(a, "student"))[0]
    record = env.state.record("users", student)
    env.state.delete_user(student)
    env.sync()
    [(row_id, active)] = account_rows(env, student)
    assert not active
    env.state.upsert_user(record)
    env.sync()
    assert account_rows(env, student) == [(row_id, True)]
    assert (student, "student") in env.roster(a).links


def test_inactive_plan_does_not_sync_and_loses_nothing(env: Env) -> None:
    env.sync()
    a = source_ids(env)[0]
    before = env.roster(a)
    districts.set_policy(env.services, env.district_id, plan=Plan.INACTIVE)
    env.state.remove_share_of_students(a, 0.5)
    result = env.sync()
    assert result.runs == []
    assert "inactive" in result.skipped_reason
    assert env.roster(a) == before


def test_schools_are_written_only_when_new_or_renamed(env: Env) -> None:
    from sqlalchemy import event

    env.sync()
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        if " schools " in f" {statement.lower()} " and statement.lstrip()[:6] in (
            "INSERT",
            "UPDATE",
        ):
            statements.append(statement)

    event.listen(env.store.engine, "after_cursor_execute", record)
    env.sync()
    # the resync found every school as it was: no upsert (each school's status is saved)
    assert not [s for s in statements if s.lstrip().startswith("INSERT")]
    first = source_ids(env)[0]
    env.state.save("schools", {**env.state.require("schools", first), "name": "Renamed High"})
    statements.clear()
    env.sync()
    assert env.school(first).name == "Renamed High"
    assert len([s for s in statements if s.lstrip().startswith("INSERT")]) == 1


def test_a_first_load_writes_the_schools_in_id_order_and_lists_them_by_name(env: Env) -> None:
    """The roster tables' keys start with the school id, so a first load evaluates the
    schools in the order of their ids (each school's rows then go after the last one's);
    the runs are still listed as the schools are, by name."""
    env.sync(school_refs=[])  # registers the schools, evaluates none
    with env.store.unit_of_work() as uow:
        ids = sorted(school.id for school in uow.list_schools(env.district_id))
    # Names that sort the other way round from the ids.
    for number, school_id in enumerate(reversed(ids)):
        source_id = env.school(school_id).source_id
        record = env.state.require("schools", source_id)
        env.state.save("schools", {**record, "name": f"School {number}"})

    result = env.sync()

    assert [run.school_id for run in result.runs] == list(reversed(ids))
    assert {run.outcome for run in result.runs} == {Outcome.APPLIED}
    # Account ids are handed out as accounts are inserted: a school's lowest one tells
    # when it was written (each school here has students of its own).
    with env.store.engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT school_id, min(account_id) FROM school_links"
            " WHERE role = 'student' GROUP BY school_id"
        ).all()
    first_account = dict(rows)
    assert sorted(first_account, key=first_account.__getitem__) == ids


def test_a_first_load_held_for_its_contacts_holds_the_whole_roster(env: Env) -> None:
    """A first load is built in its write order (``FreshRoster``); held, it is diffed as a
    roster all the same: the held change set adds every row, and nothing is written."""
    a, _, _ = source_ids(env)
    emergency = env.state.set_contact_types(a, "Emergency", 1)
    runs = runs_by_school(env.sync())
    held = runs[env.school(a).id]
    assert held.outcome is Outcome.HELD
    assert held.hold_kind is HoldKind.DATA_CONFIGURATION
    assert ("blocked_contact_type", emergency[0]) in {(f.rule, f.subject) for f in held.findings}
    assert env.roster(a).is_empty()
    expected = expected_counts(env)[a]
    assert {e: c["added"] for e, c in held.changes.items()} == expected
    assert all(c["removed"] == 0 and c["updated"] == 0 for c in held.changes.values())
    assert held.rows_written == 0
    assert {run.outcome for run in runs.values() if run is not held} == {Outcome.APPLIED}


def test_a_first_load_build_meets_a_school_that_holds_rows_and_diffs_it(env: Env) -> None:
    """A roster built for a first load (the school's version is 0) whose store turns out to
    hold rows of the school is diffed against them: only the difference is written."""
    env.sync()
    a, _, _ = source_ids(env)
    school = env.school(a)
    current = env.roster(a)
    dropped = sorted(current.memberships)[0]
    desired = SchoolRoster(
        school_id=current.school_id,
        accounts=dict(current.accounts),
        links=set(current.links),
        classes={**current.classes, "new-class": ClassInfo("new-class", "New class")},
        memberships=current.memberships - {dropped},
        contact_links=dict(current.contact_links),
    )
    verdict = SchoolVerdict(districts.get_district(env.services, env.district_id), school, "test")
    counter = env.count_writes()
    run = evaluate_school(env.services, verdict, FreshRoster.of(desired), [])
    assert run.outcome is Outcome.APPLIED
    assert run.changes == diff(current, desired).counts()
    assert run.rows_written == counter.rows == 2
    assert env.roster(a) == desired
