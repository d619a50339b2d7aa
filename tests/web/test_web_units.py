"""Small pure pieces of the web layer: the chart scale, the key file, times, redirects."""

from __future__ import annotations

import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest

from rostersync.errors import ConfigurationError
from rostersync.secret_key import load_secret_key
from rostersync.web.chart import nice_max
from rostersync.web.session import safe_next
from rostersync.web.templating import local_time


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0, 1), (1, 1), (2, 2), (3, 5), (7, 10), (10, 10), (11, 20), (350, 500), (1213, 2000)],
)
def test_chart_scale_rounds_up_to_1_2_or_5_times_a_power_of_ten(value: int, expected: int) -> None:
    assert nice_max(value) == expected


def test_a_generated_key_file_is_private_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "secret.key"
    first = load_secret_key(None, str(path))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(first) >= 32
    assert load_secret_key(None, str(path)) == first
    assert load_secret_key("x" * 40, str(path)) == "x" * 40


def test_a_short_or_empty_key_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="too short"):
        load_secret_key("short", str(tmp_path / "k"))
    empty = tmp_path / "empty.key"
    empty.write_text("\n")
    with pytest.raises(ConfigurationError, match="no usable key"):
        load_secret_key(None, str(empty))


def test_times_print_in_the_given_zone_with_a_machine_readable_value() -> None:
    moment = datetime(2024, 7, 1, 12, 30, tzinfo=UTC)
    assert str(local_time(moment, "America/New_York")) == (
        '<time datetime="2024-07-01T12:30:00+00:00">2024-07-01 08:30 EDT</time>'
    )
    assert "12:30 UTC" in str(local_time(moment, "Not/AZone"))
    assert str(local_time(None, "UTC", "never")) == "never"
    assert str(local_time(None, "UTC", "<b>")) == "&lt;b&gt;"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/schools/x?y=1", "/schools/x?y=1"),
        ("//evil.example", "/schools"),
        ("/\\evil.example", "/schools"),
        ("https://evil.example", "/schools"),
        ("", "/schools"),
        (None, "/schools"),
    ],
)
def test_only_local_paths_follow_sign_in(value: str | None, expected: str) -> None:
    assert safe_next(value) == expected
