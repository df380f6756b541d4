"""Engine, storage and unit of work on SQLAlchemy's async Core.

A unit of work is one connection and one transaction. On SQLite every transaction starts
with ``BEGIN IMMEDIATE``: concurrent tasks of the one bot process then queue on the write
lock (waiting up to the busy timeout) instead of failing with "database is locked" when a
transaction that has read tries to write. On PostgreSQL the default READ COMMITTED is used;
the outbox claim uses SKIP LOCKED and rounds take an advisory lock.
"""

from __future__ import annotations

import sqlite3
import zlib
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from sqlalchemy import event, func, select
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

from adapters.sql.repos_matches import (
    SqlFeedbackRepository,
    SqlMatchRepository,
    SqlRoundRepository,
    SqlSessionRepository,
)
from adapters.sql.repos_outbox import SqlOutboxRepository
from adapters.sql.repos_people import (
    SqlAuditRepository,
    SqlBlockRepository,
    SqlCommunityRepository,
    SqlLearnerRepository,
    SqlProfileRepository,
    SqlQueueRepository,
)
from adapters.sql.repos_proposals import SqlProposalRepository
from core import ports

# First key of the two-int advisory lock: "PM" — keeps our locks apart from other apps'.
# Advisory locks are per database, not per schema: a storage in its own schema (tests run
# side by side in one database) derives its key from the schema name instead.
ROUND_LOCK_NAMESPACE = 0x504D


def lock_namespace(schema: str | None) -> int:
    """The first advisory-lock key for a storage living in ``schema`` (an int4)."""
    return zlib.crc32(schema.encode()) & 0x7FFFFFFF if schema else ROUND_LOCK_NAMESPACE
SQLITE_BUSY_TIMEOUT_MS = 15_000


def make_engine(url: str, *, schema: str | None = None,
                connect_args: dict[str, Any] | None = None,
                foreign_keys: bool = True) -> AsyncEngine:
    """An async engine for ``url`` (``sqlite+aiosqlite:///path`` or
    ``postgresql+asyncpg://...``).

    SQLite: creates the file's folder, enables foreign keys (unless ``foreign_keys`` is
    False, which migrations need to rebuild tables), WAL, a busy timeout and real
    transactions. PostgreSQL: ``schema`` sets the ``search_path`` (tests use a private
    schema per session). ``connect_args`` go to the driver as given.
    """
    parsed = make_url(url)
    args = dict(connect_args or {})
    if parsed.get_backend_name() == "sqlite":
        if (
            parsed.database
            and parsed.database != ":memory:"
            and not parsed.database.startswith("file:")
        ):
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(parsed, connect_args=args)
        _sqlite_events(engine, foreign_keys)
        return engine
    if schema:
        settings = dict(args.get("server_settings", {}))
        settings["search_path"] = schema
        args["server_settings"] = settings
    return create_async_engine(parsed, connect_args=args, pool_pre_ping=True)


def _sqlite_events(engine: AsyncEngine, foreign_keys: bool) -> None:
    # The DB-API connection (aiosqlite's adapter around sqlite3) has no useful static type:
    # SQLAlchemy's DBAPIConnection protocol lacks `isolation_level`.
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        # Take BEGIN away from the sqlite3 module (it skips it for SELECT and SAVEPOINT);
        # SQLAlchemy emits it below, so transactions and savepoints really work.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute(f"PRAGMA foreign_keys = {'ON' if foreign_keys else 'OFF'}")
        try:
            # WAL lets readers work beside the writer and is stored in the file, so only the
            # first connection ever switches. Switching needs the database to itself and does
            # not wait for the busy timeout: if another connection is busy right now, stay
            # in the current mode and let a later connection switch.
            cursor.execute("PRAGMA journal_mode = WAL")
        except sqlite3.OperationalError:
            pass
        finally:
            cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


class SqlUnitOfWork:
    """One transaction; ``async with`` opens it, leaving without ``commit`` rolls back.

    After ``commit`` the unit of work may be used again: the next statement begins a new
    transaction.
    """

    def __init__(self, engine: AsyncEngine, lock_key: int = ROUND_LOCK_NAMESPACE) -> None:
        self._engine = engine
        self._lock_key = lock_key
        self._conn: AsyncConnection | None = None
        self.communities: ports.CommunityRepository = SqlCommunityRepository(self)
        self.learners: ports.LearnerRepository = SqlLearnerRepository(self)
        self.profiles: ports.ProfileRepository = SqlProfileRepository(self)
        self.queue: ports.QueueRepository = SqlQueueRepository(self)
        self.matches: ports.MatchRepository = SqlMatchRepository(self)
        self.blocks: ports.BlockRepository = SqlBlockRepository(self)
        self.rounds: ports.RoundRepository = SqlRoundRepository(self)
        self.sessions: ports.SessionRepository = SqlSessionRepository(self)
        self.proposals: ports.ProposalRepository = SqlProposalRepository(self)
        self.feedback: ports.FeedbackRepository = SqlFeedbackRepository(self)
        self.outbox: ports.OutboxRepository = SqlOutboxRepository(self)
        self.audit: ports.AuditRepository = SqlAuditRepository(self)

    @property
    def connection(self) -> AsyncConnection:
        """The open connection; repositories run their statements on it."""
        if self._conn is None:
            raise RuntimeError("unit of work used outside `async with`")
        return self._conn

    async def __aenter__(self) -> Self:
        if self._conn is not None:
            raise RuntimeError("unit of work entered twice")
        conn = await self._engine.connect()
        try:
            await conn.begin()
        except BaseException:
            await conn.close()
            raise
        self._conn = conn
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            if conn.in_transaction():
                await conn.rollback()
        finally:
            await conn.close()

    async def commit(self) -> None:
        await self.connection.commit()

    async def rollback(self) -> None:
        await self.connection.rollback()

    async def lock_community(self, community_id: int) -> bool:
        """The per-community round lock, held until this transaction ends.

        PostgreSQL: ``pg_try_advisory_xact_lock``. SQLite: always True, since the
        ``BEGIN IMMEDIATE`` write lock already serialises transactions.
        """
        conn = self.connection
        if conn.dialect.name != "postgresql":
            return True
        got = await conn.scalar(
            select(func.pg_try_advisory_xact_lock(self._lock_key, community_id))
        )
        return bool(got)


class SqlStorage:
    """The application's storage: an engine plus a unit-of-work factory."""

    def __init__(self, url: str, *, schema: str | None = None,
                 connect_args: dict[str, Any] | None = None) -> None:
        self.url = url
        self.schema = schema
        self.engine = make_engine(url, schema=schema, connect_args=connect_args)

    def uow_factory(self) -> SqlUnitOfWork:
        """A new unit of work (pass ``storage.uow_factory`` as ``UnitOfWorkFactory``)."""
        return SqlUnitOfWork(self.engine, lock_namespace(self.schema))

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()
