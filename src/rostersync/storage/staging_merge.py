"""The previous fetch's users, read in id order alongside a new fetch (``storage.staging``).

Clever lists users sorted by id, so the stored (id, hash) pairs can be read in the same
order, a window at a time, and matched to the new items like the two halves of a merge sort:
memory holds one window, never the district. A stored id the merge steps over was not in
the new fetch (it is *gone*, unless it turns up later out of order). An item whose id is
not above the last one merged came out of order; it is looked up on its own.
"""

from __future__ import annotations

import sqlite3
from bisect import bisect_right
from collections.abc import Callable
from operator import itemgetter

from rostersync.storage import staging_sql as q

# Stored (id, hash) pairs read at a time. A window holds the changed run of items (a chunk,
# 16 items on average) that asked for it, and the runs after it that the fetch passes over
# (``skip``) cost nothing more until it is used up; past it, each such run costs one index
# seek. A 1 % resync at R1M has a changed item in about one chunk in seven: windows of
# 10,000 read every stored pair (3.26 M), windows of 32 a quarter of them (0.84 M).
_WINDOW = 32
_id = itemgetter(0)


class PreviousUsers:
    """Answers ``hash_of(id)`` for ids asked in (mostly) ascending order."""

    def __init__(
        self,
        db: sqlite3.Connection,
        gone: Callable[[str], None],
        back: Callable[[str], None],
    ) -> None:
        self._db = db
        self._gone = gone
        self._back = back
        self._rows: list[tuple[str, int]] = []
        self._i = 0
        self._last = ""  # the last id read from the store
        self._done = False  # every stored id has been read
        self._position = ""  # the highest id asked for so far
        self.disordered = False  # an id was asked for out of order

    def hash_of(self, user_id: str) -> int | None:
        """The stored hash of ``user_id``, or ``None`` if the previous fetch lacked it.
        Every stored id below it that was never asked for is handed to ``gone``."""
        if user_id <= self._position:
            return self._out_of_order(user_id)
        self._position = user_id
        while True:
            rows, i = self._rows, self._gone_below(user_id)
            count = len(rows)
            if i < count:
                found_id, found = rows[i]
                if found_id != user_id:
                    return None
                self._i = i + 1
                return found
            if not self._read():
                return None

    def skip(self, first: str, last: str) -> bool:
        """Pass over the stored ids from ``first`` to ``last`` (a page the fetch holds
        unchanged) without reading them; those below ``first`` never asked for are gone.
        False (nothing passed over) if ``first`` was asked for or is not stored."""
        if first <= self._position:
            return False
        rows, i = self._rows, self._gone_below(first)
        count = len(rows)
        if i < count:
            if rows[i][0] != first:
                return False
            i = bisect_right(rows, last, i, key=_id)
            self._i = i
            if i == count and not self._done:
                self._last = max(self._last, last)
        else:
            # The window is used up: rather than reading the page's ids, find the stored id
            # after the window; usually ``first`` itself, else those below ``first`` are gone
            # (if ``first`` is stored at all). The users this fetch added so far all sort at
            # or below ``_last`` (see ``_read``), so they are not found for stored.
            if self._done:
                return False
            after = self._db.execute(q.NEXT_ID, (self._last,)).fetchone()
            if after is None or after[0] > first:
                return False
            if after[0] < first:
                if self._db.execute(q.PREVIOUS_HASH, (first,)).fetchone() is None:
                    return False
                self._db.execute(q.GONE_BETWEEN, (self._last, first))
            self._rows, self._i, self._last = [], 0, last
        self._position = last
        return True

    def _gone_below(self, user_id: str) -> int:
        """Hand the window's ids below ``user_id`` to ``gone``; the index of the next row."""
        rows, i = self._rows, self._i
        count = len(rows)
        while i < count and rows[i][0] < user_id:
            self._gone(rows[i][0])
            i += 1
        self._i = i
        return i

    def finish(self) -> None:
        """The stored ids never reached are gone."""
        for user_id, _ in self._rows[self._i :]:
            self._gone(user_id)
        self._rows, self._i = [], 0
        if not self._done:
            # Rows added during the fetch all sort at or below ``_last`` (see ``_read``).
            self._db.execute(q.BEYOND, (self._last,))
            self._done = True

    def _read(self) -> bool:
        """The next window. Once the store is exhausted it is never read again: users the
        fetch adds meanwhile sort above the last stored id and must not pass for stored."""
        if self._done:
            return False
        rows = self._db.execute(q.WINDOW, (self._last, _WINDOW)).fetchall()
        if not rows:
            self._done = True
            return False
        self._rows, self._i, self._last = rows, 0, rows[-1][0]
        return True

    def _out_of_order(self, user_id: str) -> int | None:
        self.disordered = True
        self._back(user_id)
        row = self._db.execute(q.PREVIOUS_HASH, (user_id,)).fetchone()
        return None if row is None else int(row[0])
