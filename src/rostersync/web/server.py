"""``rostersync serve``: the dashboard and API under uvicorn, the scheduler beside them.

uvicorn owns the process's signals: Ctrl-C or SIGTERM starts a graceful shutdown, which
ends the app's lifespan, which stops the scheduler thread after its current tick.
"""

from __future__ import annotations

import uvicorn

from rostersync.service.context import Services
from rostersync.settings import Settings
from rostersync.web.app import app_from_settings


def run_server(
    services: Services, settings: Settings, host: str, port: int, *, scheduler: bool = True
) -> None:
    """Serve until interrupted."""
    app = app_from_settings(services, settings, scheduler=scheduler)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        lifespan="on",
        log_level="info",
        timeout_graceful_shutdown=10,
    )
    uvicorn.Server(config).run()
