"""Signing in: argon2 password hashes, throttled sign-in, and server-side web sessions.

Why server-side sessions behind a signed cookie: the cookie (signed by the web layer) only
carries a random session secret; the store keeps its digest, so "Sign out" really ends the
session and removing an admin's grants takes effect on their next request.

Throttling counts failed attempts in the store (so it holds across processes): at most
``MAX_FAILURES_PER_EMAIL`` failures per email since its last success and
``MAX_FAILURES_PER_CLIENT`` per client address within ``THROTTLE_WINDOW``. While throttled,
the password is not even checked.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from rostersync.errors import ConfigurationError, NotFoundError, RostersyncError
from rostersync.service.access import Principal, principal_for
from rostersync.service.admin_model import LoginAttempt, WebSession
from rostersync.service.context import Services

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024
THROTTLE_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_EMAIL = 5
MAX_FAILURES_PER_CLIENT = 20
SESSION_LIFETIME = timedelta(hours=12)


class SignInError(RostersyncError):
    """The email and password do not match an administrator who may sign in."""


class SignInThrottledError(RostersyncError):
    """Too many failed attempts; ``retry_after_s`` says when to try again."""

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message, retry_after_s)
        self.message = message
        self.retry_after_s = retry_after_s

    def __str__(self) -> str:
        return self.message


def digest(secret: str) -> str:
    """The SHA-256 of a high-entropy secret (session id, API token, invite token)."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def normalise_email(email: str) -> str:
    return email.strip().lower()


def check_password_rules(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ConfigurationError(
            f"The password is too short: use at least {MIN_PASSWORD_LENGTH} characters."
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise ConfigurationError(
            f"The password is too long: use at most {MAX_PASSWORD_LENGTH} characters."
        )


@dataclass(slots=True)
class Auth:
    """Passwords, sign-in and sessions. ``hasher`` is argon2id with the library's defaults;
    tests may pass a cheaper one."""

    services: Services
    hasher: PasswordHasher = field(default_factory=PasswordHasher)
    _dummy_hash: str = ""

    def set_password(self, email: str, password: str) -> None:
        """Set the password of an administrator (all their admin rows)."""
        check_password_rules(password)
        email = normalise_email(email)
        hashed = self.hasher.hash(password)
        with self.services.store.unit_of_work() as uow:
            if uow.set_password_hash(email, hashed) == 0:
                raise NotFoundError(
                    f"There is no administrator {email!r}. Add them first with "
                    "'rostersync admin add --email ... --district ...'."
                )
            uow.commit()

    def sign_in(self, email: str, password: str, client: str) -> Principal:
        """The principal for a correct email and password; raises when wrong or throttled."""
        email = normalise_email(email)
        now = self.services.clock.now()
        self._check_throttle(email, client, now)
        with self.services.store.unit_of_work() as uow:
            stored = uow.password_hash(email)
        ok = self._verify(stored, password)
        principal = principal_for(self.services, email) if ok else None
        with self.services.store.unit_of_work() as uow:
            uow.add_login_attempt(LoginAttempt(email, client, now, principal is not None))
            uow.commit()
        if principal is None:
            raise SignInError(
                "The email or password is not right. Check them and try again, or ask for "
                "a new invite link."
            )
        return principal

    def _verify(self, stored: str | None, password: str) -> bool:
        if stored is None:
            # Spend the same time as a real check, so timing does not tell who is an admin.
            if not self._dummy_hash:
                self._dummy_hash = self.hasher.hash(secrets.token_hex(16))
            stored, password = self._dummy_hash, password + "x"
            self._try(stored, password)
            return False
        return self._try(stored, password)

    def _try(self, stored: str, password: str) -> bool:
        try:
            return bool(self.hasher.verify(stored, password))
        except (VerificationError, InvalidHashError):
            return False

    def _check_throttle(self, email: str, client: str, now: datetime) -> None:
        since = now - THROTTLE_WINDOW
        with self.services.store.unit_of_work() as uow:
            by_email = uow.count_login_failures(email=email, client=None, since=since)
            by_client = uow.count_login_failures(email=None, client=client, since=since)
        if by_email >= MAX_FAILURES_PER_EMAIL or by_client >= MAX_FAILURES_PER_CLIENT:
            minutes = int(THROTTLE_WINDOW.total_seconds() // 60)
            raise SignInThrottledError(
                "Too many failed sign-in attempts. Wait "
                f"{minutes} minutes and try again, or ask for a new invite link.",
                retry_after_s=int(THROTTLE_WINDOW.total_seconds()),
            )

    def start_session(self, principal: Principal) -> str:
        """A new web session; returns the secret the (signed) cookie carries."""
        secret = secrets.token_urlsafe(32)
        now = self.services.clock.now()
        session = WebSession(digest(secret), principal.email, now, now + SESSION_LIFETIME)
        with self.services.store.unit_of_work() as uow:
            uow.add_web_session(session)
            uow.commit()
        return secret

    def session_principal(self, secret: str) -> Principal | None:
        """The principal of a live session, or ``None`` (ended, expired or no grants left)."""
        with self.services.store.unit_of_work() as uow:
            session = uow.get_web_session(digest(secret))
        if session is None or session.expires_at <= self.services.clock.now():
            return None
        return principal_for(self.services, session.email)

    def end_session(self, secret: str) -> None:
        with self.services.store.unit_of_work() as uow:
            uow.delete_web_session(digest(secret))
            uow.commit()
