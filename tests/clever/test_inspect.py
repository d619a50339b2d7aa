"""The inspect use case: counts per kind, requests and row problems, streamed."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from rostersync.domain.records import Severity
from rostersync.errors import ConfigurationError, TransientSourceError
from rostersync.service.inspect import PROGRESS_EVERY, RosterCounts, inspect_district
from rostersync.settings import Settings
from rostersync.sources.clever import CleverSource, RetryPolicy

from .fakes import TOKEN, FakeClever, oid, student, teacher

SourceFactory = Callable[..., CleverSource]


@pytest.fixture
def small_district(clever: FakeClever) -> FakeClever:
    rels = [{"student": oid(10), "relationship": "Parent", "type": "Parent/Guardian"}]
    clever.records["schools"] = [{"id": oid(1), "name": "A"}, {"id": oid(2), "name": "B"}]
    clever.records["users"] = [
        student(10),
        student(11),
        teacher(20),
        {**teacher(21), "roles": {"teacher": {"school": oid(1)}, "contact": {}}},
        {"id": oid(30), "roles": {"staff": {"schools": [oid(2)]}, "district_admin": {}}},
        {"id": oid(40), "roles": {"contact": {"student_relationships": rels}}},
        {**student(12), "id": None},
    ]
    clever.records["sections"] = [
        {"id": oid(50), "school": oid(1), "students": [oid(10), oid(11)], "teachers": [oid(20)]},
        {"id": oid(51), "school": oid(2), "students": [oid(10)], "subject": "pottery"},
    ]
    clever.records["terms"] = [{"id": oid(60)}]
    clever.records["courses"] = [{"id": oid(70)}, {"id": oid(71)}]
    return clever


def test_counts_every_kind_and_each_role_of_a_multi_role_user(
    small_district: FakeClever, make_source: SourceFactory
) -> None:
    report = inspect_district(make_source())

    assert report.counts == RosterCounts(
        schools=2, students=2, teachers=2, staff=1, contacts=2, district_admins=1,
        sections=2, enrollments=3, terms=1, courses=2,
    )  # fmt: skip
    assert (report.district_id, report.district_name, report.district_state) == (
        oid(999), "Test District", "running",
    )  # fmt: skip
    # One request for the district, then one page for each of the five lists.
    assert report.requests == 6
    assert [(p.severity, p.code) for p in report.problems] == [
        (Severity.ERROR, "missing_id"),
        (Severity.ALERT, "unknown_enum"),
    ]
    assert (report.errors, report.alerts) == (1, 1)


def test_json_shape_is_stable(small_district: FakeClever, make_source: SourceFactory) -> None:
    shape = inspect_district(make_source()).to_dict()

    assert list(shape) == ["district", "counts", "requests", "problems"]
    assert shape["district"] == {"id": oid(999), "name": "Test District", "state": "running"}
    assert list(shape["counts"]) == [  # type: ignore[call-overload]
        "schools", "students", "teachers", "staff", "contacts", "district_admins",
        "sections", "enrollments", "terms", "courses",
    ]  # fmt: skip
    assert shape["problems"][0] == {  # type: ignore[index]
        "severity": "error",
        "entity": "user",
        "source_id": "",
        "code": "missing_id",
        "message": shape["problems"][0]["message"],  # type: ignore[index]
    }


def test_reports_progress_per_list(clever: FakeClever, make_source: SourceFactory) -> None:
    clever.records["users"] = [student(n) for n in range(1, PROGRESS_EVERY * 2 + 6)]
    calls: list[tuple[str, int]] = []

    inspect_district(make_source(page_size=700), lambda name, n: calls.append((name, n)))

    assert calls == [
        ("schools", 0),
        ("users", PROGRESS_EVERY),
        ("users", PROGRESS_EVERY * 2),
        ("users", PROGRESS_EVERY * 2 + 5),
        ("sections", 0),
        ("terms", 0),
        ("courses", 0),
    ]


def test_a_failing_list_fails_the_inspection(
    small_district: FakeClever, make_source: SourceFactory
) -> None:
    small_district.fail("/v3.0/sections", httpx.Response(503), count=3)

    with pytest.raises(TransientSourceError):
        inspect_district(make_source(retry=RetryPolicy(attempts=3)))


def test_inspect_only_streams(make_source: SourceFactory) -> None:
    """Inspect pulls each list through once; it never asks for a list twice."""

    class CountingSource:
        def __init__(self, inner: CleverSource) -> None:
            self.inner = inner
            self.calls: list[str] = []

        def __getattr__(self, name: str) -> object:
            self.calls.append(name)
            return getattr(self.inner, name)

    wrapper = CountingSource(make_source())
    inspect_district(wrapper)  # type: ignore[arg-type]

    assert wrapper.calls == [
        "district", "schools", "users", "sections", "terms", "courses", "requests_made",
    ]  # fmt: skip


def test_from_settings_uses_the_deployment_knobs(clever: FakeClever) -> None:
    settings = Settings(
        clever_base_url="https://clever.test",
        page_size=3,
        http_timeout_s=4.0,
        retry_attempts=2,
        retry_base_delay_s=0.0,
    )
    clever.records["terms"] = [{"id": oid(n)} for n in range(7)]
    clever.fail("/v3.0/terms", httpx.Response(500), count=5)
    source = CleverSource.from_settings(settings, TOKEN, transport=clever.transport())

    with pytest.raises(TransientSourceError, match="failed 2 time"):
        list(source.terms())
    assert clever.paths()[0] == "/v3.0/terms?limit=3"


@pytest.mark.parametrize("page_size", [0, 10_001])
def test_page_size_must_be_between_1_and_10000(page_size: int) -> None:
    with pytest.raises(ConfigurationError, match="between 1 and 10000"):
        CleverSource("https://clever.test", "t", page_size=page_size)
