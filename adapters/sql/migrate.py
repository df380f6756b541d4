"""Schema migrations (Alembic), driven from code: no alembic.ini needed.

``upgrade``/``downgrade``/``current``/``check_up_to_date`` take the database URL (and, on
PostgreSQL, an optional schema to work in). They are synchronous, and safe to call from
inside a running event loop too: the work then runs on a helper thread with its own loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from adapters.sql.tables import metadata
from adapters.sql.uow import driver_message, make_engine, unavailable
from core.ports import StorageUnavailable

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"
T = TypeVar("T")


class DatabaseMismatch(RuntimeError):
    """The database schema is not the one this PeerMatch was built for."""


class DatabaseBehind(DatabaseMismatch):
    """The database is empty or at an older revision: run ``peermatch db upgrade``."""


class DatabaseAhead(DatabaseMismatch):
    """The database was migrated by a newer PeerMatch than this one."""


def alembic_config(url: str, *, schema: str | None = None,
                   connect_args: dict[str, Any] | None = None) -> Config:
    """An Alembic Config for ``url``; env.py reads the URL and schema from its attributes."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes.update(url=url, schema=schema, connect_args=connect_args)
    return cfg


def _off_loop(fn: Callable[[], T]) -> T:
    """Run ``fn`` (which may call ``asyncio.run``) here, or on a thread when this thread
    already runs an event loop (asyncio.run cannot nest)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return fn()
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(fn).result()


def upgrade(url: str, revision: str = "head", *, schema: str | None = None) -> None:
    """Migrate the database up to ``revision`` (creating the tables on an empty one)."""
    _off_loop(lambda: command.upgrade(alembic_config(url, schema=schema), revision))


def downgrade(url: str, revision: str = "base", *, schema: str | None = None) -> None:
    """Migrate the database down to ``revision`` ("base" drops every table)."""
    _off_loop(lambda: command.downgrade(alembic_config(url, schema=schema), revision))


def head() -> str:
    """The newest revision this code knows."""
    found = ScriptDirectory.from_config(alembic_config("")).get_current_head()
    if found is None:
        raise RuntimeError(f"no migrations found in {MIGRATIONS_DIR}")
    return found


def _with_connection(url: str, schema: str | None, fn: Callable[[Connection], T]) -> T:
    async def run() -> T:
        engine = make_engine(url, schema=schema)
        try:
            async with engine.connect() as conn:
                return await conn.run_sync(fn)
        except Exception as exc:
            # An unreadable file or a server that is not there: say so, not a traceback.
            if unavailable(exc):
                raise StorageUnavailable(driver_message(exc)) from exc
            raise
        finally:
            await engine.dispose()

    return _off_loop(lambda: asyncio.run(run()))


def current(url: str, *, schema: str | None = None) -> str | None:
    """The revision the database is at; None when it was never migrated."""
    return _with_connection(url, schema,
                            lambda c: MigrationContext.configure(c).get_current_revision())


def check_up_to_date(url: str, *, schema: str | None = None) -> None:
    """Raise ``DatabaseBehind`` (or ``DatabaseAhead``) unless the database is at ``head()``.

    The bot calls this at start-up rather than migrating by itself: an operator decides
    when the schema changes (and takes a backup first).
    """
    want, have = head(), current(url, schema=schema)
    if have == want:
        return
    known = {s.revision for s in ScriptDirectory.from_config(alembic_config(url)).walk_revisions()}
    if have is not None and have not in known:
        raise DatabaseAhead(f"The database is at revision {have}, which this PeerMatch does not "
                            f"know (it needs {want}): a newer PeerMatch migrated it; upgrade "
                            f"PeerMatch.")
    shown = have if have is not None else "none (empty database)"
    raise DatabaseBehind(f"The database is at revision {shown} but this PeerMatch needs {want}: "
                         f"run `peermatch db upgrade`.")


def schema_diff(url: str, *, schema: str | None = None) -> list[Any]:
    """What autogenerate would change to make the database match the tables in code
    (an empty list when the migrations and ``adapters/sql/tables.py`` agree)."""
    def compare(conn: Connection) -> list[Any]:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True,
                                                     "target_metadata": metadata})
        return list(compare_metadata(ctx, metadata))

    return _with_connection(url, schema, compare)
