"""The pure core: rosters, diffs, policies and the state machine, with no I/O."""

from __future__ import annotations

from datetime import UTC, datetime

from rostersync.domain.changes import Op, apply_changes, diff
from rostersync.domain.policy import (
    HoldKind,
    Policy,
    configuration_findings,
    hold_kind_of,
    removal_findings,
)
from rostersync.domain.records import (
    ContactInfo,
    PersonName,
    SchoolRecord,
    SectionRecord,
    StudentInfo,
    StudentRelationship,
    TeacherInfo,
    UserRecord,
)
from rostersync.domain.roster import build_rosters
from rostersync.domain.state import (
    SchoolStatus,
    SyncState,
    on_hold,
    on_success,
    on_transient_failure,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def student(sid: str, school: str, name: str = "Ana") -> UserRecord:
    return UserRecord(
        sid, PersonName(first=name), student=StudentInfo(school=school, schools=(school,))
    )


def contact(cid: str, *rels: tuple[str, str]) -> UserRecord:
    relationships = tuple(StudentRelationship(s, "Parent", t) for s, t in rels)
    return UserRecord(
        cid, PersonName(last=f"Parent {cid}"), contact=ContactInfo(relationships=relationships)
    )


def district(n_students: int = 20, school: str = "s1"):
    schools = [SchoolRecord("s1", "One"), SchoolRecord("s2", "Two")]
    users = [student(f"u{i:03}", school) for i in range(n_students)]
    users.append(UserRecord("t1", PersonName("Tea"), "t@x", teacher=TeacherInfo(school=school)))
    users.append(contact("c1", ("u000", "Parent/Guardian"), ("u001", "Primary")))
    sections = [
        SectionRecord("sec1", school, "Math", teacher_id="t1", student_ids=("u000", "u001"))
    ]
    return schools, users, sections


def test_build_rosters_places_each_record_in_its_school():
    schools, users, sections = district()
    built = build_rosters(schools, users, sections)
    one = built.rosters["s1"]
    assert one.counts() == {
        "students": 20,
        "teachers": 1,
        "staff": 0,
        "contacts": 1,
        "classes": 1,
        "enrollments": 2,
        "class_teachers": 1,
        "contact_links": 2,
    }
    assert built.rosters["s2"].counts()["students"] == 0
    assert built.problems == []


def test_section_naming_a_missing_student_is_an_error_not_a_crash():
    schools, users, _ = district()
    sections = [SectionRecord("sec1", "s1", "Math", student_ids=("u000", "ghost"))]
    built = build_rosters(schools, users, sections)
    assert [p.code for p in built.problems] == ["unknown_member"]
    assert built.rosters["s1"].counts()["enrollments"] == 1


def test_diff_is_empty_for_identical_rosters_and_applies_back():
    schools, users, sections = district()
    a = build_rosters(schools, users, sections).rosters["s1"]
    b = build_rosters(schools, users[5:], sections).rosters["s1"]
    assert diff(a, a).is_empty()
    change_set = diff(a, b)
    assert change_set.removals()["students"] == 5
    after = apply_changes(a, change_set)
    assert diff(after, b).is_empty()


def test_diff_is_deterministic_and_ordered():
    schools, users, sections = district()
    a = build_rosters(schools, users, sections).rosters["s1"]
    b = build_rosters(schools, list(reversed(users[3:])), sections).rosters["s1"]
    first, second = diff(a, b), diff(a, b)
    assert first.changes == second.changes
    keys = [(c.entity, c.key) for c in first.changes if c.entity == "students"]
    assert keys == sorted(keys)


def test_holds_when_removals_exceed_threshold():
    schools, users, sections = district(n_students=100)
    a = build_rosters(schools, users, sections).rosters["s1"]
    b = build_rosters(schools, users[11:], sections).rosters["s1"]
    findings = removal_findings(a.counts(), diff(a, b), Policy())
    assert [f.subject for f in findings if f.rule == "removal_share"] == ["students"]


def test_no_hold_under_the_minimum_count_even_at_a_high_share():
    schools, users, sections = district(n_students=20)
    a = build_rosters(schools, users, sections).rosters["s1"]
    b = build_rosters(schools, users[9:], sections).rosters["s1"]  # 9 of 20 removed: 45 %
    findings = removal_findings(a.counts(), diff(a, b), Policy())
    assert [f for f in findings if f.subject == "students"] == []


def test_holds_when_total_removals_exceed_the_total_limit():
    schools, users, sections = district(n_students=40)
    a = build_rosters(schools, users, sections).rosters["s1"]
    b = build_rosters(schools, users[30:], sections).rosters["s1"]
    policy = Policy(removal_pct=100, removal_total=20)
    rules = {f.rule for f in removal_findings(a.counts(), diff(a, b), policy)}
    assert rules == {"removal_total"}


def test_six_contacts_hold_and_five_do_not():
    schools, users, sections = district()
    five = [contact(f"k{i}", ("u005", "Parent/Guardian")) for i in range(5)]
    roster = build_rosters(schools, users + five, sections).rosters["s1"]
    assert configuration_findings(roster, Policy()) == []
    six = [*five, contact("k9", ("u005", "Family"))]
    roster = build_rosters(schools, users + six, sections).rosters["s1"]
    findings = configuration_findings(roster, Policy())
    assert [(f.rule, f.subject) for f in findings] == [("too_many_contacts", "u005")]


def test_emergency_and_secondary_contacts_hold():
    schools, users, sections = district()
    extra = [contact("k1", ("u002", "Emergency")), contact("k2", ("u003", "Secondary"))]
    roster = build_rosters(schools, users + extra, sections).rosters["s1"]
    findings = configuration_findings(roster, Policy())
    assert sorted(f.subject for f in findings) == ["k1", "k2"]
    relaxed = Policy(blocked_contact_types=frozenset({"Secondary"}))
    assert [f.subject for f in configuration_findings(roster, relaxed)] == ["k2"]


def test_hold_kind_follows_precedence():
    from rostersync.domain.policy import Finding

    findings = [
        Finding(HoldKind.DATA_REMOVALS, "r", "m"),
        Finding(HoldKind.DATA_CONFIGURATION, "c", "m"),
    ]
    assert hold_kind_of(findings) is HoldKind.DATA_CONFIGURATION
    assert hold_kind_of([*findings, Finding(HoldKind.DISCONNECTED, "d", "m")]) is (
        HoldKind.DISCONNECTED
    )
    assert hold_kind_of([]) is None


def test_state_machine_emails_only_on_entry_or_kind_change():
    status = SchoolStatus()
    entered = on_hold(status, HoldKind.DATA_REMOVALS, NOW)
    assert entered.hold_entered and entered.status.state is SyncState.ON_HOLD
    again = on_hold(entered.status, HoldKind.DATA_REMOVALS, NOW)
    assert not again.hold_entered
    changed = on_hold(again.status, HoldKind.DATA_CONFIGURATION, NOW)
    assert changed.hold_entered
    healthy = on_success(changed.status, NOW)
    assert healthy.status.state is SyncState.HEALTHY and healthy.status.hold_kind is None


def test_transient_failures_become_a_disconnected_hold_on_the_third():
    status = SchoolStatus(state=SyncState.HEALTHY)
    first = on_transient_failure(status, NOW, "503", 3)
    second = on_transient_failure(first.status, NOW, "503", 3)
    assert second.status.state is SyncState.FAILING and not second.hold_entered
    third = on_transient_failure(second.status, NOW, "503", 3)
    assert third.hold_entered and third.status.hold_kind is HoldKind.DISCONNECTED


def test_account_updates_are_reported_once_per_account():
    schools, users, sections = district()
    a = build_rosters(schools, users, sections).rosters["s1"]
    renamed = [student("u004", "s1", name="Renée") if u.source_id == "u004" else u for u in users]
    b = build_rosters(schools, renamed, sections).rosters["s1"]
    updates = [c for c in diff(a, b).changes if c.op is Op.UPDATED]
    assert [(c.entity, c.key) for c in updates] == [("students", ("u004",))]


def test_csv_cells_that_look_like_formulas_are_defused():
    from rostersync.domain.changes import Change
    from rostersync.domain.roster import Account
    from rostersync.service.queries import changes_csv

    evil = Account("u1", ("student",), first_name="=HYPERLINK(1)")
    text = changes_csv([Change("students", Op.REMOVED, ("u1",), before=evil)])
    assert "'=HYPERLINK(1) (u1)" in text
    plain = Account("u2", ("student",), first_name="<script>alert(1)</script>")
    assert "<script>alert(1)</script> (u2)" in changes_csv(
        [Change("students", Op.ADDED, ("u2",), after=plain)]
    )
