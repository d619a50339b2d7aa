"""The view of a ``hold_entered`` payload that its templates read.

The sync service writes the payload (plain JSON, documented in docs/email.md) into the
outbox; this module checks it and turns it into a small, typed view, so the templates stay
free of logic: the hold kind in words, the counts in report order, the first records and
how many more there are, and the school reference the CLI commands take.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from rostersync.domain.changes import ENTITIES
from rostersync.domain.policy import HoldKind
from rostersync.notify.errors import RenderError

KIND_WORDS: dict[HoldKind, str] = {
    HoldKind.DATA_REMOVALS: "data removals",
    HoldKind.DATA_CONFIGURATION: "data configuration",
    HoldKind.DISCONNECTED: "disconnected from Clever",
}
# How many records an email lists before it says "and N more".
RECORDS_SHOWN = 20


@dataclass(frozen=True, slots=True)
class CountRow:
    """One entity's changes in the run that was held."""

    label: str
    added: int
    updated: int
    removed: int


@dataclass(frozen=True, slots=True)
class FindingView:
    rule: str
    message: str
    subject: str


@dataclass(frozen=True, slots=True)
class HoldEnteredView:
    """Everything the ``hold_entered`` templates show, already checked and ordered."""

    school_name: str
    school_ref: str
    district_name: str
    kind: str
    kind_words: str
    previous_kind_words: str | None
    since: str
    run_id: str
    counts: tuple[CountRow, ...]
    removals: tuple[CountRow, ...]
    findings: tuple[FindingView, ...]
    records: tuple[str, ...]
    more_records: int
    error: str
    dashboard_url: str | None


def hold_entered_context(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The template context of a ``hold_entered`` message: ``{"hold": HoldEnteredView}``."""
    school = _mapping(payload, "school")
    district = _mapping(payload, "district", required=False)
    kind = _hold_kind(payload.get("hold_kind"), "hold_kind")
    previous = payload.get("previous_kind")
    previous_kind = None if previous is None else _hold_kind(previous, "previous_kind")
    counts = _counts(_mapping(payload, "counts", required=False))
    records = tuple(str(r) for r in _list(payload, "records"))
    shown = records[:RECORDS_SHOWN]
    total = max(_int(payload.get("records_total", len(records)), "records_total"), len(records))
    view = HoldEnteredView(
        school_name=_text(school, "name", "school.name"),
        school_ref=shlex.quote(_school_ref(school)),
        district_name=str(district.get("name") or ""),
        kind=kind.value,
        kind_words=KIND_WORDS[kind],
        previous_kind_words=(
            KIND_WORDS[previous_kind] if previous_kind not in (None, kind) else None
        ),
        since=_format_time(payload.get("since")),
        run_id=str(payload.get("run_id") or ""),
        counts=counts,
        removals=tuple(row for row in counts if row.removed),
        findings=tuple(_finding(f) for f in _list(payload, "findings")),
        records=shown,
        more_records=total - len(shown),
        error=str(payload.get("error") or ""),
        dashboard_url=_web_url(payload.get("dashboard_url")),
    )
    return {"hold": view}


def _mapping(payload: Mapping[str, Any], key: str, required: bool = True) -> Mapping[str, Any]:
    value = payload.get(key)
    if value is None and not required:
        return {}
    if not isinstance(value, Mapping):
        raise RenderError(
            f"The hold_entered payload needs an object under {key!r}; it has {value!r}."
        )
    return value


def _list(payload: Mapping[str, Any], key: str) -> list[Any]:
    value = payload.get(key)
    if value is None:
        return []
    if not isinstance(value, list | tuple):
        raise RenderError(f"The hold_entered payload needs a list under {key!r}; it has {value!r}.")
    return list(value)


def _text(mapping: Mapping[str, Any], key: str, where: str) -> str:
    value = mapping.get(key)
    if not isinstance(value, str) or not value.strip():
        raise RenderError(f"The hold_entered payload needs a non-empty text at {where}.")
    return value


def _int(value: object, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise RenderError(
            f"The hold_entered payload needs a whole number of at least 0 at {where}; "
            f"it has {value!r}."
        )
    return value


def _hold_kind(value: object, where: str) -> HoldKind:
    try:
        return HoldKind(str(value))
    except ValueError:
        known = ", ".join(k.value for k in HoldKind)
        raise RenderError(
            f"The hold_entered payload has {value!r} at {where}; expected one of {known}."
        ) from None


def _school_ref(school: Mapping[str, Any]) -> str:
    """What ``rostersync hold ...`` takes: the Clever id, or the internal id without one."""
    ref = school.get("source_id") or school.get("id")
    if not isinstance(ref, str) or not ref:
        raise RenderError("The hold_entered payload needs school.source_id or school.id.")
    return ref


def _counts(counts: Mapping[str, Any]) -> tuple[CountRow, ...]:
    """Rows for the entities with any change, in report order, unknown entities last."""
    order = [e for e in ENTITIES if e in counts] + sorted(set(counts) - set(ENTITIES))
    rows: list[CountRow] = []
    for entity in order:
        ops = counts[entity]
        if not isinstance(ops, Mapping):
            raise RenderError(f"The hold_entered payload needs an object at counts.{entity}.")
        added, updated, removed = (
            _int(ops.get(op, 0), f"counts.{entity}.{op}") for op in ("added", "updated", "removed")
        )
        if added or updated or removed:
            rows.append(CountRow(entity.replace("_", " "), added, updated, removed))
    return tuple(rows)


def _finding(value: object) -> FindingView:
    if not isinstance(value, Mapping):
        raise RenderError(f"A finding in the hold_entered payload is not an object: {value!r}.")
    return FindingView(
        rule=str(value.get("rule") or ""),
        message=str(value.get("message") or ""),
        subject=str(value.get("subject") or ""),
    )


def _format_time(value: object) -> str:
    """An ISO time as people read it, in UTC; anything else as it was given."""
    if not isinstance(value, str):
        return "" if value is None else str(value)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _web_url(value: object) -> str | None:
    """Only http(s) links go into an email; anything else is left out."""
    if isinstance(value, str) and value.lower().startswith(("https://", "http://")):
        return value
    return None
