"""Every response the sandbox serves validates against Clever's own v3.0 spec definitions.

The Swagger 2.0 definitions are converted to JSON Schema and made strict: objects whose
properties the spec lists reject any other key, ``x-nullable`` also admits null, and the
non-standard ``format: datetime`` is a plain string. Two deliberate, documented adjustments
follow real Clever data (NOTES §2, §7): list items carry a ``uri`` next to ``data``, and an
event's ``previous_attributes`` sits inside ``data`` next to ``object``.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from jsonschema import Draft202012Validator

from rostersync.sandbox.district import DistrictData
from rostersync.sandbox.server import SandboxServer
from rostersync.sandbox.state import SandboxState

# The shared reference folder lives beside the repository root.
CLEVER_REFERENCE = Path(__file__).resolve().parents[2] / ".." / "shared" / "reference" / "clever"

pytestmark = pytest.mark.skipif(
    not CLEVER_REFERENCE.is_dir(), reason="the shared Clever reference folder is absent"
)


def _convert(node: Any) -> Any:
    """One Swagger 2.0 schema node as strict JSON Schema."""
    if not isinstance(node, dict):
        return node
    nullable = bool(node.get("x-nullable"))
    if "$ref" in node:
        schema: dict[str, Any] = {"$ref": node["$ref"]}
    else:
        schema = {}
        for key, value in node.items():
            if key.startswith("x-") or key in ("discriminator", "format"):
                continue
            if key == "properties":
                schema[key] = {name: _convert(prop) for name, prop in value.items()}
            elif key in ("items", "additionalProperties"):
                schema[key] = _convert(value)
            elif key == "allOf":
                schema[key] = [_convert(part) for part in value]
            else:
                schema[key] = value
        if "properties" in schema:
            schema.setdefault("type", "object")
            schema.setdefault("additionalProperties", False)
    if nullable:
        return {"anyOf": [schema, {"type": "null"}]}
    return schema


def _load(name: str) -> dict[str, Any]:
    spec = yaml.safe_load((CLEVER_REFERENCE / name).read_text(encoding="utf-8"))
    definitions = {name: _convert(schema) for name, schema in spec["definitions"].items()}
    for name in list(definitions):
        if name.endswith("sResponse"):
            item_ref = definitions[name]["properties"]["data"]["items"]["$ref"]
            item_name = item_ref.rsplit("/", 1)[1]
            item = copy.deepcopy(definitions[item_name])
            item["properties"]["uri"] = {"type": "string"}
            item["required"] = ["data", "uri"]
            definitions[f"{item_name}Item"] = item
            definitions[name]["properties"]["data"]["items"] = {
                "$ref": f"#/definitions/{item_name}Item"
            }
            definitions[name]["required"] = ["data", "links"]
        elif name.endswith("Response"):
            definitions[name]["required"] = ["data"]
    definitions["Link"]["required"] = ["rel", "uri"]
    return definitions


def _event_definitions(definitions: dict[str, Any]) -> None:
    """Turn each ``<type>.<action>`` allOf into one strict object, data nesting as observed."""
    base = definitions["Event"]["properties"]
    for name in [n for n in definitions if "." in n]:
        extra = definitions[name]["allOf"][1]["properties"]
        data_schema: dict[str, Any] = {"$ref": extra["data"]["$ref"]}
        if "previous_attributes" in extra:
            target = extra["data"]["$ref"].rsplit("/", 1)[1]
            updated = copy.deepcopy(definitions[target])
            updated["properties"]["previous_attributes"] = {"type": "object"}
            updated["required"] = ["object", "previous_attributes"]
            definitions[f"{target}Updated"] = updated
            data_schema = {"$ref": f"#/definitions/{target}Updated"}
        definitions[name] = {
            "type": "object",
            "properties": {**base, "type": {"const": name}, "data": data_schema},
            "required": ["id", "type", "created", "data"],
            "additionalProperties": False,
        }
    definitions["Event"] = {"type": "object", "required": ["type"]}


@pytest.fixture(scope="module")
def definitions() -> dict[str, Any]:
    data_definitions = _load("v3.0.yml")
    event_definitions = _load("v3.0-events.yml")
    _event_definitions(event_definitions)
    return {**data_definitions, **event_definitions}


def validate(definitions: dict[str, Any], name: str, value: Any) -> None:
    schema = {"$ref": f"#/definitions/{name}", "definitions": definitions}
    Draft202012Validator(schema).validate(value)


@pytest.fixture(scope="module")
def contract_server(district_data: DistrictData) -> Iterator[SandboxServer]:
    """A district with events of every kind the mutations produce, and a multi-role user."""
    state = SandboxState.from_data(district_data.copy())
    school = state.tables["schools"].ids[0]
    state.add_contacts(state.users_of_school(school, "student")[0], 2, "Emergency", "Aunt/Uncle")
    state.set_contact_types(school, "Secondary", count=3)
    state.remove_share_of_students(school, 0.05)
    state.remove_share_of_sections(school, 0.05)
    teacher = state.require("users", state.users_of_school(school, "teacher")[0])
    teacher["roles"]["contact"] = {
        "phone": "",
        "phone_type": "",
        "sis_id": "",
        "student_relationships": [
            {
                "relationship": "Parent",
                "student": state.users_of_school(school, "student")[1],
                "type": "Parent/Guardian",
            }
        ],
    }
    state.upsert_user(teacher)
    state.set_district_state("error", "The SIS upload failed.")
    with SandboxServer(state) as running:
        yield running


@pytest.fixture(scope="module")
def http(contract_server: SandboxServer) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {contract_server.token}"}
    with httpx.Client(base_url=contract_server.base_url, headers=headers) as client:
        yield client


def _ids(contract_server: SandboxServer) -> dict[str, str]:
    state = contract_server.state
    school = state.tables["schools"].ids[0]
    roles = state.role_index().by_role
    student = state.users_of_school(school, "student")[0]
    return {
        "district": state.district_id,
        "school": school,
        "section": state.tables["sections"].ids[0],
        "student": student,
        "teacher": roles["teacher"][0],
        "contact": roles["contact"][0],
        "staff": roles["staff"][0],
        "admin": roles["district_admin"][0],
        "term": state.tables["terms"].ids[0],
        "course": state.tables["courses"].ids[0],
        "event": state.events.table.ids[0],
    }


ENDPOINTS: list[tuple[str, str]] = [
    ("/districts", "DistrictsResponse"),
    ("/districts/{district}", "DistrictResponse"),
    ("/schools", "SchoolsResponse"),
    ("/schools/{school}", "SchoolResponse"),
    ("/schools/{school}/users", "UsersResponse"),
    ("/schools/{school}/users?role=staff", "UsersResponse"),
    ("/schools/{school}/users?role=student", "UsersResponse"),
    ("/schools/{school}/users?role=teacher", "UsersResponse"),
    ("/schools/{school}/users?primary=true", "UsersResponse"),
    ("/schools/{school}/sections", "SectionsResponse"),
    ("/schools/{school}/district", "DistrictResponse"),
    ("/sections", "SectionsResponse"),
    ("/sections/{section}", "SectionResponse"),
    ("/sections/{section}/users", "UsersResponse"),
    ("/sections/{section}/users?role=student", "UsersResponse"),
    ("/sections/{section}/users?role=teacher", "UsersResponse"),
    ("/sections/{section}/school", "SchoolResponse"),
    ("/sections/{section}/term", "TermResponse"),
    ("/sections/{section}/course", "CourseResponse"),
    ("/sections/{section}/district", "DistrictResponse"),
    ("/users", "UsersResponse"),
    ("/users?role=student", "UsersResponse"),
    ("/users?role=teacher", "UsersResponse"),
    ("/users?role=staff", "UsersResponse"),
    ("/users?role=contact", "UsersResponse"),
    ("/users?role=district_admin", "UsersResponse"),
    ("/users/{student}", "UserResponse"),
    ("/users/{teacher}", "UserResponse"),
    ("/users/{contact}", "UserResponse"),
    ("/users/{staff}", "UserResponse"),
    ("/users/{admin}", "UserResponse"),
    ("/users/{student}/mycontacts", "UsersResponse"),
    ("/users/{student}/myteachers", "UsersResponse"),
    ("/users/{teacher}/mystudents", "UsersResponse"),
    ("/users/{contact}/mystudents", "UsersResponse"),
    ("/users/{student}/sections", "SectionsResponse"),
    ("/users/{teacher}/sections", "SectionsResponse"),
    ("/users/{student}/schools", "SchoolsResponse"),
    ("/users/{teacher}/schools?primary=true", "SchoolsResponse"),
    ("/users/{student}/district", "DistrictResponse"),
    ("/terms", "TermsResponse"),
    ("/terms/{term}", "TermResponse"),
    ("/terms/{term}/district", "DistrictResponse"),
    ("/courses", "CoursesResponse"),
    ("/courses/{course}", "CourseResponse"),
    ("/courses/{course}/district", "DistrictResponse"),
    ("/events", "EventsResponse"),
    ("/events/{event}", "EventResponse"),
]


LIST_KINDS = {
    "DistrictsResponse": "districts",
    "SchoolsResponse": "schools",
    "SectionsResponse": "sections",
    "UsersResponse": "users",
    "TermsResponse": "terms",
    "CoursesResponse": "courses",
    "EventsResponse": "events",
}


@pytest.mark.parametrize(("template", "definition"), ENDPOINTS)
def test_response_matches_the_spec(
    definitions: dict[str, Any],
    contract_server: SandboxServer,
    http: httpx.Client,
    template: str,
    definition: str,
) -> None:
    path = "/v3.0" + template.format(**_ids(contract_server))
    kind = LIST_KINDS.get(definition)
    if kind is not None and kind != "districts":
        path += ("&" if "?" in path else "?") + "limit=10000"

    reply = http.get(path)

    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"].startswith("application/json")
    body = reply.json()
    validate(definitions, definition, body)
    if kind is not None:
        assert body["data"], f"{path} served an empty list; the contract test proves nothing"
        assert "next" not in {link["rel"] for link in body["links"]}
        for item in body["data"]:
            assert item["uri"] == f"/v3.0/{kind}/{item['data']['id']}"
    if kind == "events":
        for item in body["data"]:
            validate(definitions, item["data"]["type"], item["data"])
    if definition == "EventResponse":
        validate(definitions, body["data"]["type"], body["data"])


def test_role_filters_serve_only_that_role(http: httpx.Client) -> None:
    for role in ("student", "teacher", "staff", "contact", "district_admin"):
        body = http.get("/v3.0/users", params={"role": role, "limit": 10000}).json()
        assert body["data"]
        assert all(role in item["data"]["roles"] for item in body["data"])


def test_the_events_feed_covers_every_mutation_kind(http: httpx.Client) -> None:
    body = http.get("/v3.0/events", params={"limit": 10000}).json()
    types = {item["data"]["type"] for item in body["data"]}

    assert {
        "users.created",
        "users.updated",
        "users.deleted",
        "sections.updated",
        "sections.deleted",
        "districts.updated",
    } <= types


def test_a_record_with_a_key_outside_the_spec_fails_validation(
    definitions: dict[str, Any], http: httpx.Client
) -> None:
    body = http.get("/v3.0/sections", params={"limit": 1}).json()
    body["data"][0]["data"]["nickname"] = "not in the spec"

    with pytest.raises(Exception, match="nickname"):
        validate(definitions, "SectionsResponse", body)
