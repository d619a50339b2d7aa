"""Encrypt secrets at rest: Clever district tokens are stored encrypted, never in the clear.

The key is derived (HKDF-SHA256) from the deployment's secret, so one secret serves the
cookies and the tokens without the two uses ever sharing a key. Rotation: set the new secret
in ``ROSTERSYNC_SECRET_KEY`` and the old one in ``ROSTERSYNC_SECRET_KEY_PREVIOUS``, then run
``rostersync init``: every token is decrypted with whichever key fits and re-encrypted with
the new one (``MultiFernet``).
"""

from __future__ import annotations

import base64
from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from rostersync.errors import ConfigurationError

PREFIX = "fernet:"
_INFO = b"rostersync clever-token encryption v1"


def derive_key(secret: str) -> bytes:
    """A Fernet key for token encryption, derived from the deployment's secret."""
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(
        secret.encode("utf-8")
    )
    return base64.urlsafe_b64encode(raw)


class TokenCipher:
    """Encrypts with the current secret; decrypts with the current or a previous one."""

    def __init__(self, secret: str, previous: Sequence[str] = ()) -> None:
        self._current = Fernet(derive_key(secret))
        self._fernet = MultiFernet([self._current, *(Fernet(derive_key(p)) for p in previous if p)])

    def encrypt(self, plaintext: str) -> str:
        if not plaintext:
            return ""
        return PREFIX + self._fernet.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def decrypt(self, stored: str) -> str:
        """The token; a value stored before encryption existed is returned as it is."""
        if not stored.startswith(PREFIX):
            return stored
        try:
            return self._fernet.decrypt(stored[len(PREFIX) :].encode("ascii")).decode("utf-8")
        except InvalidToken:
            raise ConfigurationError(
                "A stored Clever token cannot be decrypted with the current secret key. "
                "If the key was changed, put the old one in ROSTERSYNC_SECRET_KEY_PREVIOUS "
                "and run 'rostersync init' to re-encrypt the tokens."
            ) from None

    def reencrypt(self, stored: str) -> str:
        """The value encrypted with the current key (legacy plaintext included); a value the
        current key already opens is returned unchanged."""
        if not stored:
            return stored
        if stored.startswith(PREFIX):
            try:
                self._current.decrypt(stored[len(PREFIX) :].encode("ascii"))
            except InvalidToken:
                pass
            else:
                return stored
        return self.encrypt(self.decrypt(stored))
