"""The in-process scheduler beside the web server: a thread that runs ``run_due`` every tick.

A thread rather than an asyncio task because a sync is blocking work (HTTP to Clever, SQL);
on the event loop it would stall every page. The app's lifespan starts it and stops it:
``stop`` wakes the thread at once and waits for the tick in progress to finish (a sync
commits per school, so stopping between ticks never leaves half a school written).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from rostersync.errors import RostersyncError
from rostersync.service.context import Services
from rostersync.service.schedule import TickReport, run_due

log = logging.getLogger("rostersync.scheduler")


class BackgroundScheduler:
    """Runs due syncs every ``tick_s`` seconds in a daemon thread until stopped."""

    def __init__(
        self,
        services: Services,
        tick_s: float,
        on_tick: Callable[[TickReport], None] | None = None,
    ) -> None:
        self.services = services
        self.tick_s = tick_s
        self.on_tick = on_tick
        self.ticks = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="rostersync-scheduler", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 60.0) -> None:
        """Ask the thread to stop and wait for the current tick to end."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._tick()
            self._stop.wait(self.tick_s)

    def _tick(self) -> None:
        try:
            report = run_due(self.services)
        except RostersyncError as exc:
            log.error("The scheduler tick failed: %s", exc)
            return
        except Exception:  # keep the scheduler alive; the next tick may succeed
            log.exception("The scheduler tick failed unexpectedly.")
            return
        self.ticks += 1
        for result in report.synced:
            log.info("Synced district %s: %d schools.", result.district_id, len(result.runs))
        for error in report.errors:
            log.error("Scheduled sync failed: %s", error)
        if self.on_tick is not None:
            self.on_tick(report)
