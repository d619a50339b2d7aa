"""Per-administrator API tokens: create (shown once), list, revoke, and resolve a bearer token.

A token acts as its administrator: the same scope rules apply as in the dashboard. Tokens are
random (256 bits) and stored only as SHA-256 digests; the ``rs_`` prefix makes a leaked one
easy to find in logs and secret scanners.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from rostersync.errors import ConfigurationError, NotFoundError
from rostersync.service.access import Principal, principal_for
from rostersync.service.admin_model import ApiToken
from rostersync.service.auth import digest, normalise_email
from rostersync.service.context import Services
from rostersync.service.ids import new_id

TOKEN_PREFIX = "rs_"  # noqa: S105 (a prefix, not a secret)
MAX_LABEL = 100


def create_token(services: Services, email: str, label: str = "") -> tuple[ApiToken, str]:
    """A new token for the administrator; returns it and the secret (shown only now)."""
    email = normalise_email(email)
    label = label.strip()
    if len(label) > MAX_LABEL:
        raise ConfigurationError(
            f"The token label is too long: use at most {MAX_LABEL} characters."
        )
    if principal_for(services, email) is None:
        raise NotFoundError(
            f"There is no administrator {email!r}. Add them first with 'rostersync admin add'."
        )
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        id=new_id("tok"),
        email=email,
        label=label,
        token_hash=digest(secret),
        created_at=services.clock.now(),
    )
    with services.store.unit_of_work() as uow:
        uow.add_api_token(token)
        uow.commit()
    return token, secret


def list_tokens(services: Services, email: str) -> list[ApiToken]:
    with services.store.unit_of_work() as uow:
        return uow.list_api_tokens(normalise_email(email))


def revoke_token(services: Services, email: str, token_id: str) -> ApiToken:
    """Revoke one of the administrator's own tokens (someone else's is "not found")."""
    email = normalise_email(email)
    now = services.clock.now()
    with services.store.unit_of_work() as uow:
        mine = {t.id: t for t in uow.list_api_tokens(email)}
        token = mine.get(token_id)
        if token is None or not token.active or not uow.revoke_api_token(token_id, now):
            raise NotFoundError(
                f"There is no active API token {token_id!r} of {email}. "
                "List the tokens to see their ids."
            )
        uow.commit()
    return token


TOUCH_EVERY = timedelta(minutes=1)  # "last used" is for people: a minute is precise enough


def principal_for_token(services: Services, secret: str) -> Principal | None:
    """The principal a bearer token acts as, or ``None`` if unknown, revoked or orphaned."""
    if not secret.startswith(TOKEN_PREFIX):
        return None
    with services.store.unit_of_work() as uow:
        token = uow.api_token_by_hash(digest(secret))
    if token is None or not token.active:
        return None
    now = services.clock.now()
    if token.last_used_at is None or now - token.last_used_at >= TOUCH_EVERY:
        # A write of its own, first statement of its transaction: it waits for the write
        # lock instead of failing the way a read-then-write transaction does on SQLite.
        with services.store.unit_of_work() as uow:
            uow.touch_api_token(token.id, now)
            uow.commit()
    return principal_for(services, token.email)
