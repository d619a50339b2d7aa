"""The deployment's secret: ``ROSTERSYNC_SECRET_KEY``, or a generated key file.

It signs session cookies (web) and, through a derived key, encrypts Clever tokens at rest
(``storage.crypto``).

Why a file when the variable is unset: sessions must survive a restart, and an operator of
the embedded default should not have to invent a key. The file is created once with owner-
only permissions (``ROSTERSYNC_SECRET_KEY_FILE``, default ``rostersync-secret.key`` in the
working directory) and reused from then on.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from rostersync.errors import ConfigurationError

MIN_KEY_LENGTH = 32


def load_secret_key(value: str | None, key_file: str) -> str:
    """The configured key, or the key file's (created on first use)."""
    if value:
        if len(value) < MIN_KEY_LENGTH:
            raise ConfigurationError(
                f"ROSTERSYNC_SECRET_KEY is too short: use at least {MIN_KEY_LENGTH} random "
                "characters (for example the output of 'python -c \"import secrets; "
                "print(secrets.token_urlsafe(48))\"')."
            )
        return value
    path = Path(key_file)
    if not path.exists():
        _create(path)
    key = path.read_text(encoding="utf-8").strip()
    if len(key) < MIN_KEY_LENGTH:
        raise ConfigurationError(
            f"The secret key file {path} holds no usable key. Delete it to have a new one "
            "generated (everyone will have to sign in again), or set ROSTERSYNC_SECRET_KEY."
        )
    return key


def _create(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return  # another process created it first; use theirs
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(secrets.token_urlsafe(48) + "\n")
