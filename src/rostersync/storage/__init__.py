"""The SQL store: SQLAlchemy 2.0 on SQLite (embedded default) or PostgreSQL (scale-out).

``SqlStore`` implements ``rostersync.service.ports.Store``; ``upgrade_database`` creates or
upgrades the schema with the Alembic migrations shipped in this package. See docs/storage.md.
"""

from rostersync.storage import sqlite_memstats

# Before anything here imports ``sqlite3``: see ``sqlite_memstats``.
sqlite_memstats.switch_off()

from rostersync.storage.migrate import check_database, upgrade_database  # noqa: E402
from rostersync.storage.unit_of_work import SqlStore, SqlUnitOfWork  # noqa: E402

__all__ = ["SqlStore", "SqlUnitOfWork", "check_database", "upgrade_database"]
