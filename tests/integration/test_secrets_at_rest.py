"""Clever tokens are encrypted at rest, survive a key rotation, and old plaintext rows are
encrypted by ``rostersync init``."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from sqlalchemy import text

from rostersync.bootstrap import prepare_database
from rostersync.errors import ConfigurationError
from rostersync.secret_key import load_secret_key
from rostersync.service.model import DistrictConfig
from rostersync.settings import Settings
from rostersync.storage import SqlStore, upgrade_database
from rostersync.storage.crypto import TokenCipher

TOKEN = "0123456789abcdef0123456789abcdef01234567"
OLD, NEW = "o" * 48, "n" * 48


def stored_token(store: SqlStore) -> str:
    with store.engine.connect() as conn:
        return str(conn.execute(text("SELECT clever_token FROM districts")).scalar_one())


def add(store: SqlStore) -> None:
    with store.unit_of_work() as uow:
        uow.add_district(DistrictConfig("dst_1", "D", TOKEN, "http://127.0.0.1:9"))
        uow.commit()


def read(store: SqlStore) -> str:
    with store.unit_of_work() as uow:
        config = uow.get_district("dst_1")
    assert config is not None
    return config.clever_token


def test_tokens_are_stored_encrypted_and_read_back(store_url: str) -> None:
    store = SqlStore(store_url, cipher=TokenCipher(NEW))
    add(store)
    raw = stored_token(store)
    assert TOKEN not in raw
    assert raw.startswith("fernet:")
    assert read(store) == TOKEN
    store.dispose()


def test_a_rotated_key_reads_old_tokens_and_init_reencrypts_them(store_url: str) -> None:
    add(old := SqlStore(store_url, cipher=TokenCipher(OLD)))
    old.dispose()
    without_previous = SqlStore(store_url, cipher=TokenCipher(NEW))
    with pytest.raises(ConfigurationError, match="ROSTERSYNC_SECRET_KEY_PREVIOUS"):
        read(without_previous)
    rotating = SqlStore(store_url, cipher=TokenCipher(NEW, previous=[OLD]))
    assert read(rotating) == TOKEN
    assert rotating.reencrypt_tokens() == 1
    assert read(without_previous) == TOKEN
    for store in (without_previous, rotating):
        store.dispose()


def test_init_encrypts_tokens_stored_in_the_clear(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'legacy.db'}"
    upgrade_database(url)
    add(plain := SqlStore(url))
    assert stored_token(plain) == TOKEN
    settings = Settings(database_url=url, secret_key=NEW)
    assert prepare_database(settings) == 1
    assert stored_token(plain).startswith("fernet:")
    assert prepare_database(settings) == 0
    plain.dispose()


def test_the_generated_key_file_is_private(tmp_path: Path) -> None:
    path = tmp_path / "secret.key"
    load_secret_key(None, str(path))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
