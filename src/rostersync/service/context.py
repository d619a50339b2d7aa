"""What every use case needs: the store, the source factory, the clock and the mailer.

Built once by ``rostersync.bootstrap`` from the settings; tests build their own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from rostersync.service.ports import Checkpoint, Clock, Mailer, SourceFactory, Store

if TYPE_CHECKING:  # jobs imports the use cases, which import this module
    from rostersync.service.jobs import JobRunner


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


def no_checkpoint(point: str) -> None:
    """The production checkpoint: does nothing (tests install one that crashes)."""


@dataclass(slots=True)
class Services:
    store: Store
    sources: SourceFactory
    mailer: Mailer | None = None
    clock: Clock = field(default_factory=SystemClock)
    checkpoint: Checkpoint = no_checkpoint
    public_url: str | None = None
    deliver_after_commit: bool = True
    # How syncs and hold actions run: None is in this process (see service/jobs.py).
    jobs: JobRunner | None = None
    # How long the schools of a sync may share one transaction, in seconds (the district
    # lock is held meanwhile; ``service.evaluate.SchoolBatch``).
    batch_seconds: float = 1.0
