"""``rostersync worker`` and ``rostersync beat``: the scale-out processes (Celery on a broker).

``worker`` runs jobs (syncs, hold actions, email delivery); ``worker health`` asks the
running workers to answer a ping; ``beat`` queues each district's scheduled sync when its
interval has passed. All of them need ``ROSTERSYNC_BROKER_URL`` (redis:// or amqp://).
"""

from __future__ import annotations

import os
import signal
import threading
from typing import Annotated, Any

import typer

from rostersync.bootstrap import build_services
from rostersync.cli.output import JSON_OPTION, console, emit_json, handle_errors
from rostersync.errors import ConfigurationError, RostersyncError
from rostersync.service.logs import configure_logging
from rostersync.settings import Settings, load_settings

worker_app = typer.Typer(
    help="Run a Celery worker for syncs, hold actions and email (needs ROSTERSYNC_BROKER_URL).",
    invoke_without_command=True,
)
POOLS = ("threads", "solo", "prefork")


def register(app: typer.Typer) -> None:
    app.add_typer(worker_app, name="worker")
    app.command("beat")(beat)


def _broker_settings() -> Settings:
    settings = load_settings()
    if not settings.broker_url:
        raise ConfigurationError(
            "Workers need a broker. Set ROSTERSYNC_BROKER_URL, for example "
            "redis://127.0.0.1:6379/0 or amqp://guest:guest@127.0.0.1:5672//."
        )
    return settings


def _take_over_celery_logging() -> None:
    """Keep rostersync's log format (JSON or text) for Celery's own records too."""
    from celery.signals import setup_logging

    def keep(**_: Any) -> None:
        return None

    setup_logging.connect(keep, weak=False)


@worker_app.callback(invoke_without_command=True)
@handle_errors
def worker(
    ctx: typer.Context,
    concurrency: Annotated[int, typer.Option("--concurrency", "-c", min=1)] = 2,
    pool: Annotated[str, typer.Option("--pool", help="threads, solo or prefork.")] = "threads",
    queues: Annotated[
        str, typer.Option("--queues", "-Q", help="Comma-separated queues to consume.")
    ] = "rostersync.urgent,rostersync",
    metrics_port: Annotated[
        int | None, typer.Option("--metrics-port", help="Serve Prometheus metrics here.")
    ] = None,
    metrics_host: Annotated[str, typer.Option("--metrics-host")] = "127.0.0.1",
    loglevel: Annotated[str, typer.Option("--loglevel")] = "INFO",
) -> None:
    """Run a worker until stopped (SIGTERM finishes the jobs in hand first)."""
    if ctx.invoked_subcommand is not None:
        return
    if pool not in POOLS:
        raise ConfigurationError(f"--pool must be one of {', '.join(POOLS)}, not {pool!r}.")
    if metrics_port is not None and pool == "prefork":
        raise ConfigurationError(
            "--metrics-port needs --pool threads or solo: with prefork the counts live in "
            "the child processes. Run more worker processes to use more cores."
        )
    settings = _broker_settings()
    configure_logging(json_lines=settings.log_json, level=loglevel.upper())
    _take_over_celery_logging()
    from rostersync.worker.app import create_app

    app = create_app(settings)
    if metrics_port is not None:
        from prometheus_client import start_http_server

        start_http_server(metrics_port, addr=metrics_host)
    app.worker_main(
        [
            "worker",
            f"--concurrency={concurrency}",
            f"--pool={pool}",
            f"--queues={queues}",
            f"--loglevel={loglevel.upper()}",
            f"--hostname=rostersync-{os.getpid()}@%h",
            "--without-gossip",
            "--without-mingle",
        ]
    )


@worker_app.command("health")
@handle_errors
def health(
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds to wait for answers.")] = 2.0,
    as_json: bool = JSON_OPTION,
) -> None:
    """Ping the workers; exit 0 when at least one answers, 1 when none does."""
    from rostersync.worker.app import create_app
    from rostersync.worker.runner import ping_workers

    names = ping_workers(create_app(_broker_settings()), timeout)
    if not names:
        raise RostersyncError(
            f"No worker answered within {timeout:g} s. Start one with 'rostersync worker' "
            "and check that it reaches the broker in ROSTERSYNC_BROKER_URL."
        )
    if as_json:
        emit_json({"workers": names})
    else:
        console.print(f"{len(names)} worker(s) answered: {', '.join(names)}", highlight=False)


@handle_errors
def beat(
    tick: Annotated[
        float | None, typer.Option("--tick", help="Seconds between checks (default: setting).")
    ] = None,
    once: Annotated[bool, typer.Option("--once", help="Queue what is due once and exit.")] = False,
) -> None:
    """Queue each district's scheduled sync when its interval has passed (one beat only)."""
    settings = _broker_settings()
    configure_logging(json_lines=settings.log_json)
    from rostersync.worker.app import create_app
    from rostersync.worker.beat import Beat

    services = build_services(settings, migrate=False)
    runner = Beat(services, create_app(settings), tick_s=tick or settings.scheduler_tick_s)
    if once:
        runner.tick()
        return
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        runner.run(stop)
    except KeyboardInterrupt:
        stop.set()
