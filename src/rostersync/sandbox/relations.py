"""Sub-resources like ``/users/{id}/mycontacts`` or ``/sections/{id}/term``, from the indexes.

Each resolves to either a list of ids of one record kind (served as a paginated list) or one
record (served as ``{"data": ...}``). Derivations follow NOTES §4: contacts from
``student_relationships``, a teacher's students and a student's teachers from sections.
"""

from __future__ import annotations

from dataclasses import dataclass

from rostersync.sandbox.answer import ApiError
from rostersync.sandbox.store import DistrictStore

SUBRESOURCES: dict[str, frozenset[str]] = {
    "schools": frozenset({"users", "sections", "district"}),
    "sections": frozenset({"users", "school", "term", "course", "district"}),
    "users": frozenset(
        {"mycontacts", "mystudents", "myteachers", "sections", "schools", "district"}
    ),
    "terms": frozenset({"district"}),
    "courses": frozenset({"district"}),
}
_SECTION_REFERENCES = {
    "school": ("schools", "school"),
    "term": ("terms", "term_id"),
    "course": ("courses", "course"),
}


@dataclass(frozen=True, slots=True)
class RelatedList:
    """Ids (ascending) of records of ``kind``."""

    kind: str
    ids: list[str]


@dataclass(frozen=True, slots=True)
class RelatedOne:
    """One record of ``kind`` (``districts``: the district)."""

    kind: str
    record_id: str


def _roles(params: dict[str, str], allowed: tuple[str, ...]) -> tuple[str, ...]:
    role = params.get("role")
    if role is None or role == "":
        return allowed
    if role not in allowed:
        raise ApiError(400, f"The role {role!r} is not allowed here; use one of {allowed}.")
    return (role,)


def resolve(
    store: DistrictStore, kind: str, record_id: str, sub: str, params: dict[str, str]
) -> RelatedList | RelatedOne:
    """Resolve ``/<kind>/<record_id>/<sub>``; raise ``ApiError`` 404/400 when it cannot."""
    if sub not in SUBRESOURCES.get(kind, frozenset()):
        raise ApiError(404, f"The sandbox has no endpoint /v3.0/{kind}/{{id}}/{sub}.")
    if sub == "district":
        return RelatedOne("districts", store.district_id)
    if kind == "schools":
        return _school_relation(store, record_id, sub, params)
    if kind == "sections":
        return _section_relation(store, record_id, sub, params)
    return _user_relation(store, record_id, sub, params)


def _school_relation(
    store: DistrictStore, school_id: str, sub: str, params: dict[str, str]
) -> RelatedList:
    if sub == "sections":
        return RelatedList("sections", list(store.section_index().by_school.get(school_id, ())))
    links = store.link_index()
    found: set[str] = set()
    for role in _roles(params, ("staff", "student", "teacher")):
        found.update(links.school_members(school_id, role))
    if params.get("primary") == "true":
        found = {uid for uid in found if _primary_at(store, uid, school_id)}
    return RelatedList("users", sorted(found))


def _primary_at(store: DistrictStore, user_id: str, school_id: str) -> bool:
    """Students and teachers count at their primary school only; staff have none."""
    user = store.light_user(user_id)
    if user is None:
        return False
    primary = user.primary_schools()
    return not primary or school_id in primary


def _section_relation(
    store: DistrictStore, section_id: str, sub: str, params: dict[str, str]
) -> RelatedList | RelatedOne:
    section = store.light_section(section_id)
    if section is None:
        raise ApiError(404, f"The section {section_id!r} was not found.")
    if sub == "users":
        found: set[str] = set()
        for role in _roles(params, ("student", "teacher")):
            members = (section.students or []) if role == "student" else section.teacher_ids()
            found.update(members)
        return RelatedList("users", sorted(found))
    target_kind, field = _SECTION_REFERENCES[sub]
    record = store.record("sections", section_id) or {}
    target = record.get(field)
    if not isinstance(target, str) or not target or target not in store.tables[target_kind]:
        raise ApiError(404, f"The section {section_id!r} has no {sub}.")
    return RelatedOne(target_kind, target)


def _user_relation(
    store: DistrictStore, user_id: str, sub: str, params: dict[str, str]
) -> RelatedList:
    user = store.light_user(user_id)
    if user is None:
        raise ApiError(404, f"The user {user_id!r} was not found.")
    links, sections = store.link_index(), store.section_index()
    member_of = sections.by_member.get(user_id, [])
    if sub == "sections":
        return RelatedList("sections", list(member_of))
    if sub == "schools":
        primary = params.get("primary") == "true"
        return RelatedList("schools", list(user.primary_schools() if primary else user.schools()))
    if sub == "mycontacts":
        return RelatedList("users", list(links.contacts_of.get(user_id, ())))
    found: set[str] = set()
    for section_id in member_of:
        light = store.light_section(section_id)
        if light is None:
            continue
        teachers = light.teacher_ids()
        if sub == "myteachers" and user_id in (light.students or ()):
            found.update(teachers)
        elif sub == "mystudents" and user_id in teachers:
            found.update(light.students or ())
    if sub == "mystudents":
        found.update(user.students())
    return RelatedList("users", sorted(found))
