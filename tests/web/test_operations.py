"""Health and metrics endpoints of the web app, and security headers on every answer."""

from __future__ import annotations

from tests.web.conftest import WebEnv


def test_healthz_reports_the_database_and_metrics_are_prometheus_text(shared_web: WebEnv) -> None:
    client = shared_web.client()
    health = client.get("/healthz")
    assert health.status_code == 200
    assert health.json()["status"] in ("ok", "degraded")
    metrics = client.get("/metrics")
    assert metrics.status_code == 200
    assert metrics.headers["content-type"].startswith("text/plain")
    assert "rostersync_" in metrics.text


def test_pages_carry_security_headers(shared_web: WebEnv) -> None:
    answer = shared_web.client().get("/login")
    csp = answer.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp
    assert "default-src 'none'" in csp  # no script may run, not even our own
    assert "script-src" not in csp
    assert answer.headers["x-content-type-options"] == "nosniff"
