"""A school's sync state machine: what a run's outcome does to the school's state.

States: never_synced, healthy, failing, on_hold (with a hold kind). The transitions are
pure; the service layer persists the result in the same transaction as the roster.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from rostersync.domain.policy import HoldKind


class SyncState(StrEnum):
    NEVER_SYNCED = "never_synced"
    HEALTHY = "healthy"
    FAILING = "failing"
    ON_HOLD = "on_hold"


class Outcome(StrEnum):
    APPLIED = "applied"
    UNCHANGED = "unchanged"
    HELD = "held"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class SchoolStatus:
    state: SyncState = SyncState.NEVER_SYNCED
    hold_kind: HoldKind | None = None
    hold_since: datetime | None = None
    consecutive_failures: int = 0
    last_success_at: datetime | None = None
    last_error: str = ""


@dataclass(frozen=True, slots=True)
class Transition:
    """The new status, and whether the school entered a hold or changed its kind."""

    status: SchoolStatus
    hold_entered: bool


def on_success(status: SchoolStatus, now: datetime) -> Transition:
    """The run applied (or found nothing to change): the school is healthy."""
    new = SchoolStatus(state=SyncState.HEALTHY, last_success_at=now)
    return Transition(new, hold_entered=False)


def on_hold(status: SchoolStatus, kind: HoldKind, now: datetime, error: str = "") -> Transition:
    """The run was held. ``hold_entered`` is true only on entry or a change of kind."""
    if status.state is SyncState.ON_HOLD and status.hold_kind is kind:
        return Transition(replace(status, last_error=error or status.last_error), False)
    new = replace(
        status,
        state=SyncState.ON_HOLD,
        hold_kind=kind,
        hold_since=now,
        last_error=error,
    )
    return Transition(new, hold_entered=True)


def on_transient_failure(
    status: SchoolStatus, now: datetime, error: str, failures_before_disconnect: int
) -> Transition:
    """A retryable failure: failing, then a disconnected hold when it persists."""
    failures = status.consecutive_failures + 1
    if status.state is SyncState.ON_HOLD:
        return Transition(replace(status, consecutive_failures=failures, last_error=error), False)
    if failures >= failures_before_disconnect:
        held = on_hold(replace(status, consecutive_failures=failures), HoldKind.DISCONNECTED, now)
        return Transition(replace(held.status, last_error=error), held.hold_entered)
    new = replace(status, state=SyncState.FAILING, consecutive_failures=failures, last_error=error)
    return Transition(new, hold_entered=False)
