"""Resolve a hold: "Check for new Clever data", "Confirm removals" and "I fixed it".

Each action is allowed only in the hold kinds PRODUCT.md lists; anything else is refused
with a sentence that says what the admin can do instead. Every action, allowed or refused,
is recorded with who, when and the outcome.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from rostersync.domain.policy import HoldKind
from rostersync.domain.state import Outcome, SyncState, on_success
from rostersync.errors import ActionRefusedError, NotFoundError
from rostersync.service.context import Services
from rostersync.service.evaluate import fresh_school
from rostersync.service.ids import new_id
from rostersync.service.model import AdminAction, RunRecord, SchoolRow
from rostersync.service.outbox import deliver_pending
from rostersync.service.sync import sync_district

CHECK_NEW_DATA = "check_new_data"
CONFIRM_REMOVALS = "confirm_removals"
RECONNECT = "reconnect"

ALLOWED: dict[str, tuple[HoldKind, ...]] = {
    CHECK_NEW_DATA: (HoldKind.DATA_REMOVALS, HoldKind.DATA_CONFIGURATION),
    CONFIRM_REMOVALS: (HoldKind.DATA_REMOVALS,),
    RECONNECT: (HoldKind.DISCONNECTED,),
}
WORDS = {
    CHECK_NEW_DATA: "Check for new Clever data",
    CONFIRM_REMOVALS: "Confirm removals",
    RECONNECT: "I fixed it",
}


@dataclass(frozen=True, slots=True)
class ActionResult:
    action: str
    school_id: str
    outcome: str
    message: str
    run: RunRecord | None = None


def find_school(services: Services, ref: str) -> SchoolRow:
    with services.store.unit_of_work() as uow:
        school = uow.get_school(ref)
    if school is None:
        raise NotFoundError(
            f"There is no school {ref!r}. Use the id or Clever id 'rostersync status' shows."
        )
    return school


def allowed_actions(school: SchoolRow) -> list[str]:
    """The actions the school's hold allows, in the order the report offers them."""
    kind = school.status.hold_kind
    if school.status.state is not SyncState.ON_HOLD or kind is None:
        return []
    return [action for action, kinds in ALLOWED.items() if kind in kinds]


def _check_allowed(services: Services, school: SchoolRow, action: str, actor: str) -> None:
    if action in allowed_actions(school):
        return
    state = school.status.state.value
    if school.status.hold_kind is not None and school.status.state is SyncState.ON_HOLD:
        state = f"on hold ({school.status.hold_kind.value})"
    offered = ", ".join(WORDS[a] for a in allowed_actions(school)) or "none"
    message = (
        f"'{WORDS[action]}' is not available for {school.name}: the school is {state}. "
        f"Actions available now: {offered}."
    )
    _record(services, school, action, actor, "refused", message)
    raise ActionRefusedError(message)


def check_new_data(
    services: Services, school_ref: str, *, actor: str, confirmed: bool
) -> ActionResult:
    """Fetch afresh and evaluate the school right away (asks "Yes, continue" first)."""
    school = find_school(services, school_ref)
    _check_allowed(services, school, CHECK_NEW_DATA, actor)
    if not confirmed:
        raise ActionRefusedError(
            "Checking for new Clever data syncs the school at once if the data now passes "
            "every rule. Confirm with 'Yes, continue' (--yes on the command line)."
        )
    return _sync_now(services, school, CHECK_NEW_DATA, actor)


def reconnect(services: Services, school_ref: str, *, actor: str) -> ActionResult:
    """ "I fixed it": verify the token and the share, then sync the school at once."""
    school = find_school(services, school_ref)
    _check_allowed(services, school, RECONNECT, actor)
    return _sync_now(services, school, RECONNECT, actor)


def _sync_now(services: Services, school: SchoolRow, action: str, actor: str) -> ActionResult:
    result = sync_district(
        services, school.district_id, school_refs=[school.id], trigger=action, actor=actor
    )
    run = result.runs[0] if result.runs else None
    outcome, message = _describe(run, result.error)
    _record(services, school, action, actor, outcome, message)
    return ActionResult(action, school.id, outcome, message, run)


def _describe(run: RunRecord | None, error: str) -> tuple[str, str]:
    if run is None:
        return "failed", error or "The sync did not run."
    if run.outcome in (Outcome.APPLIED, Outcome.UNCHANGED):
        return "applied", "The data passed every rule and the school is synced again."
    if run.outcome is Outcome.HELD and run.hold_kind is not None:
        reasons = "; ".join(f.message for f in run.findings[:3])
        return "held", f"Still on hold ({run.hold_kind.value}): {reasons}"
    kind = run.hold_kind.value if run.hold_kind else "failing"
    return "failed", f"The sync failed ({kind}): {run.error}"


def confirm_removals(
    services: Services, school_ref: str, *, actor: str, run_id: str | None = None
) -> ActionResult:
    """Apply the held change set exactly as reviewed, if the roster has not moved since."""
    school = find_school(services, school_ref)
    _check_allowed(services, school, CONFIRM_REMOVALS, actor)
    now = services.clock.now()
    with services.store.unit_of_work() as uow:
        uow.lock_district(school.district_id)
        school = fresh_school(uow, school.id)
        held = _held_run(uow.list_runs(school.id, limit=1), run_id)
        change_set = uow.held_change_set(held.id) if held else None
        if held is None or change_set is None or held.roster_version != school.roster_version:
            uow.rollback()
            message = (
                "The change set under review no longer matches the school's roster or the "
                "latest check. Use 'Check for new Clever data' and review the removals again."
            )
            _record(services, school, CONFIRM_REMOVALS, actor, "refused", message)
            raise ActionRefusedError(message)
        rows = uow.apply_changes(school, change_set, services.checkpoint)
        run = replace(
            held,
            id=new_id("run"),
            trigger=CONFIRM_REMOVALS,
            started_at=now,
            finished_at=now,
            outcome=Outcome.APPLIED,
            hold_kind=None,
            findings=(),
            rows_written=rows,
            roster_version=school.roster_version + 1,
            counts=uow.load_roster(school.id).counts(),
            actor=actor,
        )
        uow.add_run(run)
        uow.save_status(school.id, on_success(school.status, now).status)
        message = f"Applied the reviewed change set of run {held.id} ({rows} rows written)."
        uow.record_action(AdminAction(school.id, actor, CONFIRM_REMOVALS, now, "applied", message))
        uow.commit()
    deliver_pending(services)
    return ActionResult(CONFIRM_REMOVALS, school.id, "applied", message, run)


def _held_run(latest: list[RunRecord], run_id: str | None) -> RunRecord | None:
    if not latest or latest[0].outcome is not Outcome.HELD:
        return None
    if latest[0].hold_kind is not HoldKind.DATA_REMOVALS:
        return None
    if run_id is not None and latest[0].id != run_id:
        return None
    return latest[0]


def _record(
    services: Services, school: SchoolRow, action: str, actor: str, outcome: str, detail: str
) -> None:
    with services.store.unit_of_work() as uow:
        uow.record_action(
            AdminAction(school.id, actor, action, services.clock.now(), outcome, detail)
        )
        uow.commit()
