"""Manage districts, their hold policy and the administrators who get hold emails."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TypeVar

from rostersync.domain.policy import Policy
from rostersync.errors import ConfigurationError, NotFoundError
from rostersync.service.context import Services
from rostersync.service.ids import new_id
from rostersync.service.model import Admin, DistrictConfig, Plan

T = TypeVar("T", int, float)

DEFAULT_BASE_URL = "https://api.clever.com"


def add_district(
    services: Services, name: str, clever_token: str, clever_base_url: str = DEFAULT_BASE_URL
) -> DistrictConfig:
    if not clever_token.strip():
        raise ConfigurationError("A Clever district token is required to add a district.")
    config = DistrictConfig(
        id=new_id("dst"),
        name=name,
        clever_token=clever_token.strip(),
        clever_base_url=clever_base_url.rstrip("/"),
        created_at=services.clock.now(),
    )
    with services.store.unit_of_work() as uow:
        uow.add_district(config)
        uow.commit()
    return config


def list_districts(services: Services) -> list[DistrictConfig]:
    with services.store.unit_of_work() as uow:
        return uow.list_districts()


def get_district(services: Services, district_id: str) -> DistrictConfig:
    with services.store.unit_of_work() as uow:
        config = uow.get_district(district_id)
    if config is None:
        raise NotFoundError(
            f"There is no district {district_id!r}. Run 'rostersync district list' to see them."
        )
    return config


def set_policy(
    services: Services,
    district_id: str,
    *,
    removal_pct: float | None = None,
    removal_min: int | None = None,
    removal_total: int | None = None,
    max_contacts: int | None = None,
    blocked_contact_types: Sequence[str] | None = None,
    failures_before_disconnect: int | None = None,
    interval_s: int | None = None,
    plan: Plan | None = None,
) -> DistrictConfig:
    """Change any of a district's settings; the others keep their values."""
    config = get_district(services, district_id)
    policy = Policy(
        removal_pct=_pick(removal_pct, config.policy.removal_pct),
        removal_min=_pick(removal_min, config.policy.removal_min),
        removal_total=_pick(removal_total, config.policy.removal_total),
        max_contacts=_pick(max_contacts, config.policy.max_contacts),
        blocked_contact_types=config.policy.blocked_contact_types,
        failures_before_disconnect=_pick(
            failures_before_disconnect, config.policy.failures_before_disconnect
        ),
    )
    if blocked_contact_types is not None:
        types = frozenset(t.strip() for t in blocked_contact_types if t.strip())
        policy = replace(policy, blocked_contact_types=types)
    validate_policy(policy)
    if interval_s is not None and interval_s < 60:
        raise ConfigurationError("The sync interval must be at least 60 seconds.")
    updated = replace(
        config,
        policy=policy,
        interval_s=interval_s if interval_s is not None else config.interval_s,
        plan=plan or config.plan,
    )
    with services.store.unit_of_work() as uow:
        uow.update_district(updated)
        uow.commit()
    return updated


def _pick(value: T | None, current: T) -> T:
    return current if value is None else value


def validate_policy(policy: Policy) -> None:
    if not 0 <= policy.removal_pct <= 100:
        raise ConfigurationError("The removal share must be between 0 and 100 percent.")
    if policy.removal_min < 0 or policy.removal_total < 0:
        raise ConfigurationError("Removal thresholds cannot be negative.")
    if policy.max_contacts < 0:
        raise ConfigurationError("The maximum number of contacts cannot be negative.")
    if policy.failures_before_disconnect < 1:
        raise ConfigurationError("Failures before a disconnected hold must be at least 1.")


def add_admin(
    services: Services, email: str, district_id: str, school_refs: Sequence[str] = ()
) -> Admin:
    """An administrator of the whole district, or (with schools) of those schools only."""
    if "@" not in email:
        raise ConfigurationError(f"{email!r} is not an email address.")
    get_district(services, district_id)
    with services.store.unit_of_work() as uow:
        school_ids = []
        for ref in school_refs:
            school = uow.get_school(ref)
            if school is None or school.district_id != district_id:
                raise NotFoundError(
                    f"There is no school {ref!r} in district {district_id}. Sync the district "
                    "first so its schools are known, then add the school admin."
                )
            school_ids.append(school.id)
        admin = Admin(new_id("adm"), email.strip().lower(), district_id, tuple(school_ids))
        uow.add_admin(admin)
        uow.commit()
    return admin
