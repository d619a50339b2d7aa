"""The benchmark's workload: a generated district cached on disk, and its 1 % change.

The district is generated once per (seed, students) with ``generate_to_dir`` and reused from
``.bench/``. The 1 % change is applied to the loaded tables in the server process (never
written back): 0.5 % of users and sections updated, 0.25 % removed and 0.25 % added, spread
evenly by id so that no school comes near a hold threshold.
"""

from __future__ import annotations

from pathlib import Path

from rostersync.sandbox.district import (
    DistrictData,
    IdSequence,
    RecordTable,
    decode_record,
    encode_record,
)
from rostersync.sandbox.generator import generate_to_dir

SEED = 1
_DONE = ".complete"

# Every n-th record (by position in id order) is updated / removed / copied as a new record.
UPDATE_EVERY = 200
REMOVE_EVERY = 400
ADD_EVERY = 400


def district_dir(root: Path, students: int) -> Path:
    """Generate the district under ``root`` unless a complete copy is already there."""
    out = root / f"district-s{SEED}-{students}"
    if (out / _DONE).is_file():
        return out
    out.mkdir(parents=True, exist_ok=True)
    generate_to_dir(SEED, students, out)
    (out / _DONE).write_text("ok\n")
    return out


def apply_one_percent(data: DistrictData) -> dict[str, int]:
    """Change about 1 % of users and sections in place; return how many of each change."""
    counts = {"updated": 0, "removed": 0, "added": 0}
    for kind in ("users", "sections"):
        table = data.tables[kind]
        ids = IdSequence.after(table.ids)
        kept = RecordTable(kind)
        added: list[tuple[str, bytes]] = []
        for at, (record_id, blob) in enumerate(table.items()):
            if at % REMOVE_EVERY == REMOVE_EVERY - 1:
                counts["removed"] += 1
                continue
            if at % UPDATE_EVERY == 7:
                blob = _renamed(kind, blob)
                counts["updated"] += 1
            if at % ADD_EVERY == 13 and _copyable(kind, blob):
                added.append(_copy(kind, blob, ids.next_id()))
            kept.append_sorted(record_id, blob)
        for record_id, blob in added:
            kept.append_sorted(record_id, blob)
            counts["added"] += 1
        data.tables[kind] = kept
    return counts


def _renamed(kind: str, blob: bytes) -> bytes:
    record = decode_record(blob)
    if kind == "users":
        name = dict(record.get("name") or {})
        name["last"] = f"{name.get('last', '')}-Bench"
        record["name"] = name
    else:
        record["name"] = f"{record.get('name', '')} (bench)"
    return encode_record(record)


def _copyable(kind: str, blob: bytes) -> bool:
    """Copy only plain students (a copied contact or teacher would add cross links)."""
    if kind == "sections":
        return True
    roles = decode_record(blob).get("roles") or {}
    return set(roles) == {"student"}


def _copy(kind: str, blob: bytes, new_id: str) -> tuple[str, bytes]:
    record = decode_record(blob)
    record["id"] = new_id
    if kind == "users":
        name = dict(record.get("name") or {})
        name["first"] = f"{name.get('first', '')} Bench"
        record["name"] = name
    else:
        record["name"] = f"{record.get('name', '')} (new)"
        record["students"] = []
    return new_id, encode_record(record)
