"""The OpenAPI document, checked by schemathesis against the running app.

For every operation, schemathesis generates valid and invalid requests from the document
the server publishes, sends them to the server on loopback and checks every answer against
the document: status codes, content types, schemas, that invalid input is refused and that
missing credentials are. Bounded (a few examples, no deadline) so it is quick and steady.

schemathesis' lazy pytest loader does not work with pytest 9, so each operation is a plain
parametrised test that runs the operation's Hypothesis strategy itself.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.core.parameters import ParameterLocation

from tests.web.conftest import WebEnv

OPERATIONS = [
    ("GET", "/api/v1/schools"),
    ("GET", "/api/v1/schools/{school}/report"),
    ("GET", "/api/v1/schools/{school}/changes"),
    ("GET", "/api/v1/schools/{school}/runs"),
    ("POST", "/api/v1/schools/{school}/actions/check-new-data"),
    ("POST", "/api/v1/schools/{school}/actions/confirm-removals"),
    ("POST", "/api/v1/schools/{school}/actions/reconnect"),
    ("GET", "/api/v1/districts/{district}/settings"),
    ("PUT", "/api/v1/districts/{district}/settings"),
]
EXAMPLES = 15


@pytest.fixture(scope="module")
def api_schema(shared_web: WebEnv) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(f"{shared_web.url}/api/v1/openapi.json")


def test_every_operation_of_the_document_is_checked(api_schema: schemathesis.BaseSchema) -> None:
    found = {(r.ok().method.upper(), r.ok().path) for r in api_schema.get_all_operations()}
    assert found == set(OPERATIONS)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_the_api_keeps_to_its_openapi_document(
    api_schema: schemathesis.BaseSchema,
    shared_web: WebEnv,
    method: str,
    path: str,
    mode: GenerationMode,
) -> None:
    operation = api_schema[path][method]
    token = f"Bearer {shared_web.tokens['district']}"

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case: schemathesis.Case) -> None:
        # A well-formed bearer header gets a real token, so requests reach the operation;
        # a deliberately broken one (negative mode) is sent as generated and must be a 401.
        header = case.meta.components.get(ParameterLocation.HEADER) if case.meta else None
        if case.headers and (header is None or header.mode is GenerationMode.POSITIVE):
            case.headers["Authorization"] = token
        case.call_and_validate()

    check()
