"""The browser side of signing in: the session cookie's contents, CSRF tokens and flashes.

The cookie is Starlette's ``SessionMiddleware`` cookie: JSON signed with itsdangerous
(HMAC-SHA1 over the app's secret key), HttpOnly, SameSite=Lax, Secure when the dashboard is
served over https. It carries three things: ``sid``, the secret of a server-side session
(``service.auth``), so signing out ends the session for good; ``csrf``, the token every form
must echo back (compared in constant time); and ``flash``, one message for the next page.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated, Any

from fastapi import Depends, Form, Request

from rostersync.service.access import Principal
from rostersync.service.auth import Auth
from rostersync.service.context import Services

SID = "sid"
CSRF = "csrf"
FLASH = "flash"


class LoginRequiredError(Exception):
    """The page needs a signed-in administrator; carries where to go back after sign-in."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


class CsrfError(Exception):
    """A form came back without the token this browser's session holds."""


def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def auth_of(request: Request) -> Auth:
    auth: Auth = request.app.state.auth
    return auth


def csrf_token(request: Request) -> str:
    """This browser's CSRF token (made on first use and kept in the signed cookie)."""
    token = request.session.get(CSRF)
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        request.session[CSRF] = token
    return token


def check_csrf(request: Request, csrf_token: Annotated[str, Form()] = "") -> None:
    """A dependency for every form POST: refuse a form without this session's token."""
    expected = request.session.get(CSRF)
    if not isinstance(expected, str) or not expected:
        raise CsrfError()
    if not hmac.compare_digest(expected.encode(), csrf_token.encode()):
        raise CsrfError()


def current_principal(request: Request) -> Principal | None:
    """The signed-in administrator, or ``None``; looked up once per request."""
    if hasattr(request.state, "principal"):
        found: Principal | None = request.state.principal
        return found
    secret = request.session.get(SID)
    principal = None
    if isinstance(secret, str) and secret:
        principal = auth_of(request).session_principal(secret)
        if principal is None:
            request.session.pop(SID, None)
    request.state.principal = principal
    return principal


def require_principal(request: Request) -> Principal:
    """A dependency for pages that need sign-in: redirects to the sign-in page otherwise."""
    principal = current_principal(request)
    if principal is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        # After sign-in only a page can be shown again, not a form's action.
        raise LoginRequiredError(target if request.method == "GET" else "/schools")
    return principal


PagePrincipal = Annotated[Principal, Depends(require_principal)]
CsrfChecked = Depends(check_csrf)


def sign_in(request: Request, secret: str) -> None:
    """Bind the browser to a new server-side session, with a fresh CSRF token."""
    request.session.clear()
    request.session[SID] = secret
    request.session[CSRF] = secrets.token_urlsafe(32)


def sign_out(request: Request) -> None:
    secret = request.session.get(SID)
    if isinstance(secret, str) and secret:
        auth_of(request).end_session(secret)
    request.session.clear()


def flash(request: Request, kind: str, message: str) -> None:
    """A message for the next page: ``kind`` is applied, held, failed, refused or info."""
    request.session[FLASH] = {"kind": kind, "message": message}


def pop_flash(request: Request) -> dict[str, Any] | None:
    value = request.session.pop(FLASH, None)
    return value if isinstance(value, dict) else None


def safe_next(value: str | None) -> str:
    """Only a path on this site may follow sign-in (no open redirects)."""
    if value and value.startswith("/") and not value.startswith(("//", "/\\")):
        return value
    return "/schools"
