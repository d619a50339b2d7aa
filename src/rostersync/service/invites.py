"""Invite links: a one-time, expiring link that lets an administrator choose a password.

The CLI prints the link (``rostersync admin invite``) so no password travels by email or
chat. Using the link sets the password and spends the invite; a new invite can always be
made, which is also how a forgotten password is reset.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from rostersync.errors import NotFoundError
from rostersync.service.access import Principal, principal_for
from rostersync.service.admin_model import Invite
from rostersync.service.auth import Auth, check_password_rules, digest, normalise_email
from rostersync.service.context import Services

INVITE_LIFETIME = timedelta(days=7)


def create_invite(services: Services, email: str) -> str:
    """A new invite for an existing administrator; returns the secret for the link."""
    email = normalise_email(email)
    if principal_for(services, email) is None:
        raise NotFoundError(
            f"There is no administrator {email!r}. Add them first with 'rostersync admin add'."
        )
    secret = secrets.token_urlsafe(32)
    now = services.clock.now()
    with services.store.unit_of_work() as uow:
        uow.add_invite(Invite(digest(secret), email, now, now + INVITE_LIFETIME))
        uow.commit()
    return secret


def invite_link(public_url: str | None, secret: str) -> str:
    base = (public_url or "http://127.0.0.1:8000").rstrip("/")
    return f"{base}/invite/{secret}"


def open_invite(services: Services, secret: str) -> Invite:
    """The invite behind a link, if it is unused and not expired."""
    with services.store.unit_of_work() as uow:
        invite = uow.get_invite(digest(secret))
    if invite is None or invite.used_at is not None or invite.expires_at <= services.clock.now():
        raise NotFoundError(
            "This invite link is not valid any more: it was used already or it expired. "
            "Ask for a new one ('rostersync admin invite --email ...')."
        )
    return invite


def accept_invite(auth: Auth, secret: str, password: str) -> Principal:
    """Set the password from an invite and spend the invite."""
    services = auth.services
    invite = open_invite(services, secret)
    check_password_rules(password)
    auth.set_password(invite.email, password)
    with services.store.unit_of_work() as uow:
        uow.use_invite(invite.token_hash, services.clock.now())
        uow.commit()
    principal = principal_for(services, invite.email)
    if principal is None:
        raise NotFoundError(
            f"The administrator {invite.email} was removed after the invite was made."
        )
    return principal
