"""Who may see and act on what: an administrator's scope, applied to every read and action.

A signed-in person (browser or API token) is a ``Principal``: an email and the admin rows it
holds. A district admin row covers every school of its district; a school admin row covers
only its schools. Anything outside the scope is reported exactly like something that does
not exist (``NotFoundError``), so ids of other districts and schools don't leak.

The web and the API call these functions, never the unscoped queries, so the rule lives in
one place.
"""

from __future__ import annotations

from dataclasses import dataclass

from rostersync.errors import NotFoundError
from rostersync.service import holds
from rostersync.service.context import Services
from rostersync.service.jobs import job_runner
from rostersync.service.model import Admin, DistrictConfig, SchoolRow
from rostersync.service.queries import SchoolReport, SchoolStatusView, school_report, school_status


@dataclass(frozen=True, slots=True)
class Principal:
    """A person acting through the dashboard or the API, with every admin grant they hold."""

    email: str
    grants: tuple[Admin, ...]

    def sees(self, school: SchoolRow) -> bool:
        for grant in self.grants:
            if grant.district_id != school.district_id:
                continue
            if grant.is_district_admin or school.id in grant.school_ids:
                return True
        return False

    def administers_district(self, district_id: str) -> bool:
        return any(g.is_district_admin and g.district_id == district_id for g in self.grants)

    @property
    def district_ids(self) -> list[str]:
        return sorted({g.district_id for g in self.grants})

    @property
    def managed_districts(self) -> list[str]:
        """The districts whose settings this person may read and change."""
        return sorted({g.district_id for g in self.grants if g.is_district_admin})


def principal_for(services: Services, email: str) -> Principal | None:
    """The principal for an email, or ``None`` when it holds no admin grant (any more)."""
    with services.store.unit_of_work() as uow:
        grants = uow.admins_by_email(email)
    if not grants:
        return None
    return Principal(email, tuple(grants))


def not_found(kind: str, ref: str) -> NotFoundError:
    """The one answer for "missing" and "not yours": the same sentence for both."""
    return NotFoundError(
        f"There is no {kind} {ref!r} among the ones you administer. "
        f"Check the id, or ask a district administrator for access."
    )


def visible_schools(
    services: Services, principal: Principal, state: str | None = None
) -> list[SchoolStatusView]:
    """Every school in the principal's scope (optionally only those in ``state``)."""
    views: list[SchoolStatusView] = []
    for district_id in principal.district_ids:
        views += [v for v in school_status(services, district_id) if principal.sees(v.school)]
    if state is not None:
        views = [v for v in views if v.school.status.state.value == state]
    return views


def school_in_scope(services: Services, principal: Principal, ref: str) -> SchoolRow:
    """The school ``ref`` (internal or Clever id) if the principal may see it."""
    with services.store.unit_of_work() as uow:
        school = uow.get_school(ref)
        if school is not None and principal.sees(school):
            return school
        # The same Clever id may exist in two districts: look in the principal's own.
        for district_id in principal.district_ids:
            for candidate in uow.list_schools(district_id):
                if candidate.source_id == ref and principal.sees(candidate):
                    return candidate
    raise not_found("school", ref)


def district_in_scope(services: Services, principal: Principal, district_id: str) -> DistrictConfig:
    """A district whose settings the principal manages (district admins only)."""
    if principal.administers_district(district_id):
        with services.store.unit_of_work() as uow:
            config = uow.get_district(district_id)
        if config is not None:
            return config
    raise not_found("district", district_id)


def report_in_scope(
    services: Services, principal: Principal, ref: str, runs: int = 20
) -> SchoolReport:
    school = school_in_scope(services, principal, ref)
    return school_report(services, school.id, runs)


def check_new_data(
    services: Services, principal: Principal, ref: str, *, confirmed: bool
) -> holds.ActionResult:
    school = school_in_scope(services, principal, ref)
    return job_runner(services).hold_action(
        services, holds.CHECK_NEW_DATA, school.id, actor=principal.email, confirmed=confirmed
    )


def confirm_removals(
    services: Services, principal: Principal, ref: str, *, run_id: str | None
) -> holds.ActionResult:
    school = school_in_scope(services, principal, ref)
    return job_runner(services).hold_action(
        services, holds.CONFIRM_REMOVALS, school.id, actor=principal.email, run_id=run_id
    )


def reconnect(services: Services, principal: Principal, ref: str) -> holds.ActionResult:
    school = school_in_scope(services, principal, ref)
    return job_runner(services).hold_action(
        services, holds.RECONNECT, school.id, actor=principal.email
    )
