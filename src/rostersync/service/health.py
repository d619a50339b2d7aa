"""Health and metrics for HTTP endpoints, free of any web framework.

The web app mounts them (``/healthz``, ``/metrics``) with a few lines of its own framework:
each function returns ``(status, body, content_type)``. Health is "ok" when the database
answers and, with workers configured, at least one worker answers a ping; "degraded" when
the database answers but no worker does (syncs queue up); 503 "down" when the database
does not answer.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from rostersync.service.context import Services
from rostersync.service.metrics import metrics_payload

log = logging.getLogger("rostersync.health")


def health_report(services: Services, *, ping_timeout_s: float = 1.0) -> dict[str, Any]:
    """What is up: the database, and the workers when jobs run on them."""
    report: dict[str, Any] = {"status": "ok", "database": "ok", "workers": None}
    try:
        with services.store.unit_of_work() as uow:
            uow.get_district("healthz")
    except Exception as exc:  # any failure to reach the database means down
        log.warning("Health check: the database did not answer: %s", type(exc).__name__)
        return {**report, "status": "down", "database": "unreachable"}
    if services.jobs is not None:
        try:
            workers = services.jobs.ping(ping_timeout_s)
        except Exception as exc:  # the broker is down: jobs cannot be queued
            log.warning("Health check: the broker did not answer: %s", type(exc).__name__)
            workers = []
        report["workers"] = workers
        if workers is not None and not workers:
            report["status"] = "degraded"
    return report


def web_health(services: Services) -> tuple[int, bytes, str]:
    """``GET /healthz``: 200 when ok or degraded, 503 when down; a JSON body."""
    report = health_report(services)
    status = 503 if report["status"] == "down" else 200
    return status, json.dumps(report).encode("utf-8"), "application/json"


def web_metrics() -> tuple[int, bytes, str]:
    """``GET /metrics``: the Prometheus text exposition of this process."""
    body, content_type = metrics_payload()
    return 200, body, content_type
