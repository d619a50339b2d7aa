"""Pure tests of the JSON codec and of regrouping change sets for bulk writes (no database)."""

from __future__ import annotations

import msgspec
import pytest

from rostersync.domain.changes import Change, ChangeSet, Op
from rostersync.domain.roster import Account, ClassInfo, LinkInfo
from rostersync.storage.codec import change_from_row, change_row, decode_value, encode_value
from rostersync.storage.roster_plan import plan_changes


def test_values_decode_to_the_type_their_entity_carries() -> None:
    account = Account("u1", ("teacher", "contact"), "Ann", "B", "Lee", "a@x", "9", "7", "3", "555")
    for entity in ("students", "teachers", "staff", "contacts"):
        assert decode_value(entity, encode_value(account)) == account
    info = ClassInfo("c1", "Math", "math", "2", "5", "01", "sis", "Fall", "Algebra")
    assert decode_value("classes", encode_value(info)) == info
    assert decode_value("contact_links", encode_value(LinkInfo("Parent", "Primary"))) == (
        LinkInfo("Parent", "Primary")
    )
    assert encode_value(None) is None
    assert decode_value("enrollments", None) is None


def test_an_account_is_kept_as_a_json_object_and_read_back_strictly() -> None:
    """Held change sets are kept between syncs: an account stays a JSON object of its
    fields (as when it was a dataclass), not msgspec's array for a named tuple; a field
    left out takes its default, anything that is not an account is refused."""
    account = Account("u1", ("student",), "Ann", email="a@x")
    text = encode_value(account)
    assert text is not None and msgspec.json.decode(text) == {
        "source_id": "u1", "roles": ["student"], "first_name": "Ann", "middle_name": "",
        "last_name": "", "email": "a@x", "sis_id": "", "number": "", "grade": "", "phone": "",
    }  # fmt: skip
    assert decode_value("students", '{"source_id": "u2", "roles": []}') == Account("u2", ())
    for bad in (
        '["u1", ["student"]]',
        '{"roles": ["student"]}',
        '{"source_id": "u1", "roles": "student"}',
        '{"source_id": "u1", "roles": [], "nickname": "A"}',
        '{"source_id": "u1", "roles": [], "email": ["a@x"]}',
    ):
        with pytest.raises(msgspec.ValidationError):
            decode_value("students", bad)


def test_a_change_row_round_trips_with_unicode_and_key_pairs() -> None:
    change = Change(
        "contact_links",
        Op.UPDATED,
        ("ü1", 's"2'),
        before=LinkInfo("Grandparent", "Family"),
        after=LinkInfo("Grandparent", "Emergency"),
    )
    assert change_from_row(change_row("r1", 0, change)) == change


def test_the_last_change_of_a_key_decides_its_group() -> None:
    amy1, amy2 = Account("amy", ("student",), "A"), Account("amy", ("student",), "Amy")
    plan = plan_changes(
        ChangeSet(
            "s",
            [
                Change("students", Op.ADDED, ("amy",), after=amy1),
                Change("contacts", Op.UPDATED, ("amy",), before=amy1, after=amy2),
                Change("classes", Op.ADDED, ("c1",), after=ClassInfo("c1", "Math")),
                Change("classes", Op.REMOVED, ("c1",)),
                Change("enrollments", Op.REMOVED, ("c1", "amy")),
                Change("enrollments", Op.ADDED, ("c1", "amy")),
                Change("teachers", Op.REMOVED, ("tom",)),
            ],
        )
    )
    assert plan.accounts_linked == {"amy": amy2}
    assert plan.accounts_updated == {}
    assert plan.links_added == [("amy", "student")]
    assert plan.classes_put == {} and plan.classes_archived == ["c1"]
    assert plan.memberships_added == [("c1", "amy", "student")]
    assert plan.unlinked_accounts() == ["tom"]
