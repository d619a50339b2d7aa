"""API authentication: ``Authorization: Bearer <token>`` resolved to the token's administrator.

Bearer tokens are not sent by browsers on their own, so the API needs no CSRF token; it
needs no cookie either (a session cookie is ignored here). A missing, unknown or revoked
token answers 401 with ``WWW-Authenticate: Bearer``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from rostersync.service.access import Principal
from rostersync.service.api_tokens import principal_for_token
from rostersync.web.api_models import Problem
from rostersync.web.problems import PROBLEM_JSON, ApiProblemError
from rostersync.web.session import services_of

bearer = HTTPBearer(
    auto_error=False,
    description="A per-administrator API token (`rostersync admin token create --email E`).",
)


def api_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise ApiProblemError(
            401,
            "This API needs an API token: send 'Authorization: Bearer <token>'. Create one "
            "on the dashboard's API tokens page or with 'rostersync admin token create'.",
            slug="unauthenticated",
            headers={"WWW-Authenticate": "Bearer"},
        )
    principal = principal_for_token(services_of(request), credentials.credentials)
    if principal is None:
        raise ApiProblemError(
            401,
            "The API token is not valid: it is unknown or was revoked. Create a new one.",
            slug="unauthenticated",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    return principal


ApiPrincipal = Annotated[Principal, Depends(api_principal)]


def _query_names(dependant: Dependant) -> set[str]:
    names = {p.alias for p in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


def known_query_only(request: Request) -> None:
    """Refuse query parameters the operation does not take: a misspelled filter must not
    quietly return everything."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    allowed = _query_names(route.dependant)
    unknown = sorted(set(request.query_params) - allowed)
    if unknown:
        takes = ", ".join(sorted(allowed)) or "none"
        raise ApiProblemError(
            422,
            f"Unknown query parameter(s): {', '.join(unknown)}. This operation takes: {takes}.",
            slug="invalid-request",
            extra={"errors": [{"field": f"query.{u}", "message": "Unknown."} for u in unknown]},
        )


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the problem documents an operation may answer with."""
    words = {
        400: "The request body could not be read (not JSON).",
        401: "No valid API token.",
        404: "Not found, or not in your scope.",
        409: "The school's state does not allow the action.",
        422: "The request is not valid.",
    }
    schema = Problem.model_json_schema()
    return {
        status: {
            "description": words.get(status, "An error."),
            "content": {PROBLEM_JSON: {"schema": schema}},
        }
        for status in (400, 401, 422, *statuses)
    }
