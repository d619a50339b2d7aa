"""A district held as pre-rendered JSON bytes, one table per record type.

The sandbox must serve a 1M-student district (3.3M users) cheaply, so records are never kept
as Python dicts: each record is its encoded JSON, kept in a list sorted by id beside a
parallel list of ids that ``bisect`` searches. A list page is then a join of bytes, and a
mutation re-encodes only the record it touches.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import msgspec

# The record tables a district has, in the order files and summaries list them.
TABLE_KINDS: tuple[str, ...] = ("schools", "users", "sections", "terms", "courses")

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder()


def encode_record(record: dict[str, Any]) -> bytes:
    """Encode one record as compact JSON (key order as given, so output is deterministic)."""
    return _encoder.encode(record)


def decode_record(blob: bytes) -> dict[str, Any]:
    """Decode one record's JSON into a dict (only for the records a mutation touches)."""
    value = _decoder.decode(blob)
    if not isinstance(value, dict):
        raise ValueError("A sandbox record must be a JSON object.")
    return value


def derive_token(seed_text: str) -> str:
    """A stable 40-hex district token derived from a seed (Clever tokens are 40 hex)."""
    return hashlib.sha1(
        f"rostersync-sandbox:{seed_text}".encode(), usedforsecurity=False
    ).hexdigest()


class RecordTable:
    """Records of one type as encoded JSON, sorted by id, searchable by bisect."""

    __slots__ = ("blobs", "ids", "kind")

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.ids: list[str] = []
        self.blobs: list[bytes] = []

    def __len__(self) -> int:
        return len(self.ids)

    def __contains__(self, record_id: object) -> bool:
        return isinstance(record_id, str) and self.position(record_id) is not None

    def position(self, record_id: str) -> int | None:
        """Index of ``record_id`` in the table, or None when absent."""
        at = bisect_left(self.ids, record_id)
        if at < len(self.ids) and self.ids[at] == record_id:
            return at
        return None

    def get(self, record_id: str) -> bytes | None:
        """The encoded record with this id, or None."""
        at = self.position(record_id)
        return None if at is None else self.blobs[at]

    def append_sorted(self, record_id: str, blob: bytes) -> None:
        """Append a record whose id is greater than every id already held (bulk loading)."""
        if self.ids and record_id <= self.ids[-1]:
            raise ValueError(
                f"The {self.kind} record {record_id!r} is out of id order; "
                "records must be appended in ascending id order."
            )
        self.ids.append(record_id)
        self.blobs.append(blob)

    def put(self, record_id: str, blob: bytes) -> bytes | None:
        """Insert or replace a record; return the previous bytes, if any."""
        at = bisect_left(self.ids, record_id)
        if at < len(self.ids) and self.ids[at] == record_id:
            old = self.blobs[at]
            self.blobs[at] = blob
            return old
        self.ids.insert(at, record_id)
        self.blobs.insert(at, blob)
        return None

    def delete(self, record_id: str) -> bytes | None:
        """Remove a record; return its bytes, or None when it was absent."""
        at = self.position(record_id)
        if at is None:
            return None
        del self.ids[at]
        return self.blobs.pop(at)

    def items(self) -> Iterator[tuple[str, bytes]]:
        """Every (id, bytes) pair in ascending id order."""
        return zip(self.ids, self.blobs, strict=True)


@dataclass
class DistrictData:
    """One district: its record and its tables, plus the token that unlocks it.

    ``meta`` carries what ``sandbox.json`` holds besides the token (seed, sizes, client
    credentials), so a written district can be reloaded with the same settings.
    """

    district: bytes
    tables: dict[str, RecordTable]
    token: str
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def district_id(self) -> str:
        value = decode_record(self.district).get("id")
        if not isinstance(value, str):
            raise ValueError("The district record has no string id.")
        return value

    def copy(self) -> DistrictData:
        """An independent copy (a sandbox mutates its tables; the bytes are shared)."""
        tables: dict[str, RecordTable] = {}
        for kind, table in self.tables.items():
            twin = RecordTable(kind)
            twin.ids, twin.blobs = list(table.ids), list(table.blobs)
            tables[kind] = twin
        return DistrictData(self.district, tables, self.token, dict(self.meta))

    def counts(self) -> dict[str, int]:
        """How many records each table holds."""
        return {kind: len(self.tables[kind]) for kind in TABLE_KINDS}


def empty_tables() -> dict[str, RecordTable]:
    """One empty table per record type."""
    return {kind: RecordTable(kind) for kind in TABLE_KINDS}


class IdSequence:
    """Hands out 24-hex ids that sort after every id seen so far (ascending = creation order)."""

    def __init__(self, start: int) -> None:
        self._next = start

    @classmethod
    def after(cls, ids: list[str]) -> IdSequence:
        """A sequence starting just above the largest 24-hex id among ``ids``."""
        highest = 0
        for value in ids:
            if len(value) == 24:
                try:
                    highest = max(highest, int(value, 16))
                except ValueError:
                    continue
        return cls(highest + 1)

    def next_id(self) -> str:
        value = f"{self._next:024x}"
        self._next += 1
        return value
