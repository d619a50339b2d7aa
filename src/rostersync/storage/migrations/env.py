"""Alembic's environment for the store: runs the migrations in ``versions/``.

``rostersync.storage.migrate`` drives it programmatically and hands over an open connection
(``config.attributes["connection"]``). Run from the ``alembic`` command line with a config
file, it builds its own engine from ``sqlalchemy.url``. SQLite alters tables by copying them
("batch" mode), so it is switched on there.
"""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from sqlalchemy import Connection

from rostersync.storage.engine import create_store_engine
from rostersync.storage.tables import UTCDateTime, metadata


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | Literal[False]:
    """Write the store's UTC datetime type into new migrations as the plain column type
    it is on disk, so migrations never import the live table module."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run_migrations_offline() -> None:
    """Emit the migrations as SQL text (``alembic upgrade --sql``)."""
    url = context.config.get_main_option("sqlalchemy.url")
    context.configure(
        url=url,
        target_metadata=metadata,
        literal_binds=True,
        render_as_batch=url is not None and url.startswith("sqlite"),
        render_item=render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError(
            "No database URL for the migrations. Set sqlalchemy.url in the Alembic config, "
            "or use rostersync.storage.migrate.upgrade_database(url)."
        )
    engine = create_store_engine(url, foreign_keys=False)
    try:
        with engine.connect() as conn:
            _run(conn)
            conn.commit()
    finally:
        engine.dispose()


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        render_item=render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
