"""Operability: logs that carry ids and never secrets, health and metrics for HTTP, and hold
actions queued on the urgent queue with their outcome read back from the database."""

from __future__ import annotations

import io
import json
import logging
from contextlib import ExitStack

from rostersync.service.context import Services
from rostersync.service.health import web_health, web_metrics
from rostersync.service.jobs import run_sync_job
from rostersync.service.logs import ContextFilter, JsonFormatter, bind, redact
from rostersync.storage import SqlStore
from tests.integration.conftest import Env, fast_sources
from tests.scale.conftest import Fleet, add_districts

TOKEN = "0123456789abcdef0123456789abcdef01234567"


def test_credentials_are_masked_wherever_they_appear() -> None:
    text = redact(
        f"GET failed: Authorization: Bearer {TOKEN}; url=smtp://mailer:hunter2@mx:587 "
        f"token={TOKEN}&x=1 password: hunter2"
    )
    assert TOKEN not in text and "hunter2" not in text
    assert "Bearer ***" in text and "smtp://mailer:***@mx:587" in text


def test_json_log_lines_carry_the_bound_ids_and_no_token() -> None:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("rostersync.test.logs")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        with bind(job_id="job-1", district_id="dst_1"):
            logger.info("Run finished.", extra={"run_id": "run_1"})
            logger.warning("The source said: Bearer %s", TOKEN)
    finally:
        logger.removeHandler(handler)
    first, second = (json.loads(line) for line in out.getvalue().splitlines())
    assert first["job_id"] == "job-1" and first["district_id"] == "dst_1"
    assert first["run_id"] == "run_1" and first["message"] == "Run finished."
    assert TOKEN not in out.getvalue() and second["level"] == "WARNING"


def test_health_is_ok_with_a_database_and_down_without_one(env: Env, tmp_path) -> None:
    status, body, content_type = web_health(env.services)
    assert status == 200 and content_type == "application/json"
    assert json.loads(body) == {"status": "ok", "database": "ok", "workers": None}
    gone = SqlStore("postgresql+psycopg://nobody@127.0.0.1:1/none")
    status, body, _ = web_health(Services(store=gone, sources=fast_sources))
    assert status == 503 and json.loads(body)["database"] == "unreachable"


def test_metrics_count_runs_by_outcome(env: Env) -> None:
    run_sync_job(env.services, env.district_id)
    status, body, content_type = web_metrics()
    assert status == 200 and content_type.startswith("text/plain")
    assert b'rostersync_runs_total{outcome="applied"}' in body
    assert b"rostersync_district_sync_seconds_count" in body


def test_hold_actions_go_to_the_workers_and_their_outcome_comes_back(redis_fleet: Fleet) -> None:
    fleet = redis_fleet
    with ExitStack() as stack:
        [district] = add_districts(fleet, stack, 1, held_every=1, schools=2)
        fleet.start_worker("worker", concurrency=1)
        fleet.wait_for_workers(1)
        assert fleet.cli("sync").returncode == 0
        refused = fleet.cli("hold", "reconnect", district.held_school, "--json")
        assert refused.returncode == 1  # answered at once: not allowed in this hold kind
        assert "not available" in json.loads(refused.stdout)["error"]["message"]
        checked = fleet.cli("hold", "check-new-data", district.held_school, "--yes", "--json")
    assert checked.returncode == 2, checked.stderr  # still on hold: the Emergency contact
    assert "urgent queue" in checked.stderr
    result = json.loads(checked.stdout)
    assert result["outcome"] == "held" and result["run"]["trigger"] == "check_new_data"
