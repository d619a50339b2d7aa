"""The COPY text of ``roster_copy``, read back the way PostgreSQL reads COPY's text format.

The store tests check the same values end to end on a real server; these pin the text itself:
one line per row, one field per value, and every value read back exactly, whether its piece
of text took the fast path (nothing to escape) or was escaped value by value."""

from __future__ import annotations

import re

import pytest

from rostersync.storage import roster_copy
from rostersync.storage.roster_copy import copy_text

# What a backslash sequence means in COPY's text format (the ones the encoder may write).
_SEQUENCES = {"\\\\": "\\", "\\t": "\t", "\\n": "\n", "\\r": "\r"}


def read_copy(text: str) -> list[tuple[str, ...]]:
    """Rows from COPY text, as the server parses it: lines end at a line feed or a carriage
    return, fields at a tab, and a backslash starts an escape sequence."""
    assert text.endswith("\n")
    rows = []
    for line in re.split("\r\n|\r|\n", text[:-1]):
        assert line != "\\.", "an end-of-data marker"
        fields = []
        for field in line.split("\t"):
            assert field != "\\N", "NULL where a string was written"
            fields.append(re.sub(r"\\.", lambda m: _SEQUENCES[m.group()], field))
        rows.append(tuple(fields))
    return rows


AWKWARD = ["a\tb", "a\nb", "a\rb", "a\r\nb", "a\\b", "\\N", "\\.", "\\", "\\t", "", " ", "é ✓ 🎒"]


@pytest.mark.parametrize("value", AWKWARD)
@pytest.mark.parametrize("chunk_rows", [1, 3, 10_000])
def test_every_value_reads_back_exactly(
    value: str, chunk_rows: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(roster_copy, "_CHUNK_ROWS", chunk_rows)
    rows = [("plain", "x"), (value, "y"), ("z", value), ("plain", "")] * 2
    text = "".join(copy_text(rows))
    assert read_copy(text) == rows


def test_plain_rows_are_joined_as_they_are_and_cut_into_chunks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(roster_copy, "_CHUNK_ROWS", 2)
    rows = [("a", "b"), ("c", ""), ("é", "f")]
    assert list(copy_text(rows)) == ["a\tb\nc\t\n", "é\tf\n"]


def test_the_tail_ends_every_line_escaped_or_not(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(roster_copy, "_CHUNK_ROWS", 2)
    rows = [("a", "b"), ("c\nd", "e"), ("f", "g")]
    text = "".join(copy_text(rows, "\tf"))
    assert text == "a\tb\tf\nc\\nd\te\tf\nf\tg\tf\n"
    assert read_copy(text) == [(*row, "f") for row in rows]
