"""The one composition root: builds the store, source factory and mailer from Settings.

Entry points (CLI, web, workers) call ``build_services``; nothing else reads settings.
"""

from __future__ import annotations

import os
import signal
import sys

from rostersync.errors import ConfigurationError
from rostersync.notify import ConsoleMailer, mailer_from_settings
from rostersync.secret_key import load_secret_key
from rostersync.service.context import Services, no_checkpoint
from rostersync.service.jobs import JobRunner
from rostersync.service.ports import Checkpoint, Mailer, RosterSource
from rostersync.settings import Settings, load_settings
from rostersync.sources.clever.source import CleverSource
from rostersync.storage import SqlStore
from rostersync.storage.crypto import TokenCipher
from rostersync.storage.migrate import upgrade_database
from rostersync.storage.staging_file import fetch_cache_dir

# A test seam: a subprocess started with this variable kills itself with SIGKILL at the named
# point of a sync (after_fetch, mid_diff, mid_apply, after_commit, before_email), so tests can
# prove that a crash leaves the last good state.
CRASH_VARIABLE = "ROSTERSYNC_TEST_CRASH_AT"


def crash_checkpoint(target: str) -> Checkpoint:
    def checkpoint(point: str) -> None:
        if point == target:
            os.kill(os.getpid(), signal.SIGKILL)

    return checkpoint


def build_mailer(settings: Settings) -> Mailer:
    """SMTP when a URL is set, else the console (on stderr, so ``--json`` stays clean)."""
    backend = settings.email_backend or ("smtp" if settings.smtp_url else "console")
    if backend == "console":
        return ConsoleMailer(sys.stderr)
    return mailer_from_settings(
        backend, settings.smtp_url, settings.email_from, settings.email_file_dir
    )


def build_job_runner(settings: Settings) -> JobRunner | None:
    """Celery workers when a broker is configured; ``None`` (run in process) otherwise."""
    url = settings.broker_url
    if not url:
        return None
    # Imported here: Celery is loaded only by processes that use a broker.
    from rostersync.worker.app import BROKER_SCHEMES, create_app
    from rostersync.worker.runner import CeleryJobRunner

    if not url.startswith(BROKER_SCHEMES):
        raise ConfigurationError(
            "ROSTERSYNC_BROKER_URL must be a redis:// or amqp:// URL (RabbitMQ); "
            "unset it to run syncs in this process."
        )
    return CeleryJobRunner(create_app(settings), timeout_s=settings.job_timeout_s)


def token_cipher(settings: Settings) -> TokenCipher:
    """Clever tokens are encrypted at rest with a key derived from the deployment secret."""
    secret = load_secret_key(settings.secret_key, settings.secret_key_file)
    previous = [p.strip() for p in (settings.secret_key_previous or "").split(",")]
    return TokenCipher(secret, previous=[p for p in previous if p])


def prepare_database(settings: Settings) -> int:
    """``rostersync init``: create or upgrade the schema, then (re-)encrypt every stored
    Clever token with the current key. Returns how many tokens were rewritten."""
    upgrade_database(settings.database_url)
    store = SqlStore(settings.database_url, cipher=token_cipher(settings))
    try:
        return store.reencrypt_tokens()
    finally:
        store.dispose()


def build_services(settings: Settings | None = None, *, migrate: bool = True) -> Services:
    """Wire the adapters the settings name; upgrade the database schema first by default."""
    settings = settings or load_settings()
    if migrate:
        upgrade_database(settings.database_url)
    store = SqlStore(
        settings.database_url,
        cipher=token_cipher(settings),
        fetch_cache_dir=fetch_cache_dir(settings.fetch_cache_dir, settings.database_url),
    )

    def sources(base_url: str, token: str) -> RosterSource:
        return CleverSource.from_settings(settings, token, base_url=base_url)

    mailer = build_mailer(settings)
    crash_at = os.environ.get(CRASH_VARIABLE, "")
    return Services(
        store=store,
        sources=sources,
        mailer=mailer,
        checkpoint=crash_checkpoint(crash_at) if crash_at else no_checkpoint,
        public_url=settings.public_url,
        jobs=build_job_runner(settings),
    )
