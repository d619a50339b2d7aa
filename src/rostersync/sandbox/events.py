"""The sandbox's Events API feed: every mutation appends what Clever would emit.

Events are kept encoded, like records, in ascending id order. Each carries its record type
and the schools it concerns, so ``/events?record_type=...&school=...`` filters without
decoding anything. ``previous_attributes`` sits inside ``data`` next to ``object``: the
nesting real captures show (see NOTES §7), not the spec's event-level placement.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from rostersync.sandbox.district import RecordTable, encode_record

EVENT_ACTIONS: tuple[str, ...] = ("created", "updated", "deleted")
EVENT_RECORD_TYPES: tuple[str, ...] = (
    "districts",
    "schools",
    "sections",
    "terms",
    "courses",
    "resources",
    "users",
)


def previous_attributes(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """Old values of the top-level fields that changed (``last_modified`` is not reported).

    A field the new record dropped is reported with its old value; a field it added is
    reported as null, its old value.
    """
    changed: dict[str, Any] = {}
    for key in (*old.keys(), *(key for key in new if key not in old)):
        if key == "last_modified":
            continue
        if old.get(key) != new.get(key):
            changed[key] = old.get(key)
    return changed


class EventLog:
    """Events in ascending id order, with their record type and schools for filtering."""

    def __init__(self) -> None:
        self.table = RecordTable("events")
        self._record_types: dict[str, str] = {}
        self._schools: dict[str, frozenset[str]] = {}

    def __len__(self) -> int:
        return len(self.table)

    def append(
        self,
        event_id: str,
        event_type: str,
        created: str,
        record: dict[str, Any],
        previous: dict[str, Any] | None,
        schools: frozenset[str],
    ) -> None:
        """Record one event; ``event_id`` must sort after every earlier event id."""
        data: dict[str, Any] = {"object": record}
        if previous is not None:
            data["previous_attributes"] = previous
        event = {"id": event_id, "type": event_type, "created": created, "data": data}
        self.table.append_sorted(event_id, encode_record(event))
        self._record_types[event_id] = event_type.split(".", 1)[0]
        self._schools[event_id] = schools

    def matching(self, record_types: Collection[str], school: str | None) -> list[str]:
        """Ids of the events of the given record types (all when empty) about ``school``."""
        if not record_types and school is None:
            return self.table.ids
        return [
            event_id
            for event_id in self.table.ids
            if (not record_types or self._record_types[event_id] in record_types)
            and (school is None or school in self._schools[event_id])
        ]
