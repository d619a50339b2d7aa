"""The on-disk district format: one JSON file for the district, one JSON-lines file per table.

A directory holds ``district.json`` (the district record), ``schools.jsonl``, ``users.jsonl``,
``sections.jsonl``, ``terms.jsonl``, ``courses.jsonl`` (one record per line, exactly what the
API serves under ``data``, ids ascending) and ``sandbox.json`` (``{"token": ..., ...}``).
The format is plain enough to write by hand; docs/sandbox.md describes it.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import msgspec

from rostersync.sandbox.district import (
    TABLE_KINDS,
    DistrictData,
    RecordTable,
    decode_record,
    derive_token,
    empty_tables,
    encode_record,
)

DISTRICT_FILE = "district.json"
SETTINGS_FILE = "sandbox.json"


class _IdOnly(msgspec.Struct):
    id: str


_id_decoder = msgspec.json.Decoder(_IdOnly)


def table_file(kind: str) -> str:
    """The file name of a table (``users`` → ``users.jsonl``)."""
    return f"{kind}.jsonl"


def settings_text(token: str, meta: dict[str, Any]) -> str:
    """The deterministic contents of ``sandbox.json``."""
    return json.dumps({"token": token, **meta}, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


class DistrictWriter:
    """Writes a district record by record, so a huge district never sits in memory."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self.counts: dict[str, int] = dict.fromkeys(TABLE_KINDS, 0)
        self._files: dict[str, IO[bytes]] = {}
        self._last: dict[str, str] = {}

    def __enter__(self) -> DistrictWriter:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        for kind in TABLE_KINDS:
            self._files[kind] = (self.out_dir / table_file(kind)).open("wb", buffering=1 << 20)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        for handle in self._files.values():
            handle.close()
        self._files.clear()

    def set_district(self, blob: bytes) -> None:
        (self.out_dir / DISTRICT_FILE).write_bytes(blob + b"\n")

    def add(self, kind: str, record_id: str, blob: bytes) -> None:
        last = self._last.get(kind)
        if last is not None and record_id <= last:
            raise ValueError(f"The {kind} record {record_id!r} was written out of id order.")
        self._last[kind] = record_id
        self._files[kind].write(blob + b"\n")
        self.counts[kind] += 1

    def finish(self, token: str, meta: dict[str, Any]) -> None:
        (self.out_dir / SETTINGS_FILE).write_text(settings_text(token, meta), encoding="utf-8")


def write_district(data: DistrictData, out_dir: Path) -> None:
    """Write ``data`` to ``out_dir`` in the sandbox's file format."""
    with DistrictWriter(out_dir) as writer:
        writer.set_district(data.district)
        for kind in TABLE_KINDS:
            for record_id, blob in data.tables[kind].items():
                writer.add(kind, record_id, blob)
        writer.finish(data.token, data.meta)


def load_district(dir: Path) -> DistrictData:
    """Load a district directory; missing table files count as empty tables.

    Records may be out of id order in hand-written files; they are sorted on load. Without a
    ``sandbox.json`` the token is derived from the district id.
    """
    district_path = dir / DISTRICT_FILE
    if not district_path.is_file():
        raise FileNotFoundError(
            f"{district_path} does not exist; a sandbox district directory needs a "
            "district.json file (see docs/sandbox.md)."
        )
    district = decode_record(district_path.read_bytes())
    if not isinstance(district.get("id"), str):
        raise ValueError(f"{district_path} must hold a JSON object with a string id.")
    tables = empty_tables()
    for kind in TABLE_KINDS:
        path = dir / table_file(kind)
        if path.is_file():
            tables[kind] = _read_table(kind, path)
    settings = read_settings(dir)
    token = str(settings.pop("token", "") or derive_token(str(district["id"])))
    return DistrictData(district=encode_record(district), tables=tables, token=token, meta=settings)


def read_settings(dir: Path) -> dict[str, Any]:
    """The contents of a district directory's ``sandbox.json`` (empty when absent)."""
    path = dir / SETTINGS_FILE
    if not path.is_file():
        return {}
    settings = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(settings, dict):
        raise ValueError(f"{path} must hold a JSON object.")
    return settings


def _read_table(kind: str, path: Path) -> RecordTable:
    pairs: list[tuple[str, bytes]] = []
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            blob = line.strip()
            if not blob:
                continue
            try:
                record_id = _id_decoder.decode(blob).id
            except msgspec.DecodeError as error:
                raise ValueError(
                    f"{path}, line {number}, is not a JSON record with a string id: {error}."
                ) from error
            pairs.append((record_id, blob))
    if any(pairs[i][0] >= pairs[i + 1][0] for i in range(len(pairs) - 1)):
        pairs.sort(key=lambda pair: pair[0])
    table = RecordTable(kind)
    for record_id, blob in pairs:
        if table.ids and table.ids[-1] == record_id:
            raise ValueError(f"{path} holds the id {record_id!r} more than once.")
        table.append_sorted(record_id, blob)
    return table
