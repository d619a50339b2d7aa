"""What a sandbox endpoint answers, independent of the web framework that sends it.

Endpoints build an ``Answer`` (status, body bytes, headers); the server turns it into an
HTTP response. Keeping this framework-free lets the API logic be unit-tested without a
server and keeps Starlette at the edge.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import msgspec

JSON = "application/json"
HTML = "text/html; charset=utf-8"
ERROR_STYLES: tuple[str, ...] = ("message", "error", "empty", "html")

_REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Payload Too Large",
    429: "Too Many Requests",
    500: "Internal Server Error",
    501: "Not Implemented",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


class ApiError(Exception):
    """A request the API refuses; carries the HTTP status and a sentence for the body."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Answer:
    """One HTTP answer: status, body and headers (``media_type`` None sends no content type)."""

    status: int
    body: bytes = b""
    media_type: str | None = JSON
    headers: dict[str, str] = field(default_factory=dict)


def json_answer(value: object, status: int = 200) -> Answer:
    """A JSON answer encoding ``value``."""
    return Answer(status, msgspec.json.encode(value))


def html_page(status: int) -> bytes:
    """A small HTML error page, like a proxy or a wrong-token error returns."""
    reason = _REASONS.get(status, "Error")
    return (
        f"<html><head><title>{status} {reason}</title></head>"
        f"<body><h1>{status} {reason}</h1></body></html>"
    ).encode()


def error_answer(status: int, message: str, style: str = "message") -> Answer:
    """An error in the configured body style: ``message``/``error`` JSON, empty, or HTML."""
    if style == "error":
        return json_answer({"error": message}, status)
    if style == "empty":
        return Answer(status, b"", None)
    if style == "html":
        return Answer(status, html_page(status), HTML)
    return json_answer({"message": message}, status)
