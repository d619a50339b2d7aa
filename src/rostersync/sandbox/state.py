"""Everything one running sandbox knows: its district, tokens, faults and request log.

The sandbox serves one district per server. ``SandboxState`` adds to the district store and
its mutations what the HTTP layer needs: which bearer tokens are valid or revoked, the app's
client credentials for ``/oauth/tokens``, the armed faults, the error body style, and a log
of every request served (tests count requests with it).
"""

from __future__ import annotations

import hashlib
from typing import Any

from rostersync.sandbox.answer import ERROR_STYLES
from rostersync.sandbox.district import DistrictData
from rostersync.sandbox.faults import FaultQueue
from rostersync.sandbox.mutations import RosterMutations

DEFAULT_CLIENT_ID = "sandbox-client-id"
# A documented, public default for a local test fixture, not a secret.
DEFAULT_CLIENT_SECRET = "sandbox-client-secret"  # noqa: S105
TOKEN_CREATED = "2025-07-01T08:00:00.000Z"  # noqa: S105 (a timestamp)


class SandboxState(RosterMutations):
    """One district served by one sandbox, with its tokens, faults and request log."""

    def __init__(self, data: DistrictData, token: str | None = None) -> None:
        super().__init__(data)
        self.token = token or data.token
        self.tokens: dict[str, bool] = {self.token: True}
        self.faults = FaultQueue()
        self.request_log: list[tuple[str, str, str, int]] = []
        self.error_style = "message"
        self.client_id = str(data.meta.get("client_id", DEFAULT_CLIENT_ID))
        self.client_secret = str(data.meta.get("client_secret", DEFAULT_CLIENT_SECRET))
        self.meta = dict(data.meta)

    @classmethod
    def from_data(cls, data: DistrictData, token: str | None = None) -> SandboxState:
        """Serve ``data``; ``token`` overrides the district's own token."""
        return cls(data, token)

    # -- tokens --------------------------------------------------------------------------

    def token_valid(self, token: str) -> bool:
        """True when ``token`` is known and not revoked."""
        return self.tokens.get(token, False)

    def revoke_token(self, token: str) -> None:
        """Make a token answer 401 (the app was uninstalled or the token rotated)."""
        with self.lock:
            if token not in self.tokens:
                raise KeyError(
                    f"The sandbox does not know the token {token[:6]}...; nothing to revoke."
                )
            self.tokens[token] = False

    def restore_token(self, token: str) -> None:
        """Make a token valid again (adding it when it is new)."""
        with self.lock:
            self.tokens[token] = True

    def add_token(self, token: str | None = None) -> str:
        """Add another valid token for the district (a rotation); return it."""
        with self.lock:
            value = (
                token
                or hashlib.sha1(
                    f"{self.token}:{len(self.tokens)}".encode(), usedforsecurity=False
                ).hexdigest()
            )
            self.tokens[value] = True
            return value

    def token_records(self, district: str | None = None) -> list[dict[str, Any]]:
        """The ``/oauth/tokens`` records of the valid tokens (NOTES §1 shape)."""
        if district is not None and district != self.district_id:
            return []
        return [
            {
                "id": hashlib.sha1(token.encode(), usedforsecurity=False).hexdigest()[:24],
                "created": TOKEN_CREATED,
                "owner": {"type": "district", "id": self.district_id},
                "access_token": token,
                "scopes": [
                    "read:districts",
                    "read:schools",
                    "read:sections",
                    "read:students",
                    "read:teachers",
                    "read:student_contacts",
                    "read:district_admins",
                    "read:school_admins",
                    "read:resources",
                    "read:user_id",
                ],
            }
            for token, valid in self.tokens.items()
            if valid
        ]

    # -- settings and introspection --------------------------------------------------------

    def set_error_style(self, style: str) -> None:
        """Choose error bodies: ``message`` / ``error`` JSON, ``empty``, or ``html``."""
        if style not in ERROR_STYLES:
            raise ValueError(f"The error style must be one of {ERROR_STYLES}, not {style!r}.")
        self.error_style = style

    def log_request(self, method: str, path: str, query: str, status: int) -> None:
        self.request_log.append((method, path, query, status))

    def summary(self) -> dict[str, Any]:
        """Counts, schools, tokens and faults, for ``GET /_sandbox/state``."""
        with self.lock:
            hidden = self.hidden()
            district = self.district()
            return {
                "district": {
                    "id": self.district_id,
                    "name": district.get("name"),
                    "state": district.get("state"),
                    "error": district.get("error"),
                },
                "counts": {kind: len(table) for kind, table in self.tables.items()},
                "visible_counts": {
                    kind: len(table) - sum(1 for rid in hidden if rid in table)
                    for kind, table in self.tables.items()
                },
                "schools": [
                    {"id": school_id, "shared": school_id not in self.unshared}
                    for school_id in self.tables["schools"].ids
                ],
                "tokens": [{"token": t, "valid": v} for t, v in self.tokens.items()],
                "events": len(self.events),
                "faults": self.faults.pending(),
                "requests": len(self.request_log),
                "error_style": self.error_style,
            }
