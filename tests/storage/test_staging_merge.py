"""``PreviousUsers``: the previous fetch's (id, hash) pairs read alongside a new fetch,
exactly: which stored ids it finds, passes over, and hands over as gone."""

from __future__ import annotations

import sqlite3

import pytest

from rostersync.storage import staging_merge
from rostersync.storage import staging_sql as q
from rostersync.storage.staging_file import run
from rostersync.storage.staging_merge import PreviousUsers


def _stored(*ids: str) -> sqlite3.Connection:
    """A staging file's tables (the project's own schema) holding these users."""
    db = sqlite3.connect(":memory:", isolation_level=None)
    db.execute("ATTACH DATABASE ':memory:' AS f")
    run(db, q.USER_SCHEMA + q.READ_INDEXES + q.FETCH_SCHEMA)
    db.executemany("INSERT INTO users VALUES (?, ?, 0, 1, 0, x'')", [(i, ord(i[-1])) for i in ids])
    return db


class _Merge:
    def __init__(self, *ids: str) -> None:
        self.db = _stored(*ids)
        self.gone: list[str] = []
        self.previous = PreviousUsers(self.db, self.gone.append, lambda _id: None)

    def all_gone(self) -> list[str]:
        """Handed over one by one, and those the merge put in ``f.gone`` itself."""
        rows = self.db.execute("SELECT id FROM f.gone ORDER BY id").fetchall()
        return sorted([*self.gone, *(r[0] for r in rows)])


@pytest.fixture(autouse=True)
def _small_window(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(staging_merge, "_WINDOW", 2)


def test_a_run_passed_over_past_the_window_is_found_by_one_seek() -> None:
    merge = _Merge("a", "b", "c", "d", "e", "f")
    assert merge.previous.hash_of("a") == ord("a")  # window: a, b
    assert merge.previous.hash_of("b") == ord("b")
    assert merge.previous.skip("c", "e")  # past the window: c is the next stored id
    assert merge.previous.hash_of("f") == ord("f")
    merge.previous.finish()
    assert merge.all_gone() == []


def test_stored_ids_between_the_window_and_a_run_passed_over_are_gone() -> None:
    merge = _Merge("a", "b", "c", "d", "e", "f")
    assert merge.previous.hash_of("a") == ord("a")
    assert merge.previous.hash_of("b") == ord("b")
    assert merge.previous.skip("e", "e")  # c and d were not listed
    merge.previous.finish()
    assert merge.all_gone() == ["c", "d", "f"]


@pytest.mark.parametrize("first", ["bb", "g"])
def test_a_run_whose_first_id_is_not_stored_is_not_passed_over(first: str) -> None:
    merge = _Merge("a", "b", "c", "d")
    assert merge.previous.hash_of("a") == ord("a")
    assert merge.previous.hash_of("b") == ord("b")
    assert not merge.previous.skip(first, first + "z")
    assert merge.previous.hash_of("c") == ord("c")  # nothing was taken for gone meanwhile
    merge.previous.finish()
    assert merge.all_gone() == ["d"]


def test_nothing_is_passed_over_once_every_stored_id_was_read() -> None:
    merge = _Merge("a")
    assert merge.previous.hash_of("a") == ord("a")
    assert merge.previous.hash_of("b") is None  # reads on: the store is used up
    assert not merge.previous.skip("c", "d")
