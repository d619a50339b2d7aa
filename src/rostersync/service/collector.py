"""How the cyclic garbage collector runs during a sync.

A sync allocates millions of short-lived objects (pages' items, records, roster rows,
changes) that form no cycles. At the default thresholds the collector runs thousands of
times, and each full collection walks every object the process holds, most of them made
before the sync began (modules, SQLAlchemy's metadata, the web app): about 70,000 objects,
70 ms a full collection on a slow machine, 0.55 s of a 200k-student 1 % resync (5 % of it).

For the length of a sync (``sync_collections``):

- the objects that exist when it starts are frozen (``gc.freeze``): no collection walks
  them; they go back to the oldest generation when the last running sync ends (syncs may
  run in several threads of one process, so the freeze is counted);
- collections run less often (``THRESHOLDS``). The one garbage that needs the collector
  soon is an HTTP response, which sits in a reference cycle holding a whole page: the
  transport collects the young generations after every request
  (``sources.clever.transport``), so the pages do not pile up.

The collector still runs; nothing it would free is kept past the sync.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager

# Young-generation allocations between collections, and the two older generations' counts.
THRESHOLDS = (100_000, 50, 50)


class _Freeze:
    """``gc.freeze`` held by the syncs running in this process, counted."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running = 0
        self._thresholds = gc.get_threshold()  # as they were before the first sync began

    @contextmanager
    def held(self) -> Iterator[None]:
        with self._lock:
            # Each sync freezes what exists when it starts (another sync's objects too).
            gc.freeze()
            if self._running == 0:
                self._thresholds = gc.get_threshold()
                gc.set_threshold(*THRESHOLDS)
            self._running += 1
        try:
            yield
        finally:
            with self._lock:
                self._running -= 1
                if self._running == 0:
                    # The young generations first, while the heap is still frozen: at the
                    # default thresholds again, the next allocation would otherwise start a
                    # collection of every generation, the whole unfrozen heap included.
                    gc.collect(1)
                    gc.set_threshold(*self._thresholds)
                    gc.unfreeze()


_FREEZE = _Freeze()


def sync_collections() -> AbstractContextManager[None]:
    """The collector as a sync wants it, for the ``with`` block (see the module)."""
    return _FREEZE.held()
