"""Prometheus metrics of syncs, holds, jobs and email, and their text exposition.

Recorded where the work happens (the job runner, inline or in a worker), so the in-process
scheduler and every worker report the same series. A worker serves them on its own port
(``rostersync worker --metrics-port``); the web app serves ``metrics_payload`` at /metrics.
Labels are closed sets (outcomes, hold kinds, job names): never ids, names or emails.
"""

from __future__ import annotations

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)

from rostersync.service.model import RunRecord

RUNS = Counter("rostersync_runs", "School sync runs, by outcome.", ["outcome"])
HOLDS = Counter("rostersync_holds", "Runs that left a school on hold, by hold kind.", ["kind"])
RUN_SECONDS = Histogram(
    "rostersync_district_sync_seconds",
    "Wall time of a whole district sync (fetch, evaluate and apply every school).",
    buckets=(0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600),
)
RECORDS = Counter(
    "rostersync_records_processed",
    "Roster records evaluated by runs (accounts, classes and links of each school).",
)
ROWS = Counter("rostersync_rows_written", "Roster rows written by applied runs.")
JOBS = Counter(
    "rostersync_jobs",
    "Jobs handled: done, coalesced (already running), duplicate (already done), retried.",
    ["job", "result"],
)
EMAILS = Counter("rostersync_emails", "Outbox deliveries, by result.", ["result"])


def observe_runs(runs: list[RunRecord], seconds: float) -> None:
    """Count a district sync's runs and its duration."""
    RUN_SECONDS.observe(seconds)
    for run in runs:
        RUNS.labels(outcome=run.outcome.value).inc()
        if run.hold_kind is not None:
            HOLDS.labels(kind=run.hold_kind.value).inc()
        RECORDS.inc(sum(run.counts.values()))
        ROWS.inc(run.rows_written)


def count_job(job: str, result: str) -> None:
    JOBS.labels(job=job, result=result).inc()


def count_emails(sent: int, failed: int) -> None:
    if sent:
        EMAILS.labels(result="sent").inc(sent)
    if failed:
        EMAILS.labels(result="failed").inc(failed)


def metrics_payload(registry: CollectorRegistry = REGISTRY) -> tuple[bytes, str]:
    """The exposition body and its content type, for any HTTP framework to return."""
    return generate_latest(registry), CONTENT_TYPE_LATEST
