"""Pages of raw items (``stream.item_pages``): a page's key says whether it can be passed
over, and passing over a page keeps the list's order checks as if it had been read."""

from __future__ import annotations

import msgspec
import pytest
import xxhash

from rostersync.domain.records import PageKey, RawItem, RowProblem, SectionRecord
from rostersync.sources.clever import mapping
from rostersync.sources.clever.mapping import (
    convert_section,
    convert_user,
    convert_user_item,
    convert_user_mapped,
)
from rostersync.sources.clever.source import _item_id
from rostersync.sources.clever.stream import convert_one, item_pages, records


def _raw(user_id: str, first: str = "Ann") -> msgspec.Raw:
    item = {"data": {"id": user_id, "name": {"first": first}}, "uri": f"/v3.0/users/{user_id}"}
    return msgspec.Raw(msgspec.json.encode(item))


def _pages(*pages: list[msgspec.Raw]):
    return item_pages(iter(pages), "user", convert_user_item, _item_id)


def test_a_page_is_keyed_by_its_first_and_last_ids_size_and_items() -> None:
    items = [_raw("a1"), _raw("a2"), _raw("a3")]
    (page,) = _pages(items)
    digest = xxhash.xxh3_128_digest(b"".join(bytes(raw) for raw in items))
    assert page.key == PageKey("a1", "a3", 3, digest)
    (changed,) = _pages([_raw("a1"), _raw("a2", "Bo"), _raw("a3")])
    assert changed.key is not None and changed.key.digest != digest


def test_a_page_not_above_the_previous_one_or_with_an_unreadable_end_has_no_key() -> None:
    pages = _pages([_raw("b1"), _raw("b5")], [_raw("b3"), _raw("b9")])
    next(pages).skip()
    assert next(pages).key is None
    (broken,) = _pages([_raw("c1"), msgspec.Raw(b'{"data": {"name": {}}}')])
    assert broken.key is None
    (empty,) = _pages([])
    assert empty.key is None


def test_a_skipped_page_still_counts_for_duplicates_and_order() -> None:
    pages = _pages([_raw("d1"), _raw("d4")], [_raw("d4"), _raw("d2"), _raw("d6")])
    next(pages).skip()
    second = next(pages)
    assert second.key is None  # it starts at the skipped page's last id
    found = list(second.items())
    codes = [item.code for item in found if isinstance(item, RowProblem)]
    ids = [item.source_id for item in found if isinstance(item, RawItem)]
    assert codes == ["duplicate_id", "out_of_order"]
    assert ids == ["d2", "d6"]


def test_a_page_without_a_key_cannot_be_skipped() -> None:
    (page,) = _pages([_raw("e2"), _raw("e1")])
    assert page.key is None
    with pytest.raises(ValueError, match="cannot be skipped"):
        page.skip()


def _codes(found: list[RawItem | RowProblem]) -> list[tuple[str, str]]:
    return [(item.code, item.source_id) for item in found if isinstance(item, RowProblem)]


def test_chunks_cut_a_page_by_its_items_alone() -> None:
    items = [_raw(f"f{n:02d}") for n in range(40)]
    chunks = list(next(_pages(items)).chunks())
    assert len(chunks) > 1
    assert sum(chunk.key.size for chunk in chunks) == len(items)
    # a changed item moves only the cuts of its own chunk: the others come back the same
    changed = [*items[:20], _raw("f20", "Changed"), *items[21:]]
    again = {chunk.key for chunk in next(_pages(changed)).chunks()}
    kept = {chunk.key for chunk in chunks} & again
    assert len(kept) >= len(chunks) - 2


def test_a_repeat_of_an_id_in_a_chunk_passed_over_is_still_a_duplicate() -> None:
    items = [_raw(f"g{n:02d}") for n in range(40)]
    page_items = [*items, _raw("g00")]  # g00 again at the end
    whole = list(next(_pages(page_items)).items())

    page = next(_pages(page_items))
    first, *rest = page.chunks()
    ids = [_item_id(raw) for raw in items[: first.key.size]]
    assert first.follows(ids[0])
    first.skip(ids[0], ids[-1])
    found = [item for chunk in rest for item in chunk.items()]

    assert _codes(found) == _codes(whole) == [("duplicate_id", "g00")]
    assert not rest[0].follows(ids[-1])  # the ids passed over count as read


def _section(section_id: str, school: str = "s1", grade: str = "") -> msgspec.Raw:
    data = {"id": section_id, "school": school, "name": f"Section {section_id}", "grade": grade}
    return msgspec.Raw(msgspec.json.encode({"data": data, "uri": f"/v3.0/sections/{section_id}"}))


def test_pages_of_sections_read_chunk_by_chunk_give_the_sections_list() -> None:
    pages = [
        [_section("a1"), _section("a2", grade="Grade two"), _section("a2"), _section("a3")],
        [_section("a0"), _section("a5", school=""), _section("a6"), _section("a7")],
    ]
    listed = list(records(iter(pages), "section", convert_section))
    read = [
        item
        for page in item_pages(iter(pages), "section", convert_section, _item_id)
        for chunk in page.chunks()
        for item in chunk.items()
    ]

    assert read == listed
    codes = {item.code for item in read if isinstance(item, RowProblem)}
    assert {"duplicate_id", "out_of_order", "missing_school"} < codes
    assert [item.source_id for item in read if isinstance(item, SectionRecord)] == [
        "a1",
        "a2",
        "a3",
        "a0",
        "a6",
        "a7",
    ]


def _item(data: object) -> msgspec.Raw:
    return msgspec.Raw(msgspec.json.encode({"data": data, "uri": "/v3.0/users/x"}))


# Every kind of item a list of users can hold: plain users, users with alerts (a long
# name, an unknown grade, a teacher without email, a NUL), no id, fields of the wrong
# type, JSON that cannot be read, a repeated id and an id out of order.
_USERS = [
    _raw("h01"),
    _item({"id": "h02", "name": {"first": "A" * 300}, "roles": {"student": {"grade": "99"}}}),
    _item({"id": "h03", "roles": {"teacher": {"school": "s1"}}}),
    _item({"id": "h04", "name": {"first": "Nul\x00led"}}),
    _item({"name": {"first": "Nobody"}, "roles": {"student": {"school": "s1"}}}),
    _item({"id": "h05", "name": 5}),
    _item({"id": "h06", "roles": {"contact": {"student_relationships": [{"type": "x"}]}}}),
    msgspec.Raw(b'{"data": {"id": "h07", '),
    _raw("h06"),
    _raw("h00"),
    _raw("h08"),
]


def _unmapped_then_mapped(pages) -> list[object]:
    """Each item as a fetch stages it: a problem of the list, or (id, raw, record, own
    problems) mapped after reading (``map_user``), unless the page mapped it already."""
    out: list[object] = []
    for item in next(pages).items():
        if isinstance(item, RowProblem):
            out.append(item)
        elif item.mapped is not None:
            out.append((item.source_id, item.raw, item.mapped.record, item.mapped.problems))
        else:
            problems: list[RowProblem] = []
            record = convert_one(item.raw, "user", convert_user, problems)
            out.append((item.source_id, item.raw, record, tuple(problems)))
    return out


def test_users_mapped_as_read_are_staged_as_when_mapped_after() -> None:
    items = _USERS
    unmapped = item_pages(iter([items]), "user", convert_user_item, _item_id)
    mapped = item_pages(iter([items]), "user", convert_user_mapped, _item_id)
    expected = _unmapped_then_mapped(unmapped)
    assert _unmapped_then_mapped(mapped) == expected
    # every item that maps was mapped as read; the one of the wrong shape was left to
    # its mapping, which reports it (as ``undecodable``)
    found = list(next(item_pages(iter([items]), "user", convert_user_mapped, _item_id)).items())
    raws = [item for item in found if isinstance(item, RawItem)]
    assert [item.source_id for item in raws if item.mapped is None] == ["h05"]
    assert len(raws) == 8
    assert ("undecodable", "h05") in [
        (p.code, p.source_id) for entry in expected if isinstance(entry, tuple) for p in entry[3]
    ]


def test_chunks_without_an_escaped_nul_skip_each_items_own_search() -> None:
    items = [_raw(f"n{n:03d}") for n in range(200)]
    items[57] = _item({"id": "n057", "name": {"first": "Nul\x00led", "last": "A" * 300}})
    items[140] = _item({"id": "n140", "name": {"last": "Back\\u0000slash"}})  # no NUL
    calls = {"clean": 0, "searched": 0}

    def clean(raw: bytes, out: list[RowProblem]):
        calls["clean"] += 1
        return mapping.convert_user_mapped_clean(raw, out)

    def searched(raw: bytes, out: list[RowProblem]):
        calls["searched"] += 1
        return convert_user_mapped(raw, out)

    (page,) = item_pages(iter([items]), "user", searched, _item_id, clean)
    by_chunk = [item for chunk in page.chunks() for item in chunk.items()]
    (whole,) = item_pages(iter([items]), "user", convert_user_mapped, _item_id)
    assert by_chunk == list(whole.items())  # the same records and problems
    # only the chunks holding an escaped NUL (one of them only looks like one) searched
    # each item
    assert 2 <= calls["searched"] <= 2 * 64 and calls["clean"] == 200 - calls["searched"]
    nul = [i for i in by_chunk if isinstance(i, RawItem) and i.source_id == "n057"]
    assert [p.code for p in nul[0].mapped.problems] == ["long_name", "no_role", "nul_character"]
