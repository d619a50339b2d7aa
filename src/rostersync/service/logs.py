"""Logging for operators: plain or JSON lines, with job and run ids, without secrets or PII.

``configure_logging`` is called by entry points (worker, beat, CLI); the service layer only
logs through ``logging.getLogger("rostersync...")`` with ids in ``extra``. Every record gets
the ids bound for the current job (``bind``), and passes a redaction filter that masks bearer
tokens, passwords in URLs and ``token=``/``password=`` pairs, in case an error message from a
library carries one. Student and contact names are never logged on purpose: log lines carry
ids and counts only.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

FIELDS = (
    "job_id",
    "job",
    "district_id",
    "school_id",
    "run_id",
    "trigger",
    "action",
    "outcome",
    "hold_kind",
    "result",
    "duration_s",
    "rows_written",
)
_context: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "rostersync_log_context", default=None
)
_SECRETS = (
    (re.compile(r"(?i)(bearer\s+)[^\s'\"]+"), r"\1***"),
    (
        re.compile(
            r"(?i)((?:token|password|passwd|secret|api_key)[\"']?\s*[=:]\s*[\"']?)[^\s&'\",]+"
        ),
        r"\1***",
    ),
    (re.compile(r"(//[^/:@\s]+:)[^@/\s]+@"), r"\1***@"),
)


def redact(text: str) -> str:
    """Mask anything that looks like a credential."""
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


@contextmanager
def bind(**fields: Any) -> Iterator[None]:
    """Attach ids (job, district, school, ...) to every record logged inside the block."""
    current = _context.get() or {}
    token = _context.set({**current, **{k: v for k, v in fields.items() if v is not None}})
    try:
        yield
    finally:
        _context.reset(token)


class ContextFilter(logging.Filter):
    """Adds the bound ids to each record and redacts its message."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in (_context.get() or {}).items():
            if not hasattr(record, key):
                setattr(record, key, value)
        message = redact(record.getMessage())
        record.msg, record.args = message, None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and the ids that are set."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in FIELDS:
            value = getattr(record, key, None)
            if value is not None:
                data[key] = value
        if record.exc_text:
            data["exception"] = record.exc_text
        return json.dumps(data, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """A readable line with the ids that are set appended as key=value."""

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        ids = " ".join(
            f"{k}={getattr(record, k)}" for k in FIELDS if getattr(record, k, None) is not None
        )
        return f"{line} {ids}" if ids else line


def configure_logging(*, json_lines: bool, level: str = "INFO") -> None:
    """Send every log record to stderr, as JSON lines or text, through the redaction filter."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(ContextFilter())
    if json_lines:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(TextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # One line per HTTP request to Clever is noise at INFO; failures surface as run errors.
    logging.getLogger("httpx").setLevel(max(logging.WARNING, root.level))
