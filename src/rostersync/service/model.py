"""Values the use cases and the store exchange: districts, schools, runs, actions, email.

They are plain frozen dataclasses, so the store can be SQLite, PostgreSQL or a fake.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from rostersync.domain.policy import Finding, HoldKind, Policy
from rostersync.domain.records import RowProblem
from rostersync.domain.state import Outcome, SchoolStatus


class Plan(StrEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"


@dataclass(frozen=True, slots=True)
class DistrictConfig:
    """A district rostersync syncs, with its source connection and hold policy."""

    id: str
    name: str
    clever_token: str
    clever_base_url: str
    policy: Policy = field(default_factory=Policy)
    interval_s: int = 86_400
    plan: Plan = Plan.ACTIVE
    source_district_id: str = ""
    timezone: str = "UTC"
    created_at: datetime | None = None
    last_sync_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class SchoolRow:
    """A school as stored: identity, sync status and the version of its applied roster."""

    id: str
    district_id: str
    source_id: str
    name: str
    status: SchoolStatus
    roster_version: int = 0


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One evaluation of one school: what was found and what happened."""

    id: str
    district_id: str
    school_id: str
    trigger: str
    started_at: datetime
    finished_at: datetime
    outcome: Outcome
    hold_kind: HoldKind | None = None
    changes: dict[str, dict[str, int]] = field(default_factory=dict)
    findings: tuple[Finding, ...] = ()
    problems: tuple[RowProblem, ...] = ()
    error: str = ""
    counts: dict[str, int] = field(default_factory=dict)
    roster_version: int = 0
    requests: int = 0
    rows_written: int = 0
    actor: str = ""


@dataclass(frozen=True, slots=True)
class AdminAction:
    """An administrator's action on a school's hold, kept for the record."""

    school_id: str
    actor: str
    action: str
    at: datetime
    outcome: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Admin:
    id: str
    email: str
    district_id: str
    school_ids: tuple[str, ...] = ()
    # Whether the admin receives hold emails (a district setting; on by default).
    notify: bool = True

    @property
    def is_district_admin(self) -> bool:
        return not self.school_ids


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """An email waiting to go out. Written in the same transaction as the hold."""

    id: str
    kind: str
    recipients: tuple[str, ...]
    payload: dict[str, Any]
    dedupe_key: str
    created_at: datetime
    attempts: int = 0
    sent_at: datetime | None = None
    last_error: str = ""


@dataclass(frozen=True, slots=True)
class SkipCheck:
    """What deciding to skip a school needs (``service.unchanged``), read in bulk: the
    school, the digest and stamp its roster was last verified at (``input_check``), and its
    last run's id, outcome and counts (``None`` and empty when it has no run).

    ``problems_from`` names the run whose stored problems an ``unchanged`` run repeating
    them may copy as they are (the last run), or is ``None`` when the store must encode
    them anew (runs stored in an older layout)."""

    school: SchoolRow
    input_check: tuple[str, int] | None
    last_run_id: str | None
    last_outcome: Outcome | None
    last_counts: dict[str, int]
    problems_from: str | None
