"""Where fetch caches go (``ROSTERSYNC_FETCH_CACHE_DIR``): the setting, else next to a
SQLite database, else the user's cache directory; "off" keeps none."""

from __future__ import annotations

import pytest

from rostersync.storage.staging_file import cache_path, fetch_cache_dir


def test_a_sqlite_store_keeps_its_caches_next_to_its_file() -> None:
    assert fetch_cache_dir(None, "sqlite:///data/rostersync.db") == "data/rostersync.db.fetch"
    assert fetch_cache_dir("", "sqlite:////srv/rs.db") == "/srv/rs.db.fetch"


def test_an_in_memory_sqlite_store_keeps_none() -> None:
    assert fetch_cache_dir(None, "sqlite://") is None
    assert fetch_cache_dir(None, "sqlite:///:memory:") is None


def test_a_postgresql_store_uses_the_users_cache_directory(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", "/var/cache/app")
    url = "postgresql+psycopg://rs@db/rostersync"
    assert fetch_cache_dir(None, url) == "/var/cache/app/rostersync/fetch"


def test_the_setting_wins_and_off_disables() -> None:
    assert fetch_cache_dir(" /fast/disk ", "sqlite:///x.db") == "/fast/disk"
    assert fetch_cache_dir("off", "sqlite:///x.db") is None
    assert fetch_cache_dir("OFF", "postgresql+psycopg://rs@db/x") is None


def test_each_store_and_district_has_its_own_file() -> None:
    one = cache_path("/c", "postgresql+psycopg://rs@db/a", "dst_1")
    assert one.startswith("/c/dst_1-") and one.endswith(".db")
    assert one != cache_path("/c", "postgresql+psycopg://rs@db/b", "dst_1")
    assert one != cache_path("/c", "postgresql+psycopg://rs@db/a", "dst_2")
    assert "/" not in cache_path("/c", "x", "../../etc/passwd")[len("/c/") :]
