"""Errors as answers: JSON problem details (RFC 9457) under ``/api``, HTML pages elsewhere.

One set of handlers maps rostersync's errors to HTTP: missing or out-of-scope things are 404
(the same answer for both, so ids don't leak), refused hold actions 409, invalid input 422,
missing API credentials 401. API answers are ``application/problem+json`` with ``type``,
``title``, ``status`` and ``detail`` (a full sentence), and ``errors`` for invalid fields.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from rostersync.errors import ActionRefusedError, ConfigurationError, NotFoundError
from rostersync.service.settings_log import SettingsInvalidError
from rostersync.web.session import CsrfError, LoginRequiredError
from rostersync.web.templating import render

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "urn:rostersync:problem:"
TITLES = {
    400: "Bad request",
    401: "Sign-in required",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Action refused",
    422: "Invalid request",
    429: "Too many requests",
    500: "Internal error",
}
log = logging.getLogger("rostersync.web")


class ApiProblemError(Exception):
    """Raise from an API route to answer with a problem document."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        slug: str = "",
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.slug = slug or TITLES.get(status, "error").lower().replace(" ", "-")
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})


def problem(
    request: Request,
    status: int,
    detail: str,
    *,
    slug: str = "",
    headers: Mapping[str, str] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + (slug or TITLES.get(status, "error").lower().replace(" ", "-")),
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        **(extra or {}),
    }
    return JSONResponse(body, status, headers=dict(headers or {}), media_type=PROBLEM_JSON)


def is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def error_page(request: Request, status: int, detail: str) -> Response:
    title = TITLES.get(status, "Error")
    context = {"title": title, "detail": detail, "status": status}
    return render(request, "error.html", context, status_code=status)


def _answer(request: Request, status: int, detail: str, **kwargs: Any) -> Response:
    if is_api(request):
        return problem(request, status, detail, **kwargs)
    return error_page(request, status, detail)


async def _not_found(request: Request, exc: Exception) -> Response:
    return _answer(request, 404, str(exc), slug="not-found")


async def _refused(request: Request, exc: Exception) -> Response:
    return _answer(request, 409, str(exc), slug="action-refused")


async def _invalid(request: Request, exc: Exception) -> Response:
    extra: dict[str, Any] = {}
    if isinstance(exc, SettingsInvalidError):
        extra["errors"] = [{"field": k, "message": v} for k, v in exc.errors.items()]
    return _answer(request, 422, str(exc), slug="invalid-settings", extra=extra)


async def _validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"field": ".".join(str(p) for p in e.get("loc", ())), "message": str(e.get("msg", ""))}
        for e in exc.errors()
    ]
    detail = "The request is not valid: " + "; ".join(
        f"{e['field']}: {e['message']}" for e in errors[:5]
    )
    return _answer(request, 422, detail + ".", slug="invalid-request", extra={"errors": errors})


async def _http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else TITLES.get(exc.status_code, "Error")
    if exc.status_code == 400:
        detail = "The request body could not be read: send a JSON object (or nothing)."
    elif exc.status_code == 404:
        detail = "There is nothing at this address. Check the link, or start from the schools."
    elif exc.status_code == 405:
        detail = f"This address does not accept {request.method} requests."
    return _answer(request, exc.status_code, detail, headers=exc.headers)


async def _api_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiProblemError)
    return problem(
        request, exc.status, exc.detail, slug=exc.slug, headers=exc.headers, extra=exc.extra
    )


async def _login_required(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginRequiredError)
    from urllib.parse import quote

    return RedirectResponse(f"/login?next={quote(exc.next_url, safe='/')}", status_code=303)


async def _csrf(request: Request, exc: Exception) -> Response:
    return error_page(
        request,
        403,
        "This form has expired or did not come from this site, so nothing was changed. "
        "Go back, reload the page and try again.",
    )


SERVER_ERROR = (
    "Something went wrong on our side and nothing was changed. Try again; if it keeps "
    "happening, tell your rostersync operator."
)


async def _server_error(request: Request, exc: Exception) -> Response:
    log.error("Unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    if is_api(request):
        return problem(request, 500, SERVER_ERROR)
    # Outside the session middleware: a page that needs nothing from the session.
    page = (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>Internal error · rostersync</title></head><body><main>"
        f'<h1>Internal error</h1><p>{SERVER_ERROR}</p><p><a href="/schools">Schools</a></p>'
        "</main></body></html>"
    )
    return HTMLResponse(page, status_code=500)


def install_handlers(app: FastAPI) -> None:
    app.add_exception_handler(NotFoundError, _not_found)
    app.add_exception_handler(ActionRefusedError, _refused)
    app.add_exception_handler(ConfigurationError, _invalid)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(ApiProblemError, _api_problem)
    app.add_exception_handler(LoginRequiredError, _login_required)
    app.add_exception_handler(CsrfError, _csrf)
    app.add_exception_handler(Exception, _server_error)
