"""Builds the dashboard and API app: routers, session cookie, security headers, error
handlers, static files, and (optionally) the scheduler in the app's lifespan.

``create_app`` takes ready services so tests can hand it a store of their own; ``app_from_
settings`` is what ``rostersync serve`` uses.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version

from argon2 import PasswordHasher
from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from rostersync.secret_key import load_secret_key
from rostersync.service.auth import SESSION_LIFETIME, Auth
from rostersync.service.context import Services
from rostersync.service.health import web_health, web_metrics
from rostersync.settings import Settings
from rostersync.web import (
    api_districts,
    api_schools,
    pages_auth,
    pages_review,
    pages_schools,
    pages_settings,
)
from rostersync.web.problems import install_handlers
from rostersync.web.scheduler import BackgroundScheduler
from rostersync.web.templating import build_templates

SESSION_COOKIE = "rostersync_session"
# No scripts at all: the pages work with plain forms. Inline SVG charts need nothing more.
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)


@dataclass(slots=True)
class WebConfig:
    """How the app runs: the cookie key, https-only cookies, and the scheduler's tick."""

    secret_key: str
    secure_cookies: bool = False
    scheduler_tick_s: float | None = None
    hasher: PasswordHasher = field(default_factory=PasswordHasher)


def _version() -> str:
    try:
        return version("rostersync")
    except PackageNotFoundError:
        return "0"


def _lifespan(
    services: Services, tick_s: float | None
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        scheduler = BackgroundScheduler(services, tick_s) if tick_s else None
        app.state.scheduler = scheduler
        if scheduler is not None:
            scheduler.start()
        try:
            yield
        finally:
            if scheduler is not None:
                scheduler.stop()

    return lifespan


async def security_headers(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    response = await call_next(request)
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    if not request.url.path.startswith("/static/"):
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def create_app(services: Services, config: WebConfig) -> FastAPI:
    app = FastAPI(
        title="rostersync",
        version=_version(),
        description="The SIS sync report, hold actions and district settings of rostersync. "
        "Authenticate with `Authorization: Bearer <api token>`; errors are RFC 9457 "
        "problem details (`application/problem+json`).",
        openapi_url="/api/v1/openapi.json",
        docs_url=None,
        redoc_url=None,
        lifespan=_lifespan(services, config.scheduler_tick_s),
    )
    app.state.services = services
    app.state.auth = Auth(services, config.hasher)
    app.state.templates = build_templates()
    app.middleware("http")(security_headers)
    app.add_middleware(
        SessionMiddleware,
        secret_key=config.secret_key,
        session_cookie=SESSION_COOKIE,
        max_age=int(SESSION_LIFETIME.total_seconds()),
        same_site="lax",
        https_only=config.secure_cookies,
    )
    install_handlers(app)
    for module in (pages_auth, pages_schools, pages_review, pages_settings):
        app.include_router(module.router)
    app.include_router(api_schools.router)
    app.include_router(api_districts.router)
    app.mount("/static", StaticFiles(packages=[("rostersync.web", "static")]), name="static")

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> Response:
        status, body, content_type = web_health(services)
        return Response(body, status, media_type=content_type)

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        status, body, content_type = web_metrics()
        return Response(body, status, media_type=content_type)

    return app


def app_from_settings(services: Services, settings: Settings, *, scheduler: bool = True) -> FastAPI:
    """The app ``rostersync serve`` runs: key from the settings, scheduler on by default.

    With a broker (``ROSTERSYNC_BROKER_URL``), ``rostersync beat`` schedules syncs on the
    workers, so the in-process scheduler stays off.
    """
    scheduler = scheduler and not settings.broker_url
    secure = (settings.public_url or "").lower().startswith("https://")
    config = WebConfig(
        secret_key=load_secret_key(settings.secret_key, settings.secret_key_file),
        secure_cookies=secure,
        scheduler_tick_s=settings.scheduler_tick_s if scheduler else None,
    )
    return create_app(services, config)
