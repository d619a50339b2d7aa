"""``CleverSource``: a district's roster from the Clever Data API v3.0, as a ``RosterSource``.

The composition of the other modules: ``transport`` (one retried, classified GET),
``paging`` (a trustworthy page chain), ``stream`` (per-item decoding, duplicates) and
``mapping`` (wire → records). Every list is streamed page by page in Clever's id order; a
list that cannot be read whole raises a ``SourceError`` instead of ending early.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import Protocol
from urllib.parse import quote

import httpx
import msgspec

from rostersync.domain.records import (
    CourseRecord,
    DistrictRecord,
    RawItem,
    RowProblem,
    SchoolRecord,
    SectionRecord,
    Severity,
    TermRecord,
    UserRecord,
)
from rostersync.errors import ConfigurationError, FatalSourceError, NotSharedError
from rostersync.sources.clever import mapping, wire
from rostersync.sources.clever.paging import iter_pages, list_uri
from rostersync.sources.clever.retry import RetryPolicy
from rostersync.sources.clever.stream import Convert, R, RawPage, convert_one, item_pages, records
from rostersync.sources.clever.transport import CleverHttp

MAX_PAGE_SIZE = 10_000
_PAGE = msgspec.json.Decoder(wire.Page)
_DISTRICT = msgspec.json.Decoder(wire.DistrictItem)
_SINGLE = msgspec.json.Decoder(wire.Single)
_ID = msgspec.json.Decoder(wire.IdItem)


class CleverSettings(Protocol):
    """The settings ``from_settings`` reads (``rostersync.settings.Settings`` has them)."""

    @property
    def clever_base_url(self) -> str: ...
    @property
    def page_size(self) -> int: ...
    @property
    def http_timeout_s(self) -> float: ...
    @property
    def retry_attempts(self) -> int: ...
    @property
    def retry_base_delay_s(self) -> float: ...
    @property
    def retry_max_total_s(self) -> float: ...


class CleverSource:
    """One district's roster, read with its district-app token.

    ``base_url`` is the API origin (``https://api.clever.com`` or a sandbox such as
    ``http://127.0.0.1:8765``); paths under ``/v3.0`` are added here. ``transport``,
    ``sleep``, ``clock``, ``wall_clock`` and ``rng`` exist for tests.
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        transport: httpx.BaseTransport | None = None,
        page_size: int = MAX_PAGE_SIZE,
        retry: RetryPolicy | None = None,
        timeout: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ) -> None:
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ConfigurationError(
                f"The Clever page size must be between 1 and {MAX_PAGE_SIZE}, not {page_size}."
            )
        self._page_size = page_size
        self._http = CleverHttp(
            base_url,
            token,
            transport=transport,
            retry=retry or RetryPolicy(),
            timeout=timeout,
            sleep=sleep,
            clock=clock,
            wall_clock=wall_clock,
            rng=rng,
        )

    @classmethod
    def from_settings(
        cls,
        settings: CleverSettings,
        token: str,
        *,
        base_url: str | None = None,
        page_size: int | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> CleverSource:
        """Build a source with the deployment's timeouts, retry budget and page size."""
        retry = RetryPolicy(
            attempts=settings.retry_attempts,
            base_delay=settings.retry_base_delay_s,
            max_total=settings.retry_max_total_s,
        )
        return cls(
            base_url or settings.clever_base_url,
            token,
            transport=transport,
            page_size=page_size or settings.page_size,
            retry=retry,
            timeout=settings.http_timeout_s,
        )

    @property
    def requests_made(self) -> int:
        """HTTP requests sent so far, retries included."""
        return self._http.requests_made

    def district(self) -> DistrictRecord:
        """The token's district (``GET /v3.0/districts`` lists exactly that one).

        Its ``state`` and ``error`` are returned as sent: a district in ``error`` or
        ``paused`` state is for the service to judge, not a failure to read.
        """
        uri = "/v3.0/districts"
        page = self._http.get(uri, _PAGE.decode)
        if not page.data:
            raise NotSharedError(
                f"GET {uri} listed no district: the token's district no longer shares data "
                "with the app. Check the app's installation for this district in Clever.",
                status=200,
                path=uri,
            )
        if len(page.data) > 1:
            raise FatalSourceError(
                f"GET {uri} listed {len(page.data)} districts, but a district-app token sees "
                "exactly one. Use the district's own token, not an app-level credential.",
                status=200,
                path=uri,
            )
        return self._district_record(uri, page.data[0])

    def _district_record(self, uri: str, raw: bytes) -> DistrictRecord:
        try:
            district = _DISTRICT.decode(raw).data
        except msgspec.DecodeError as exc:
            district, detail = None, f" ({exc})"
        else:
            detail = ""
        if district is None or not district.id:
            raise FatalSourceError(
                f"GET {uri} returned a district record without an id{detail}, so the district "
                "cannot be identified. Report it to Clever support.",
                status=200,
                path=uri,
            )
        return mapping.map_district(district)

    def schools(self) -> Iterator[SchoolRecord | RowProblem]:
        return self._list("schools", "school", mapping.convert_school)

    def users(self) -> Iterator[UserRecord | RowProblem]:
        """Every person of every role, in one id-ordered stream (no ``role`` filter)."""
        return self._list("users", "user", mapping.convert_user)

    def user_pages(self, mapped: bool = False) -> Iterator[RawPage[RawItem]]:
        """The users of ``users`` page by page, as raw items with only their ids read, for
        ``map_user`` to map (those that changed since the district's last fetch); with
        ``mapped``, each item mapped as it is read."""
        pages = iter_pages(self._http, list_uri("users", self._page_size))
        if mapped:
            convert, clean = mapping.convert_user_mapped, mapping.convert_user_mapped_clean
            return item_pages(pages, "user", convert, _item_id, clean)
        return item_pages(pages, "user", mapping.convert_user_item, _item_id)

    def map_user(self, raw: bytes, problems: list[RowProblem]) -> UserRecord | None:
        """The record of a user item, its row problems appended to ``problems``; ``None``
        with the reason there when it cannot be used (an item of the wrong shape too)."""
        return convert_one(raw, "user", mapping.convert_user, problems)

    def sections(self) -> Iterator[SectionRecord | RowProblem]:
        return self._list("sections", "section", mapping.convert_section)

    def section_pages(self) -> Iterator[RawPage[SectionRecord]]:
        """The sections of ``sections`` page by page, each page (or chunk of one) mapped
        only when its items are read: one that came back as the last fetch staged it is
        passed over unread."""
        pages = iter_pages(self._http, list_uri("sections", self._page_size))
        convert, clean = mapping.convert_section, mapping.convert_section_clean
        return item_pages(pages, "section", convert, _item_id, clean)

    def terms(self) -> Iterator[TermRecord | RowProblem]:
        return self._list("terms", "term", mapping.convert_term)

    def courses(self) -> Iterator[CourseRecord | RowProblem]:
        return self._list("courses", "course", mapping.convert_course)

    def school(self, school_id: str) -> SchoolRecord:
        """One school; ``NotSharedError`` if it was unshared from the app or deleted."""
        return self._single("schools", school_id, mapping.convert_school)

    def user(self, user_id: str) -> UserRecord:
        """One user; ``NotSharedError`` if it was unshared from the app or deleted."""
        return self._single("users", user_id, mapping.convert_user)

    def section(self, section_id: str) -> SectionRecord:
        """One section; ``NotSharedError`` if it was unshared from the app or deleted."""
        return self._single("sections", section_id, mapping.convert_section)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> CleverSource:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _list(self, path: str, entity: str, convert: Convert[R]) -> Iterator[R | RowProblem]:
        pages = iter_pages(self._http, list_uri(path, self._page_size))
        return records(pages, entity, convert)

    def _single(self, path: str, record_id: str, convert: Convert[R]) -> R:
        uri = f"/v3.0/{path}/{quote(record_id, safe='')}"
        body = self._http.get(uri, _checked_single, single=True)
        problems: list[RowProblem] = []
        try:
            record = convert(body, problems)
        except msgspec.DecodeError as exc:
            problems.append(RowProblem(Severity.ERROR, path, record_id, "undecodable", str(exc)))
            record = None
        if record is None:
            reasons = " ".join(p.message for p in problems) or "It has no usable data."
            raise FatalSourceError(
                f"GET {uri} returned a record that cannot be used: {reasons}",
                status=200,
                path=uri,
            )
        return record


def _checked_single(body: bytes) -> bytes:
    """Check the ``{"data": {...}}`` envelope inside the retry loop; map the record outside."""
    _SINGLE.decode(body)
    return body


def _item_id(raw: bytes) -> str:
    """An item's id, or ``""`` when the item is not of the right shape."""
    try:
        item = _ID.decode(raw).data
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        return ""
    return item.id if item is not None and item.id else ""
