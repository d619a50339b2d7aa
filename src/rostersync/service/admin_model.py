"""Values for administrators' access (sign-in, sessions, API tokens, invites) and the log of
district settings changes.

They are separate from ``model`` because they belong to the dashboard and API features, not
to syncing; like ``model`` they are plain frozen dataclasses any store can hold. Secrets
(session ids, API tokens, invite tokens) are never stored: only their SHA-256 digests.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class LoginAttempt:
    """One sign-in attempt, kept for throttling (who tried, from where, and whether it worked)."""

    email: str
    client: str
    at: datetime
    succeeded: bool


@dataclass(frozen=True, slots=True)
class WebSession:
    """A signed-in browser. ``id_hash`` is the digest of the secret the cookie carries."""

    id_hash: str
    email: str
    created_at: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class ApiToken:
    """A per-admin API token; the token itself is shown once and only its digest is kept."""

    id: str
    email: str
    label: str
    token_hash: str
    created_at: datetime
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True, slots=True)
class Invite:
    """A one-time link that lets an administrator choose a password."""

    token_hash: str
    email: str
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class SettingsChange:
    """One changed district setting: who changed which field, from what to what."""

    district_id: str
    actor: str
    at: datetime
    field: str
    old_value: str
    new_value: str
