"""Internal ids: short, prefixed, random. Prefixes make logs and URLs self-explaining."""

from __future__ import annotations

import uuid


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:16]}"
