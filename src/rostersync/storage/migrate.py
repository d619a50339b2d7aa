"""Creating and upgrading the database schema with Alembic, without an alembic.ini.

Users run ``upgrade_database(url)`` (or the CLI command built on it); the Alembic ``Config``
is built here, pointing at the migrations shipped inside the package. ``check_database``
tells a running app whether the database is at the code's revision and matches its tables.

Every sync process upgrades first, and nearly always finds the schema current: that is
told from the ``alembic_version`` row alone (``HEAD_REVISION``), and Alembic (about a
third of a second of imports, with Mako and Pygments) is imported only when there is
something to do.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import Connection, inspect, text

from rostersync.storage.engine import create_store_engine
from rostersync.storage.errors import SchemaError
from rostersync.storage.tables import metadata

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = "rostersync.storage:migrations"
# The revision of the newest migration in ``migrations/versions`` (a test pins it to what
# Alembic finds there): bump it with each new migration.
HEAD_REVISION = "0006"


def alembic_config(url: str, connection: Connection | None = None) -> Config:
    """An Alembic config for the store's migrations and ``url`` (no file needed).

    With ``connection``, the migrations run on it (and in its transaction).
    """
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    # The config parser treats "%" as interpolation; URLs may hold escaped characters.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The revision the code expects the database to be at, as Alembic finds it among the
    migrations (``HEAD_REVISION`` holds it without asking Alembic)."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head is not None, "the store ships at least one migration"
    return head


def current_revision(url: str) -> str | None:
    """The database's revision; ``None`` for a database without the store's tables."""
    from alembic.runtime.migration import MigrationContext

    engine = create_store_engine(url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def upgrade_database(url: str, revision: str = "head") -> None:
    """Create the schema, or bring it up to ``revision``, in one transaction (nothing to
    do, and Alembic not loaded, when the database is at the head already)."""
    if revision in ("head", HEAD_REVISION) and _stored_revisions(url) == [HEAD_REVISION]:
        return
    _upgrade(url, revision)


def _stored_revisions(url: str) -> list[str]:
    """The revisions in the database's ``alembic_version`` table (none without it)."""
    engine = create_store_engine(url)
    try:
        with engine.connect() as conn:
            if not inspect(conn).has_table("alembic_version"):
                return []
            rows = conn.execute(text("SELECT version_num FROM alembic_version"))
            return [str(row[0]) for row in rows]
    finally:
        engine.dispose()


def _upgrade(url: str, revision: str) -> None:
    from alembic import command
    from alembic.runtime.migration import MigrationContext

    # Foreign keys off: SQLite alters a table by copying it, which they would block.
    engine = create_store_engine(url, foreign_keys=False)
    try:
        with engine.begin() as conn:
            before = MigrationContext.configure(conn).get_current_revision()
            command.upgrade(alembic_config(url, conn), revision)
            after = MigrationContext.configure(conn).get_current_revision()
            # The check scans every table (seconds for a 1M-student district), so only
            # after an upgrade that ran: an up-to-date schema was checked when it was made.
            if conn.dialect.name == "sqlite" and after != before:
                _check_sqlite_foreign_keys(conn)
    finally:
        engine.dispose()


def check_database(url: str) -> None:
    """Raise ``SchemaError`` unless the database is at the head revision with no drift."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    expected = head_revision()
    engine = create_store_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            current = context.get_current_revision()
            if current != expected:
                raise SchemaError(
                    f"The database is at schema revision {current or 'none (empty)'}, but this "
                    f"version of rostersync needs {expected}. Upgrade it with "
                    "rostersync.storage.migrate.upgrade_database(url) before starting."
                )
            diffs = compare_metadata(context, metadata)
    finally:
        engine.dispose()
    if diffs:
        raise SchemaError(
            f"The database schema differs from the code's tables in {len(diffs)} place(s), "
            f"e.g. {diffs[0]!r}. It was changed by hand or by another version; restore it or "
            "write a migration for the change."
        )


def _check_sqlite_foreign_keys(conn: Connection) -> None:
    broken = conn.execute(text("PRAGMA foreign_key_check")).fetchall()
    if broken:
        raise SchemaError(
            f"The upgrade left {len(broken)} row(s) whose foreign keys point nowhere "
            f"(first: {tuple(broken[0])!r}); it was rolled back. Fix those rows and retry."
        )
