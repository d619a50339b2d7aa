"""The domain's fast paths give exactly what the plain code gives.

The diff, the counts and the configuration policy are written for speed (per-entity sorts,
constructors that skip ``__init__``, counting in C). These tests hold them to straightforward
reference versions, on random rosters: same changes in the same order, same counts, same
findings in the same order.
"""

from __future__ import annotations

from collections import Counter
from itertools import product

from hypothesis import given, settings
from hypothesis import strategies as st

from rostersync.domain.changes import (
    ENTITIES,
    MEMBERSHIP_ENTITY,
    ROLE_ENTITY,
    Change,
    ChangeSet,
    Op,
    _new_change,
    added_counts,
    diff,
)
from rostersync.domain.policy import Finding, HoldKind, Policy, configuration_findings
from rostersync.domain.records import (
    ContactInfo,
    DistrictAdminInfo,
    PersonName,
    StaffInfo,
    StudentInfo,
    StudentRelationship,
    TeacherInfo,
    UserRecord,
)
from rostersync.domain.roster import (
    ACCOUNT_ROLES,
    Account,
    ClassInfo,
    FreshRoster,
    LinkInfo,
    SchoolRoster,
    _placed_schools,
    account_from_user,
    placement,
)
from rostersync.service.assess import assess, assess_first
from rostersync.storage.codec import ACCOUNT_COLUMNS

IDS = [f"a{i}" for i in range(6)]
ROLES = ("student", "teacher", "staff", "contact")
WORDS = st.sampled_from(["", "Ana", "Bo"])
TYPES = st.sampled_from(["", "Primary", "Emergency", "Secondary"])


@st.composite
def rosters(draw: st.DrawFn) -> SchoolRoster:
    """A roster over a small fixed id space, so two draws overlap, update and remove."""
    links = draw(st.sets(st.tuples(st.sampled_from(IDS), st.sampled_from(ROLES)), max_size=10))
    accounts = {
        a: Account(a, (), first_name=draw(WORDS), grade=draw(WORDS))
        for a in sorted({a for a, _ in links})
    }
    classes = {c: ClassInfo(c, draw(WORDS)) for c in sorted(draw(st.sets(st.sampled_from("cdef"))))}
    memberships = draw(
        st.sets(
            st.tuples(
                st.sampled_from("cdef"),
                st.sampled_from(IDS),
                st.sampled_from(["student", "teacher"]),
            ),
            max_size=12,
        )
    )
    pairs = draw(st.sets(st.tuples(st.sampled_from(IDS), st.sampled_from(IDS)), max_size=10))
    contact_links = {p: LinkInfo(draw(WORDS), draw(TYPES)) for p in sorted(pairs)}
    return SchoolRoster("s1", accounts, links, classes, memberships, contact_links)


def reference_diff(current: SchoolRoster, desired: SchoolRoster) -> list[Change]:
    """The diff written plainly: every change, then one sort by (entity, key, op)."""
    out = [
        Change(ROLE_ENTITY[r], Op.ADDED, (a,), after=desired.accounts[a])
        for a, r in desired.links - current.links
    ]
    out += [
        Change(ROLE_ENTITY[r], Op.REMOVED, (a,), before=current.accounts[a])
        for a, r in current.links - desired.links
    ]
    for a in {a for a, _ in current.links} & {a for a, _ in desired.links}:
        if current.accounts[a] != desired.accounts[a]:
            held = sorted(r for x, r in desired.links if x == a)
            role = next((r for r in ROLES if r in held), held[0])
            out.append(
                Change(
                    ROLE_ENTITY[role], Op.UPDATED, (a,), current.accounts[a], desired.accounts[a]
                )
            )
    for entity in ("classes", "contact_links"):
        before, after = getattr(current, entity), getattr(desired, entity)
        for key in before.keys() | after.keys():
            k = key if isinstance(key, tuple) else (key,)
            if key not in before:
                out.append(Change(entity, Op.ADDED, k, after=after[key]))
            elif key not in after:
                out.append(Change(entity, Op.REMOVED, k, before=before[key]))
            elif before[key] != after[key]:
                out.append(Change(entity, Op.UPDATED, k, before[key], after[key]))
    for c, a, r in desired.memberships - current.memberships:
        out.append(Change(MEMBERSHIP_ENTITY[r], Op.ADDED, (c, a)))
    for c, a, r in current.memberships - desired.memberships:
        out.append(Change(MEMBERSHIP_ENTITY[r], Op.REMOVED, (c, a)))
    return sorted(out, key=lambda c: (ENTITIES.index(c.entity), c.key, c.op.value))


def reference_findings(roster: SchoolRoster, policy: Policy) -> list[Finding]:
    """The configuration policy written plainly: sort everything, then filter."""

    def name(account_id: str) -> str:
        account = roster.accounts.get(account_id)
        if account is None or not account.display_name:
            return account_id
        return f"{account.display_name} ({account_id})"

    kind = HoldKind.DATA_CONFIGURATION
    per_student = Counter(s for _, s in roster.contact_links)
    out = [
        Finding(
            kind,
            "too_many_contacts",
            f"Student {name(s)} has {n} contacts; at most {policy.max_contacts} are allowed.",
            subject=s,
        )
        for s, n in sorted(per_student.items())
        if n > policy.max_contacts
    ]
    out += [
        Finding(
            kind,
            "blocked_contact_type",
            f"Contact {name(c)} is shared as a {link.type} contact of student {name(s)}.",
            subject=c,
        )
        for (c, s), link in sorted(roster.contact_links.items())
        if link.type in policy.blocked_contact_types
    ]
    return out


@settings(max_examples=300, deadline=None)
@given(rosters(), rosters())
def test_diff_and_counts_match_the_plain_versions(current, desired) -> None:
    change_set = diff(current, desired)
    assert change_set.changes == reference_diff(current, desired)
    assert [repr(c) for c in change_set.changes] == [
        repr(c) for c in reference_diff(current, desired)
    ]
    plain = {e: {op.value: 0 for op in Op} for e in ENTITIES}
    for change in change_set.changes:
        plain[change.entity][change.op.value] += 1
    assert change_set.counts() == plain
    assert change_set.removals() == {e: plain[e]["removed"] for e in ENTITIES}
    roles = Counter(r for _, r in desired.links)
    members = Counter(r for _, _, r in desired.memberships)
    assert desired.counts() == {
        "students": roles["student"],
        "teachers": roles["teacher"],
        "staff": roles["staff"],
        "contacts": roles["contact"],
        "classes": len(desired.classes),
        "enrollments": members["student"],
        "class_teachers": members["teacher"],
        "contact_links": len(desired.contact_links),
    }


@settings(max_examples=200, deadline=None)
@given(rosters(), st.integers(0, 3), st.sets(TYPES))
def test_configuration_findings_match_the_plain_version(roster, most, blocked) -> None:
    policy = Policy(max_contacts=most, blocked_contact_types=frozenset(blocked))
    assert configuration_findings(roster, policy) == reference_findings(roster, policy)


def test_change_without_init_is_a_change() -> None:
    after = Account("u1", ("student",), first_name="Ana")
    made = _new_change("students", Op.ADDED, ("u1",), None, after)
    plain = Change("students", Op.ADDED, ("u1",), after=after)
    assert type(made) is Change
    assert made == plain and hash(made) == hash(plain) and repr(made) == repr(plain)


def test_an_account_is_a_tuple_of_its_store_columns_after_its_keys() -> None:
    """The apply slices an account into its row (``roster_sql._ACCOUNT_REST``): the fields
    after ``roles`` must be the store's columns, in their order; ``account_from_user``
    makes it without the named tuple's constructor, and it must be the same object."""
    assert Account._fields[:2] == ("source_id", "roles")
    assert Account._fields[2:] == ACCOUNT_COLUMNS[1:] and ACCOUNT_COLUMNS[0] == "roles"
    user = UserRecord(
        "u1", PersonName("A", "B", "C"), "e@x", StudentInfo("S1", "N1", "", "5"),
        contact=ContactInfo("C1", "555"),
    )  # fmt: skip
    made = account_from_user(user)
    plain = Account("u1", ("student", "contact"), "A", "B", "C", "e@x", "S1", "N1", "5", "555")
    assert type(made) is Account
    assert made == plain and hash(made) == hash(plain) and repr(made) == repr(plain)


def test_account_roles_are_the_users_account_roles_in_order() -> None:
    for has in product((False, True), repeat=5):
        user = UserRecord(
            "u1",
            student=StudentInfo(sis_id="S") if has[0] else None,
            teacher=TeacherInfo(sis_id="T") if has[1] else None,
            staff=StaffInfo(staff_id="F") if has[2] else None,
            contact=ContactInfo(sis_id="C") if has[3] else None,
            district_admin=DistrictAdminInfo() if has[4] else None,
        )
        roles = account_from_user(user).roles
        assert roles == tuple(r.value for r in user.roles if r in ACCOUNT_ROLES)
        assert all(type(r) is str for r in roles)


def test_change_set_counts_keep_plain_string_keys() -> None:
    counts = ChangeSet("s1", [Change("students", Op.ADDED, ("u1",))]).counts()
    assert counts["students"] == {"added": 1, "updated": 0, "removed": 0}
    assert all(type(op) is str for ops in counts.values() for op in ops)


@st.composite
def first_loads(draw: st.DrawFn) -> SchoolRoster:
    """A desired roster over a wider id space (ids sharing prefixes, so the sort of pairs
    by their first and second ids is exercised), for a diff from an empty roster."""
    ids = st.text("ab", min_size=0, max_size=3)
    links = draw(st.sets(st.tuples(ids, st.sampled_from(ROLES)), max_size=20))
    accounts = {a: Account(a, (), first_name=draw(WORDS)) for a in sorted({a for a, _ in links})}
    classes = {c: ClassInfo(c, draw(WORDS)) for c in draw(st.sets(ids, max_size=6))}
    members = st.tuples(ids, ids, st.sampled_from(["student", "teacher"]))
    memberships = draw(st.sets(members, max_size=25))
    pairs = draw(st.sets(st.tuples(ids, ids), max_size=20))
    contact_links = {p: LinkInfo(draw(WORDS), draw(TYPES)) for p in pairs}
    return SchoolRoster("s1", accounts, links, classes, memberships, contact_links)


@settings(max_examples=300, deadline=None)
@given(st.one_of(first_loads(), rosters()))
def test_diff_from_an_empty_roster_matches_the_plain_version(desired) -> None:
    """A first load takes ``diff``'s shortcut for an empty current roster."""
    change_set = diff(SchoolRoster("s1"), desired)
    reference = reference_diff(SchoolRoster("s1"), desired)
    assert change_set.changes == reference
    assert [repr(c) for c in change_set.changes] == [repr(c) for c in reference]
    assert change_set.school_id == "s1"


def test_diff_refuses_a_membership_of_another_role_from_empty_or_not() -> None:
    desired = SchoolRoster("s1", memberships={("c", "a1", "staff")})
    for current in (SchoolRoster("s1"), SchoolRoster("s1", classes={"d": ClassInfo("d", "")})):
        try:
            diff(current, desired)
        except KeyError:
            continue
        raise AssertionError("a membership of role staff was diffed")


@settings(max_examples=300, deadline=None)
@given(st.one_of(first_loads(), rosters()), st.integers(0, 3), st.sets(TYPES))
def test_first_load_without_a_change_set_matches_the_diff(desired, most, blocked) -> None:
    """A first load not held is written with no change set (``service.evaluate``): its run
    counts (``added_counts``) and its findings (``assess_first``) are the diff's."""
    empty = SchoolRoster("s1")
    policy = Policy(max_contacts=most, blocked_contact_types=frozenset(blocked))
    assert added_counts(desired) == diff(empty, desired).counts()
    assert added_counts(desired, desired.counts()) == diff(empty, desired).counts()
    assessment = assess(empty, desired, policy)
    assert assess_first(desired, policy) == (assessment.findings, assessment.hold_kind)
    assert empty.is_empty() and desired.is_empty() is not bool(assessment.change_set.changes)
    # The same roster in the form a sync's first load builds it.
    fresh = FreshRoster.of(desired)
    assert added_counts(fresh) == added_counts(fresh, fresh.counts()) == added_counts(desired)
    assert assess_first(fresh, policy) == (assessment.findings, assessment.hold_kind)
    assert fresh.is_empty() == desired.is_empty()
    assert fresh.roster() == desired


def test_first_load_counts_refuse_a_role_the_diff_refuses() -> None:
    for desired in (
        SchoolRoster("s1", memberships={("c", "a1", "staff")}),
        SchoolRoster("s1", accounts={"a1": Account("a1", ())}, links={("a1", "admin")}),
    ):
        for count in (
            added_counts,
            lambda r: added_counts(r, r.counts()),
            lambda r: added_counts(FreshRoster.of(r)),
            lambda r: diff(SchoolRoster("s1"), r),
        ):
            try:
                count(desired)
            except KeyError:
                continue
            raise AssertionError(f"{desired} was counted")


SCHOOL_IDS = st.sampled_from(["", "s1", "s2", "s3"])
SCHOOL_LISTS = st.lists(st.sampled_from(["s1", "s2", "s3"]), max_size=3, unique=True).map(
    lambda ids: tuple(sorted(ids))  # as mapping gives them: sorted, unique, none empty
)


@st.composite
def placed_users(draw: st.DrawFn) -> UserRecord:
    """Users of every mix of roles, with schools listed, primary or both (or neither)."""
    student = teacher = staff = contact = None
    if draw(st.booleans()):
        student = StudentInfo(school=draw(SCHOOL_IDS), schools=draw(SCHOOL_LISTS))
    if draw(st.booleans()):
        teacher = TeacherInfo(school=draw(SCHOOL_IDS), schools=draw(SCHOOL_LISTS))
    if draw(st.booleans()):
        staff = StaffInfo(schools=draw(SCHOOL_LISTS))
    if draw(st.booleans()):
        ids = draw(st.lists(st.sampled_from(IDS), max_size=3))
        contact = ContactInfo(relationships=tuple(StudentRelationship(i) for i in ids))
    return UserRecord("u1", student=student, teacher=teacher, staff=staff, contact=contact)


@settings(max_examples=400, deadline=None)
@given(placed_users())
def test_placement_fast_paths_match_the_general_placement(user) -> None:
    students = [rel.student_id for rel in user.contact.relationships] if user.contact else []
    assert placement(user) == (_placed_schools(user), students)
