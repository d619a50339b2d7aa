"""The API's request and response shapes, as pydantic models (pydantic only at the edge).

The responses are the JSON views the CLI prints with ``--json`` (``service.views``), so the
two stay the same; declaring them here puts them in the OpenAPI document and makes FastAPI
check every answer against them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Entity = Literal[
    "students",
    "teachers",
    "staff",
    "contacts",
    "classes",
    "enrollments",
    "class_teachers",
    "contact_links",
]
Operation = Literal["added", "updated", "removed"]
HoldKindName = Literal["data_removals", "data_configuration", "disconnected"]
ActionName = Literal["check_new_data", "confirm_removals", "reconnect"]
BIG = 1_000_000_000


class Counts(BaseModel):
    students: int
    teachers: int
    staff: int
    contacts: int
    classes: int
    enrollments: int
    class_teachers: int
    contact_links: int


class FindingOut(BaseModel):
    rule: str
    message: str
    subject: str


class HoldOut(BaseModel):
    kind: HoldKindName
    since: datetime | None
    findings: list[FindingOut]


class SchoolOut(BaseModel):
    id: str
    source_id: str = Field(description="The Clever id of the school.")
    district_id: str
    name: str
    state: Literal["never_synced", "healthy", "failing", "on_hold"]
    hold: HoldOut | None
    last_success_at: datetime | None
    last_error: str | None
    plan: Literal["active", "inactive"]
    counts: Counts


class SchoolsOut(BaseModel):
    schools: list[SchoolOut]


class OpCounts(BaseModel):
    added: int
    updated: int
    removed: int


class RunOut(BaseModel):
    id: str
    school_id: str
    trigger: str
    started_at: datetime
    finished_at: datetime
    outcome: Literal["applied", "unchanged", "held", "failed"]
    hold_kind: HoldKindName | None
    changes: dict[str, OpCounts]
    errors: int
    alerts: int
    error: str | None
    rows_written: int
    actor: str | None


class RunsOut(BaseModel):
    runs: list[RunOut]


class ChangeOut(BaseModel):
    entity: Entity
    operation: Operation
    key: list[str]
    name: str


class ProblemOut(BaseModel):
    severity: Literal["error", "alert"]
    entity: str
    source_id: str
    code: str
    message: str


class HistoryOut(BaseModel):
    action: str
    actor: str
    at: datetime | None
    outcome: str
    detail: str


class ReportOut(BaseModel):
    school: SchoolOut
    actions: list[ActionName]
    held_run: RunOut | None
    held_changes: list[ChangeOut]
    held_changes_total: int
    runs: list[RunOut]
    errors: list[ProblemOut]
    alerts: list[ProblemOut]
    history: list[HistoryOut]


class ChangesPageOut(BaseModel):
    run_id: str | None = Field(description="The held run whose change set this is, if any.")
    total: int
    offset: int
    limit: int
    items: list[ChangeOut]


class ActionResultOut(BaseModel):
    action: ActionName
    school_id: str
    outcome: Literal["applied", "held", "failed"]
    message: str
    run: RunOut | None


class CheckNewDataIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    confirm: bool = Field(description='The "Yes, continue" answer: must be true.')


class ConfirmRemovalsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    run_id: str | None = Field(
        default=None,
        max_length=100,
        description="The held run you reviewed; refused if it is no longer the latest.",
    )


class PolicyOut(BaseModel):
    removal_pct: float
    removal_min: int
    removal_total: int
    max_contacts: int
    blocked_contact_types: list[str]
    failures_before_disconnect: int


class NotifyOut(BaseModel):
    admin_id: str
    email: str
    schools: list[str]
    notify: bool


class SettingsChangeOut(BaseModel):
    actor: str
    at: datetime
    field: str
    old_value: str
    new_value: str


class SettingsOut(BaseModel):
    district_id: str
    name: str
    plan: Literal["active", "inactive"]
    timezone: str
    interval_s: int
    policy: PolicyOut
    notify: list[NotifyOut]
    changes: list[SettingsChangeOut]


class PolicyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    removal_pct: float | None = Field(default=None, ge=0, le=100, allow_inf_nan=False)
    removal_min: int | None = Field(default=None, ge=0, le=BIG)
    removal_total: int | None = Field(default=None, ge=0, le=BIG)
    max_contacts: int | None = Field(default=None, ge=0, le=BIG)
    blocked_contact_types: list[str] | None = Field(default=None, max_length=20)
    failures_before_disconnect: int | None = Field(default=None, ge=1, le=BIG)


class NotifyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    admin_id: str = Field(max_length=100)
    notify: bool


class SettingsIn(BaseModel):
    """Fields left out keep their values."""

    model_config = ConfigDict(extra="forbid")
    timezone: str | None = Field(default=None, max_length=64)
    interval_s: int | None = Field(default=None, ge=60, le=31 * 86_400)
    policy: PolicyIn | None = None
    notify: list[NotifyIn] | None = Field(default=None, max_length=1000)


class Problem(BaseModel):
    """An error, as RFC 9457 problem details."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[dict[str, str]] | None = None
