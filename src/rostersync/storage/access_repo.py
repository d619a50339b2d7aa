"""Administrators' access: passwords, sign-in attempts, web sessions, API tokens, invites.

An administrator is known by email; the same person may hold several ``admins`` rows (one
per district, or per set of schools), so a password is set on all of their rows at once.
Secrets are stored only as digests: a leaked database does not let anyone sign in.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from rostersync.service.admin_model import ApiToken, Invite, LoginAttempt, WebSession
from rostersync.storage.errors import NotFoundError
from rostersync.storage.tables import (
    admin_invites,
    admins,
    api_tokens,
    login_attempts,
    web_sessions,
)


class AccessRepo:
    """Reads and writes the sign-in tables and the admins' password and notify columns."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    # passwords and notification
    def password_hash(self, email: str) -> str | None:
        stmt = (
            select(admins.c.password_hash)
            .where(admins.c.email == email, admins.c.password_hash.is_not(None))
            .order_by(admins.c.id)
            .limit(1)
        )
        return self._conn.execute(stmt).scalar_one_or_none()

    def set_password_hash(self, email: str, password_hash: str) -> int:
        stmt = update(admins).where(admins.c.email == email).values(password_hash=password_hash)
        return int(self._conn.execute(stmt).rowcount)

    def set_admin_notify(self, admin_id: str, notify: bool) -> None:
        stmt = update(admins).where(admins.c.id == admin_id).values(notify=notify)
        if self._conn.execute(stmt).rowcount == 0:
            raise NotFoundError(f"There is no admin with id {admin_id!r}; nothing was changed.")

    # sign-in attempts
    def add_login_attempt(self, attempt: LoginAttempt) -> None:
        self._conn.execute(
            insert(login_attempts).values(
                email=attempt.email,
                client=attempt.client,
                at=attempt.at,
                succeeded=attempt.succeeded,
            )
        )

    def count_login_failures(
        self, *, email: str | None, client: str | None, since: datetime
    ) -> int:
        """Failures since ``since``: for an email, only those after its last success."""
        where = [login_attempts.c.at >= since, login_attempts.c.succeeded.is_(False)]
        if email is not None:
            last_ok = select(func.max(login_attempts.c.at)).where(
                login_attempts.c.email == email, login_attempts.c.succeeded.is_(True)
            )
            ok_at = self._conn.execute(last_ok).scalar_one_or_none()
            where.append(login_attempts.c.email == email)
            if ok_at is not None:
                where.append(login_attempts.c.at > ok_at)
        if client is not None:
            where.append(login_attempts.c.client == client)
        stmt = select(func.count()).select_from(login_attempts).where(*where)
        return int(self._conn.execute(stmt).scalar_one())

    # web sessions
    def add_web_session(self, session: WebSession) -> None:
        self._conn.execute(
            insert(web_sessions).values(
                id_hash=session.id_hash,
                email=session.email,
                created_at=session.created_at,
                expires_at=session.expires_at,
            )
        )

    def get_web_session(self, id_hash: str) -> WebSession | None:
        row = self._conn.execute(
            select(web_sessions).where(web_sessions.c.id_hash == id_hash)
        ).first()
        if row is None:
            return None
        m = row._mapping
        return WebSession(m["id_hash"], m["email"], m["created_at"], m["expires_at"])

    def delete_web_session(self, id_hash: str) -> None:
        self._conn.execute(delete(web_sessions).where(web_sessions.c.id_hash == id_hash))

    # API tokens
    def add_api_token(self, token: ApiToken) -> None:
        self._conn.execute(
            insert(api_tokens).values(
                id=token.id,
                email=token.email,
                label=token.label,
                token_hash=token.token_hash,
                created_at=token.created_at,
                last_used_at=token.last_used_at,
                revoked_at=token.revoked_at,
            )
        )

    def api_token_by_hash(self, token_hash: str) -> ApiToken | None:
        stmt = select(api_tokens).where(api_tokens.c.token_hash == token_hash)
        row = self._conn.execute(stmt).first()
        return None if row is None else _token(row._mapping)

    def list_api_tokens(self, email: str) -> list[ApiToken]:
        stmt = (
            select(api_tokens)
            .where(api_tokens.c.email == email)
            .order_by(api_tokens.c.created_at.desc(), api_tokens.c.id)
        )
        return [_token(r._mapping) for r in self._conn.execute(stmt)]

    def revoke_api_token(self, token_id: str, at: datetime) -> bool:
        stmt = (
            update(api_tokens)
            .where(api_tokens.c.id == token_id, api_tokens.c.revoked_at.is_(None))
            .values(revoked_at=at)
        )
        return bool(self._conn.execute(stmt).rowcount)

    def touch_api_token(self, token_id: str, at: datetime) -> None:
        stmt = update(api_tokens).where(api_tokens.c.id == token_id).values(last_used_at=at)
        self._conn.execute(stmt)

    # invites
    def add_invite(self, invite: Invite) -> None:
        self._conn.execute(
            insert(admin_invites).values(
                token_hash=invite.token_hash,
                email=invite.email,
                created_at=invite.created_at,
                expires_at=invite.expires_at,
                used_at=invite.used_at,
            )
        )

    def get_invite(self, token_hash: str) -> Invite | None:
        stmt = select(admin_invites).where(admin_invites.c.token_hash == token_hash)
        row = self._conn.execute(stmt).first()
        if row is None:
            return None
        m = row._mapping
        return Invite(m["token_hash"], m["email"], m["created_at"], m["expires_at"], m["used_at"])

    def use_invite(self, token_hash: str, at: datetime) -> None:
        stmt = (
            update(admin_invites).where(admin_invites.c.token_hash == token_hash).values(used_at=at)
        )
        self._conn.execute(stmt)


def _token(m: Mapping[Any, Any]) -> ApiToken:
    return ApiToken(
        id=m["id"],
        email=m["email"],
        label=m["label"],
        token_hash=m["token_hash"],
        created_at=m["created_at"],
        last_used_at=m["last_used_at"],
        revoked_at=m["revoked_at"],
    )
