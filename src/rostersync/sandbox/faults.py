"""Injectable faults: the failures a Clever client must survive, on demand and countable.

A fault matches request paths by regular expression (``re.search`` on the path including
``/v3.0``) and fires for the next ``count`` matching requests (``-1``: forever). Faults are
checked in the order they were added; the first match wins. The queue is thread-safe: tests
add faults from their own thread while the server answers in another.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from rostersync.sandbox.answer import HTML, JSON, Answer, error_answer, html_page

# Kind -> the options it accepts.
FAULT_KINDS: dict[str, frozenset[str]] = {
    "400": frozenset({"message"}),
    "500": frozenset({"message"}),
    "501": frozenset({"message"}),
    "502": frozenset({"message"}),
    "503": frozenset({"message"}),
    "429": frozenset({"reset_in", "retry_after", "bucket", "limit"}),
    "slow": frozenset({"delay"}),
    "timeout": frozenset({"delay"}),
    "malformed_json": frozenset(),
    "html_error": frozenset({"status"}),
    "broken_next": frozenset({"mode"}),
    "empty_body": frozenset({"status", "content_type"}),
}
# Kinds whose answer is the normal answer, changed or delayed.
WRAPPING_KINDS = frozenset({"slow", "timeout", "malformed_json", "broken_next"})


@dataclass
class Fault:
    """One armed fault; ``remaining`` counts down to zero (``-1`` never runs out)."""

    path: str
    kind: str
    remaining: int
    opts: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.pattern = re.compile(self.path)

    def describe(self) -> dict[str, Any]:
        return {"path": self.path, "kind": self.kind, "count": self.remaining, **self.opts}

    @property
    def delay(self) -> float:
        default = 30.0 if self.kind == "timeout" else 1.0
        return float(self.opts.get("delay", default))


class FaultQueue:
    """The armed faults of one sandbox."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, path: str, kind: str, count: int = 1, **opts: Any) -> Fault:
        """Arm a fault for the next ``count`` requests whose path matches ``path``."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"Unknown fault kind {kind!r}; use one of {sorted(FAULT_KINDS)}.")
        unknown = set(opts) - FAULT_KINDS[kind]
        if unknown:
            raise ValueError(
                f"The fault kind {kind!r} takes no option(s) {sorted(unknown)}; "
                f"it accepts {sorted(FAULT_KINDS[kind])}."
            )
        if count == 0 or count < -1:
            raise ValueError("A fault count must be a positive number, or -1 for forever.")
        if kind == "broken_next" and opts.get("mode", "repeat") not in ("repeat", "bogus"):
            raise ValueError("The broken_next mode must be 'repeat' or 'bogus'.")
        try:
            re.compile(path)
        except re.error as error:
            raise ValueError(
                f"The fault path {path!r} is not a valid regular expression: {error}."
            ) from None
        fault = Fault(path, kind, count, dict(opts))
        with self._lock:
            self._faults.append(fault)
        return fault

    def take(self, path: str) -> Fault | None:
        """The first armed fault matching ``path``, used up by one; None when none matches."""
        with self._lock:
            for fault in self._faults:
                if fault.pattern.search(path):
                    if fault.remaining > 0:
                        fault.remaining -= 1
                        if fault.remaining == 0:
                            self._faults.remove(fault)
                    return fault
        return None

    def clear(self) -> None:
        """Disarm every fault."""
        with self._lock:
            self._faults.clear()

    def pending(self) -> list[dict[str, Any]]:
        """The armed faults, as JSON-ready dicts."""
        with self._lock:
            return [fault.describe() for fault in self._faults]

    def __len__(self) -> int:
        with self._lock:
            return len(self._faults)


def fault_answer(fault: Fault, error_style: str) -> Answer:
    """The answer of a fault that replaces the normal answer entirely."""
    kind, opts = fault.kind, fault.opts
    if kind == "429":
        reset = int(time.time()) + int(opts.get("reset_in", 1))
        headers = {
            "X-RateLimit-Reset": str(reset),
            "X-RateLimit-Limit": str(opts.get("limit", 1200)),
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Bucket": str(opts.get("bucket", "api")),
        }
        if "retry_after" in opts:
            headers["Retry-After"] = str(opts["retry_after"])
        return Answer(429, b"", None, headers)
    if kind == "html_error":
        status = int(opts.get("status", 500))
        return Answer(status, html_page(status), HTML)
    if kind == "empty_body":
        return Answer(int(opts.get("status", 500)), b"", opts.get("content_type", JSON))
    status = int(kind)
    message = opts.get("message") or f"The sandbox injected a {status} fault for this request."
    return error_answer(status, str(message), error_style)


def malformed(answer: Answer) -> Answer:
    """A 200 answer whose JSON body is cut in half (a truncated transfer)."""
    body = answer.body if len(answer.body) > 1 else b'{"data":[]}'
    return Answer(200, body[: max(1, len(body) // 2)], JSON)
