"""Sign-in pages: sign in, sign out, and choosing a password from an invite link.

Every form carries the CSRF token, the sign-in form too (a forged sign-in would put the
victim in the attacker's account). A throttled sign-in answers 429 without checking the
password.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from rostersync.errors import ConfigurationError
from rostersync.service.auth import SignInError, SignInThrottledError
from rostersync.service.invites import accept_invite, open_invite
from rostersync.web.session import (
    CsrfChecked,
    auth_of,
    current_principal,
    flash,
    safe_next,
    services_of,
    sign_in,
    sign_out,
)
from rostersync.web.templating import render

router = APIRouter(include_in_schema=False)


def client_of(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.get("/login")
def login_page(request: Request, next: str = "/schools") -> Response:
    if current_principal(request) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return render(request, "login.html", {"next": safe_next(next), "email": "", "error": None})


@router.post("/login", dependencies=[CsrfChecked])
def login(
    request: Request,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/schools",
) -> Response:
    auth = auth_of(request)
    try:
        principal = auth.sign_in(email, password, client_of(request))
    except SignInThrottledError as exc:
        context = {"next": safe_next(next), "email": email, "error": str(exc)}
        response = render(request, "login.html", context, status_code=429)
        response.headers["Retry-After"] = str(exc.retry_after_s)
        return response
    except SignInError as exc:
        context = {"next": safe_next(next), "email": email, "error": str(exc)}
        return render(request, "login.html", context, status_code=401)
    sign_in(request, auth.start_session(principal))
    return RedirectResponse(safe_next(next), status_code=303)


@router.post("/logout", dependencies=[CsrfChecked])
def logout(request: Request) -> Response:
    sign_out(request)
    flash(request, "info", "You are signed out.")
    return RedirectResponse("/login", status_code=303)


@router.get("/invite/{token}")
def invite_page(request: Request, token: str) -> Response:
    invite = open_invite(services_of(request), token)
    return render(request, "invite.html", {"email": invite.email, "error": None})


@router.post("/invite/{token}", dependencies=[CsrfChecked])
def invite_accept(
    request: Request,
    token: str,
    password: Annotated[str, Form(max_length=1024)] = "",
    password_again: Annotated[str, Form(max_length=1024)] = "",
) -> Response:
    auth = auth_of(request)
    invite = open_invite(auth.services, token)
    if password != password_again:
        error = "The two passwords are not the same. Type the same password twice."
        return render(request, "invite.html", {"email": invite.email, "error": error}, 422)
    try:
        principal = accept_invite(auth, token, password)
    except ConfigurationError as exc:
        return render(request, "invite.html", {"email": invite.email, "error": str(exc)}, 422)
    sign_in(request, auth.start_session(principal))
    flash(request, "info", "Your password is set and you are signed in.")
    return RedirectResponse("/schools", status_code=303)
