"""District settings as the dashboard and API edit them, validated, with every change logged.

The CLI's ``district set-policy`` changes settings too (``districts.set_policy``); this use
case adds what an admin-facing editor needs: every field checked at once (so a form can
show each problem beside its field), the sync interval and time zone, who receives hold
emails, and a record of who changed what, from what, to what.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rostersync.domain.policy import Policy
from rostersync.domain.records import RELATIONSHIP_TYPES
from rostersync.errors import ConfigurationError
from rostersync.service.admin_model import SettingsChange
from rostersync.service.context import Services
from rostersync.service.districts import get_district, validate_policy
from rostersync.service.model import Admin, DistrictConfig

CONTACT_TYPES: tuple[str, ...] = tuple(sorted(t for t in RELATIONSHIP_TYPES if t))
MIN_INTERVAL_S = 60
MAX_INTERVAL_S = 31 * 86_400
MAX_COUNT = 1_000_000_000


class SettingsInvalidError(ConfigurationError):
    """Some settings are not valid; ``errors`` maps each field to what is wrong with it."""

    def __init__(self, errors: dict[str, str]) -> None:
        message = " ".join(errors.values())
        super().__init__(message)
        self.errors = errors


@dataclass(frozen=True, slots=True)
class SettingsUpdate:
    """The fields to change; ``None`` keeps a field as it is."""

    removal_pct: float | None = None
    removal_min: int | None = None
    removal_total: int | None = None
    max_contacts: int | None = None
    blocked_contact_types: tuple[str, ...] | None = None
    failures_before_disconnect: int | None = None
    interval_s: int | None = None
    timezone: str | None = None
    notify: dict[str, bool] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DistrictSettings:
    district: DistrictConfig
    admins: list[Admin]
    changes: list[SettingsChange]


def district_settings(services: Services, district_id: str) -> DistrictSettings:
    config = get_district(services, district_id)
    with services.store.unit_of_work() as uow:
        admins = uow.list_admins(district_id)
        changes = uow.list_settings_changes(district_id)
    return DistrictSettings(config, admins, changes)


def change_settings(
    services: Services, district_id: str, actor: str, update: SettingsUpdate
) -> DistrictSettings:
    """Validate every field, then save the settings and log each change in one transaction."""
    current = district_settings(services, district_id)
    config = current.district
    errors = _check(update, {a.id for a in current.admins})
    if errors:
        raise SettingsInvalidError(errors)
    new = _apply(config, update)
    validate_policy(new.policy)
    now = services.clock.now()
    logged = [
        SettingsChange(district_id, actor, now, name, old, value)
        for name, old, value in _differences(config, new, current.admins, update.notify)
    ]
    with services.store.unit_of_work() as uow:
        uow.update_district(new)
        for admin in current.admins:
            wanted = update.notify.get(admin.id, admin.notify)
            if wanted != admin.notify:
                uow.set_admin_notify(admin.id, wanted)
        for change in logged:
            uow.add_settings_change(change)
        uow.commit()
    return district_settings(services, district_id)


def _check(update: SettingsUpdate, admin_ids: set[str]) -> dict[str, str]:
    errors: dict[str, str] = {}

    def need(name: str, ok: bool, message: str) -> None:
        if not ok:
            errors[name] = message

    u = update
    if u.removal_pct is not None:
        need("removal_pct", 0 <= u.removal_pct <= 100, "The removal share must be 0 to 100 %.")
    for name in ("removal_min", "removal_total", "max_contacts"):
        value = getattr(u, name)
        if value is not None:
            need(name, value >= 0, f"The {_words(name)} cannot be negative.")
            need(name, value <= MAX_COUNT, f"The {_words(name)} is too large.")
    if u.failures_before_disconnect is not None:
        need(
            "failures_before_disconnect",
            1 <= u.failures_before_disconnect <= MAX_COUNT,
            "Failures before a disconnected hold must be at least 1.",
        )
    if u.interval_s is not None:
        need(
            "interval_s",
            MIN_INTERVAL_S <= u.interval_s <= MAX_INTERVAL_S,
            "The sync interval must be between 1 minute and 31 days.",
        )
    if u.blocked_contact_types is not None:
        unknown = sorted(set(u.blocked_contact_types) - set(CONTACT_TYPES))
        need(
            "blocked_contact_types",
            not unknown,
            f"Unknown contact types: {', '.join(unknown)}. Use {', '.join(CONTACT_TYPES)}.",
        )
    if u.timezone is not None:
        need("timezone", _zone_ok(u.timezone), f"{u.timezone!r} is not a known time zone.")
    unknown_admins = sorted(set(u.notify) - admin_ids)
    need("notify", not unknown_admins, "Some administrators are not of this district.")
    return errors


def _words(name: str) -> str:
    return {
        "removal_min": "minimum number of removals",
        "removal_total": "total number of removals",
        "max_contacts": "maximum number of contacts",
    }[name]


def _zone_ok(name: str) -> bool:
    if not name or name.startswith(("/", ".")) or ".." in name:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _apply(config: DistrictConfig, u: SettingsUpdate) -> DistrictConfig:
    policy = config.policy

    def pick(value: Any, current: Any) -> Any:
        return current if value is None else value

    new_policy = Policy(
        removal_pct=float(pick(u.removal_pct, policy.removal_pct)),
        removal_min=pick(u.removal_min, policy.removal_min),
        removal_total=pick(u.removal_total, policy.removal_total),
        max_contacts=pick(u.max_contacts, policy.max_contacts),
        blocked_contact_types=frozenset(
            pick(u.blocked_contact_types, policy.blocked_contact_types)
        ),
        failures_before_disconnect=pick(
            u.failures_before_disconnect, policy.failures_before_disconnect
        ),
    )
    return replace(
        config,
        policy=new_policy,
        interval_s=pick(u.interval_s, config.interval_s),
        timezone=pick(u.timezone, config.timezone),
    )


def _differences(
    old: DistrictConfig, new: DistrictConfig, admins: list[Admin], notify: dict[str, bool]
) -> list[tuple[str, str, str]]:
    """(field, old, new) for every field that changed, as text."""
    before, after = settings_values(old), settings_values(new)
    out = [(name, before[name], after[name]) for name in before if before[name] != after[name]]
    for admin in admins:
        wanted = notify.get(admin.id, admin.notify)
        if wanted != admin.notify:
            out.append((f"notify {admin.email}", _on(admin.notify), _on(wanted)))
    return out


def _on(flag: bool) -> str:
    return "on" if flag else "off"


def settings_values(config: DistrictConfig) -> dict[str, str]:
    """Each setting as text, for the log."""
    p = config.policy
    return {
        "removal_pct": f"{p.removal_pct:g}",
        "removal_min": str(p.removal_min),
        "removal_total": str(p.removal_total),
        "max_contacts": str(p.max_contacts),
        "blocked_contact_types": ", ".join(sorted(p.blocked_contact_types)),
        "failures_before_disconnect": str(p.failures_before_disconnect),
        "interval_s": str(config.interval_s),
        "timezone": config.timezone,
    }


def settings_json(settings: DistrictSettings) -> dict[str, Any]:
    """The API's view of a district's settings."""
    config, p = settings.district, settings.district.policy
    return {
        "district_id": config.id,
        "name": config.name,
        "plan": config.plan.value,
        "timezone": config.timezone,
        "interval_s": config.interval_s,
        "policy": {
            "removal_pct": p.removal_pct,
            "removal_min": p.removal_min,
            "removal_total": p.removal_total,
            "max_contacts": p.max_contacts,
            "blocked_contact_types": sorted(p.blocked_contact_types),
            "failures_before_disconnect": p.failures_before_disconnect,
        },
        "notify": [
            {"admin_id": a.id, "email": a.email, "schools": list(a.school_ids), "notify": a.notify}
            for a in settings.admins
        ],
        "changes": [
            {
                "actor": c.actor,
                "at": c.at.isoformat(),
                "field": c.field,
                "old_value": c.old_value,
                "new_value": c.new_value,
            }
            for c in settings.changes
        ],
    }
