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
    log_json: bool = False


def load_settings() -> Settings:
    """Read the settings now (call this from an entry point, not at import time)."""
    return Settings()
