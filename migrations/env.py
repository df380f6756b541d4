"""Alembic environment for PeerMatch (async; SQLite and PostgreSQL).

Run through ``adapters.sql.migrate`` (``peermatch db upgrade``), which passes the database
URL and an optional PostgreSQL schema in ``config.attributes`` ("url", "schema",
"connect_args"); the ``alembic`` CLI falls back to ``sqlalchemy.url`` in alembic.ini or the
``PEERMATCH_DATABASE_URL`` environment variable. A caller may also hand over an open
synchronous connection as ``config.attributes["connection"]``.
"""

from __future__ import annotations

import asyncio
import os
from logging.config import fileConfig

from alembic import context
from sqlalchemy.engine import Connection

from adapters.sql.tables import metadata
from adapters.sql.uow import make_engine

config = context.config
target_metadata = metadata
if config.config_file_name is not None:  # the alembic CLI: log as alembic.ini says
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def _url() -> str:
    url = (config.attributes.get("url") or config.get_main_option("sqlalchemy.url")
           or os.environ.get("PEERMATCH_DATABASE_URL"))
    if not url:
        raise RuntimeError("no database URL: set PEERMATCH_DATABASE_URL or use `peermatch db`")
    return str(url)


def _configure(**kwargs: object) -> None:
    context.configure(
        target_metadata=target_metadata,
        compare_type=True,
        # SQLite cannot ALTER most things: batch mode rebuilds the table instead.
        render_as_batch=kwargs.pop("sqlite"),
        # make_engine gives SQLite real transactions (it emits BEGIN itself), so DDL is
        # transactional there too: a failed upgrade leaves the database as it was.
        transactional_ddl=True,
        **kwargs,
    )


def run_migrations_offline() -> None:
    """Emit SQL to stdout instead of running it (``alembic upgrade --sql``)."""
    url = _url()
    _configure(url=url, literal_binds=True, dialect_opts={"paramstyle": "named"},
               sqlite=url.startswith("sqlite"))
    with context.begin_transaction():
        context.run_migrations()


def do_run_migrations(connection: Connection) -> None:
    _configure(connection=connection, sqlite=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


async def run_async_migrations() -> None:
    # Foreign keys off on SQLite: batch migrations drop and re-create tables, which must
    # neither fail nor cascade deletes into the rows that reference them.
    # No statement timeout: a migration rebuilding a big table may rightly take minutes.
    engine = make_engine(_url(), schema=config.attributes.get("schema"),
                         connect_args=config.attributes.get("connect_args"), foreign_keys=False,
                         statement_timeout=0)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(do_run_migrations)
            await connection.commit()
    finally:
        await engine.dispose()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        do_run_migrations(connection)
    else:
        asyncio.run(run_async_migrations())


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
