"""A user staged unmapped belongs where its mapped record belongs (hypothesis).

The fetch stages users as raw items with a placement read straight off the wire
(``convert_user_ref``); a school's check maps them later (``convert_user``). Both must agree
on every school a user belongs to and every student it is a contact of, or a school would
be built from the wrong users.
"""

from __future__ import annotations

from typing import Any

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from rostersync.domain.roster import placement
from rostersync.sources.clever.mapping import convert_user, convert_user_ref

IDS = st.sampled_from(["", "s1", "s2", "s3", "a\x00b", "s1 "])
MAYBE_ID = st.one_of(st.none(), IDS)
ID_LISTS = st.one_of(st.none(), st.lists(IDS, max_size=4))
WORDS = st.one_of(st.none(), st.sampled_from(["", "Parent", "Emergency", "Aunt/Uncle", "Zz"]))


def _maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), strategy)


SCHOOLED = st.fixed_dictionaries({}, optional={"school": MAYBE_ID, "schools": ID_LISTS})
RELATIONSHIP = st.fixed_dictionaries(
    {}, optional={"student": MAYBE_ID, "relationship": WORDS, "type": WORDS}
)
ROLES = st.fixed_dictionaries(
    {},
    optional={
        "student": _maybe(SCHOOLED),
        "teacher": _maybe(SCHOOLED),
        "staff": _maybe(st.fixed_dictionaries({}, optional={"schools": ID_LISTS})),
        "contact": _maybe(
            st.fixed_dictionaries(
                {},
                optional={
                    "student_relationships": _maybe(
                        st.lists(RELATIONSHIP, max_size=4)
                    )
                },
            )
        ),
        "district_admin": _maybe(st.just({"title": "x"})),
    },
)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(roles=_maybe(ROLES))
def test_staged_placement_equals_the_mapped_records_placement(roles: Any) -> None:
    raw = msgspec.json.encode({"data": {"id": "u1", "roles": roles}})

    ref = convert_user_ref(raw, [])
    user = convert_user(raw, [])

    assert ref is not None and user is not None
    schools, students = placement(user)
    assert list(ref.schools) == schools
    assert list(ref.students) == students
    assert ref.is_student == (user.student is not None)
    assert ref.raw == raw


@given(roles=_maybe(ROLES))
def test_a_user_without_id_is_the_same_problem_either_way(roles: Any) -> None:
    raw = msgspec.json.encode({"data": {"id": None, "roles": roles}})
    staged: list[Any] = []
    mapped: list[Any] = []

    assert convert_user_ref(raw, staged) is None
    assert convert_user(raw, mapped) is None
    assert staged == mapped
