"""Settings from the environment (``ROSTERSYNC_*``).

Read only by the composition root (``bootstrap``) and the entry points, never at import time.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every knob rostersync reads from the environment, with safe defaults."""

    model_config = SettingsConfigDict(env_prefix="ROSTERSYNC_", extra="ignore")

    database_url: str = "sqlite:///rostersync.db"
    clever_base_url: str = "https://api.clever.com"
    page_size: int = Field(default=10_000, ge=1, le=10_000)
    http_timeout_s: float = Field(default=30.0, gt=0)
    retry_attempts: int = Field(default=6, ge=1)
    retry_max_total_s: float = Field(default=120.0, gt=0)
    retry_base_delay_s: float = Field(default=0.5, ge=0)
    smtp_url: str | None = None
    email_from: str = "rostersync@localhost"
    email_backend: str = ""
    email_file_dir: str | None = None
    public_url: str | None = None
    scheduler_tick_s: float = Field(default=30.0, gt=0)
    broker_url: str | None = None
    # Redis only: an unacknowledged job (its worker died) is handed out again after this long.
    broker_visibility_timeout_s: float = Field(default=1800.0, gt=0)
    # How long the CLI waits for a queued job's outcome before saying it is still queued.
    job_timeout_s: float = Field(default=600.0, gt=0)
    log_json: bool = False
    # Where each district's last fetch is kept, so a resync stages only what changed
    # (docs/sync-engine.md). Unset: next to a SQLite database (``<file>.fetch``), or in the
    # user's cache directory for PostgreSQL. "off": no cache (every sync stages it all).
    fetch_cache_dir: str | None = None
    # The dashboard's cookie-signing key; without it, a key file is generated and reused.
    secret_key: str | None = None
    secret_key_previous: str | None = None
    secret_key_file: str = "rostersync-secret.key"  # noqa: S105 (a file name)


def load_settings() -> Settings:
    """Read the settings now (call this from an entry point, not at import time)."""
    return Settings()
