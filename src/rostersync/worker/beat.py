"""Beat: put each district's scheduled sync on the queue when its interval has passed.

Celery's own beat has a fixed schedule; rostersync's intervals live per district in the
database, so this small loop reads them each tick and uses the same ``is_due`` as the
in-process scheduler. It remembers what it queued so that a district whose sync waits in the
queue is not queued again every tick; if a job was queued and nothing ran for ``grace_s``
(a lost message), it is queued again. Duplicates are harmless anyway: a scheduled job syncs
only if the district is still due once it holds the district lock. Each tick also queues a
delivery of pending email, so an email that failed is retried.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta

from celery import Celery

from rostersync.service import districts
from rostersync.service.context import Services
from rostersync.service.jobs import SCHEDULE
from rostersync.service.schedule import is_due
from rostersync.worker.app import DEFAULT_QUEUE, DELIVER_TASK, SYNC_TASK

log = logging.getLogger("rostersync.beat")


class Beat:
    """Queues due districts every tick until stopped."""

    def __init__(
        self, services: Services, app: Celery, *, tick_s: float, grace_s: float = 900.0
    ) -> None:
        self.services = services
        self.app = app
        self.tick_s = tick_s
        self.grace = timedelta(seconds=grace_s)
        self.queued: dict[str, datetime] = {}

    def tick(self) -> list[str]:
        """Queue every district that is due and not waiting in the queue; their ids."""
        now = self.services.clock.now()
        sent = []
        for config in districts.list_districts(self.services):
            if not is_due(config, now) or self._waiting(config.last_sync_at, config.id, now):
                continue
            args = [config.id, None, SCHEDULE, "", now.isoformat()]
            self.app.send_task(SYNC_TASK, args=args, queue=DEFAULT_QUEUE)
            self.queued[config.id] = now
            sent.append(config.id)
        self.app.send_task(DELIVER_TASK, queue=DEFAULT_QUEUE)
        if sent:
            log.info("Queued %d scheduled sync(s).", len(sent))
        return sent

    def _waiting(self, last_sync_at: datetime | None, district_id: str, now: datetime) -> bool:
        queued = self.queued.get(district_id)
        if queued is None or now - queued >= self.grace:
            return False
        return last_sync_at is None or last_sync_at < queued

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.tick()
            except Exception:  # keep beating: the next tick may find the broker back
                log.exception("A beat tick failed; trying again next tick.")
            stop.wait(self.tick_s)
