"""Pages of raw items (``stream.item_pages``): a page's key says whether it can be passed
over, and passing over a page keeps the list's order checks as if it had been read."""

from __future__ import annotations

import msgspec
import pytest
import xxhash

from rostersync.domain.records import PageKey, RawItem, RowProblem
from rostersync.sources.clever.mapping import convert_user_item
from rostersync.sources.clever.source import _item_id
from rostersync.sources.clever.stream import item_pages


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
