"""Engine, storage and unit of work on SQLAlchemy's async Core.

A unit of work is one connection and one transaction, made for reading or for writing
(``storage.uow_factory(writes=False)``; writing is the default). SQLite runs in WAL mode with
a busy timeout, so readers work beside the one writer:

- a unit that only reads begins DEFERRED (``BEGIN``): it never takes the write lock, never
  waits for it, and sees one consistent snapshot; it refuses to write (``ReadOnlyUnit``),
  since a deferred transaction that read first cannot safely become a writer (SQLite
  answers "database is locked" at once, without waiting, when another writer committed
  since its snapshot);
- a unit that may write begins ``BEGIN IMMEDIATE``: it takes the write lock up front, so
  concurrent writers of the one bot process queue on it (waiting up to the busy timeout)
  instead of failing half-way. We chose an explicit flag over upgrading lazily for that
  reason: a lazy upgrade is exactly the read-then-write that fails.

On PostgreSQL the default READ COMMITTED is used; connections have a connect timeout and a
statement timeout (server side, plus a client-side guard a little longer, for a network
that drops packets), and the pool pings a connection before handing it out. The outbox
claim uses SKIP LOCKED and rounds and manual pairs take an advisory lock.

Driver errors that mean "the database is not there right now" (refused or dropped
connections, timeouts, SQLite busy or read-only) leave a unit of work as the core's
``StorageUnavailable``; uniqueness violations become ``StorageConflict`` in the repositories.
"""

from __future__ import annotations

import asyncio
import sqlite3
import zlib
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from sqlalchemy import event, func, select, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry, NullPool

from adapters.sql import sqlite_driver
from adapters.sql.repos_accepted import SqlAcceptedWorkRepository
from adapters.sql.repos_matches import (
    SqlFeedbackRepository,
    SqlMatchRepository,
    SqlRoundRepository,
    SqlSessionRepository,
)
from adapters.sql.repos_office_hours import SqlOfficeHourRepository
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
from adapters.sql.repos_stats import SqlStatsRepository
from adapters.sql.repos_support import SqlSupportOfferRepository, SqlVerificationRepository
from adapters.sql.waiting_lines import Change, WaitingLines
from core import ports

# First key of the two-int advisory lock: "PM" — keeps our locks apart from other apps'.
# Advisory locks are per database, not per schema: a storage in its own schema (tests run
# side by side in one database) derives its key from the schema name instead.
ROUND_LOCK_NAMESPACE = 0x504D


def lock_namespace(schema: str | None) -> int:
    """The first advisory-lock key for a storage living in ``schema`` (an int4)."""
    return zlib.crc32(schema.encode()) & 0x7FFFFFFF if schema else ROUND_LOCK_NAMESPACE
SQLITE_BUSY_TIMEOUT_MS = 15_000
CONNECT_TIMEOUT_SECONDS = 5.0
STATEMENT_TIMEOUT_SECONDS = 10.0
# The client gives the server this much longer than its own statement timeout: normally the
# server cancels (and says so); the client's guard only fires when no answer can come.
_CLIENT_GRACE_SECONDS = 2.0
# An execution option on a unit's connection: False = a read-only unit (see the docstring).
_WRITES = "peermatch_writes"
READ_ONLY: dict[str, Any] = {_WRITES: False}  # execution options of a read-only connection
# What a read-only unit may send: reads, and the transaction and savepoint plumbing.
_READ_VERBS = frozenset({"SELECT", "WITH", "PRAGMA", "SAVEPOINT", "RELEASE", "ROLLBACK",
                         "BEGIN", "COMMIT", "SHOW", "VALUES", "EXPLAIN"})


def make_engine(url: str, *, schema: str | None = None,
                connect_args: dict[str, Any] | None = None,
                foreign_keys: bool = True,
                connect_timeout: float = CONNECT_TIMEOUT_SECONDS,
                statement_timeout: float = STATEMENT_TIMEOUT_SECONDS,
                custom_plans: bool = False, pooled: bool = True) -> AsyncEngine:
    """An async engine for ``url`` (``sqlite+aiosqlite:///path`` or
    ``postgresql+asyncpg://...``).

    SQLite: statements go to aiosqlite's thread in one trip each (``sqlite_driver``);
    creates the file's folder, enables foreign keys (unless ``foreign_keys`` is
    False, which migrations need to rebuild tables), WAL, a busy timeout and real
    transactions (DEFERRED for read-only units, IMMEDIATE for the others). PostgreSQL:
    ``connect_timeout`` bounds opening a connection (and waiting for a pooled one),
    ``statement_timeout`` every statement (0 = no limit); ``schema`` sets the
    ``search_path`` (tests use a private schema per session); ``custom_plans`` plans every
    statement for its parameters (for bulk loads into tables that grow as they load: see
    below). ``connect_args`` go to the driver as given and win over these. ``pooled=False``:
    a connection per use, outside any pool (the waiting lines' reloads).
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
        # Statements travel to aiosqlite's thread once each, rows included (sqlite_driver.py).
        engine = create_async_engine(parsed, connect_args=args, module=sqlite_driver.dbapi(),
                                     **({} if pooled else {"poolclass": NullPool}))
        _sqlite_events(engine, foreign_keys)
        _read_only_guard(engine)
        return engine
    settings = dict(args.get("server_settings", {}))
    if custom_plans:
        # asyncpg prepares every statement, and after five runs PostgreSQL may keep one
        # generic plan for it. A plan made while a table was small (every community starts
        # empty; an import fills it) stays a sequential scan as the table grows:
        # ``platform_user_id = ANY(:ids)`` took 10.7 of 19.2 s of a 20,000-row import, 297 s
        # at 100,000. Not for every connection: planning each of a round store's many
        # executions (and its triggers' statements) doubled that store (10.8 -> 21.8 s).
        settings.setdefault("plan_cache_mode", "force_custom_plan")
    if schema:
        settings["search_path"] = schema
    if statement_timeout > 0:
        settings.setdefault("statement_timeout", str(int(statement_timeout * 1000)))
        args.setdefault("command_timeout", statement_timeout + _CLIENT_GRACE_SECONDS)
    args["server_settings"] = settings
    args.setdefault("timeout", connect_timeout)  # asyncpg's connect timeout
    pooling: dict[str, Any] = ({"pool_pre_ping": True, "pool_timeout": connect_timeout}
                               if pooled else {"poolclass": NullPool})
    engine = create_async_engine(parsed, connect_args=args, **pooling)
    _read_only_guard(engine)
    return engine


def _writes(conn: Connection) -> bool:
    return bool(conn.get_execution_options().get(_WRITES, True))


def _read_only_guard(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _refuse_writes(conn: Connection, _cursor: Any, statement: str, *_: Any) -> None:
        if _writes(conn):
            return
        verb = statement.lstrip(" \n\t(").split(None, 1)[0].upper() if statement.strip() else ""
        if verb not in _READ_VERBS:
            raise ports.ReadOnlyUnit(f"a read-only unit of work tried to write: {statement[:60]!r}")


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
        # Writers lock up front; readers take a snapshot and never wait (module docstring).
        conn.exec_driver_sql("BEGIN IMMEDIATE" if _writes(conn) else "BEGIN")


# PostgreSQL SQLSTATEs meaning "not now" rather than "wrong": statement timeout, lock not
# available, server shutting down or starting, too many connections, read-only (standby).
# Class 08 (connection exceptions) counts too. asyncpg reports some of these as a plain
# DBAPI Error, so the code is read from the driver's exception.
_UNAVAILABLE_SQLSTATES = frozenset({"57014", "55P03", "57P01", "57P02", "57P03", "53300",
                                    "25006"})


def _sqlstate(exc: BaseException) -> str:
    seen: BaseException | None = exc
    for _ in range(4):  # SQLAlchemy's error -> the adapter's -> the driver's
        if seen is None:
            break
        code = getattr(seen, "sqlstate", None)
        if isinstance(code, str):
            return code
        seen = getattr(seen, "orig", None) or seen.__cause__
    return ""


def unavailable(exc: BaseException) -> bool:
    """Whether a driver error means the database is unreachable, too slow or refusing
    writes (rather than a bug or a broken rule): what ``StorageUnavailable`` stands for."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, OperationalError | InterfaceError):
        return True
    code = _sqlstate(exc)
    if code.startswith("08") or code in _UNAVAILABLE_SQLSTATES:
        return True
    return isinstance(exc, TimeoutError | asyncio.TimeoutError | ConnectionError | OSError)


class SqlUnitOfWork:
    """One transaction; ``async with`` opens it, leaving without ``commit`` rolls back.

    After ``commit`` the unit of work may be used again: the next statement begins a new
    transaction (of the same kind: reading or writing). Driver errors meaning the database
    is unavailable leave the ``async with`` block as ``StorageUnavailable``.
    """

    def __init__(self, engine: AsyncEngine, lock_key: int = ROUND_LOCK_NAMESPACE, *,
                 writes: bool = True, lines: WaitingLines | None = None,
                 lines_engine: AsyncEngine | None = None) -> None:
        self._engine = engine
        self._lock_key = lock_key
        self.writes = writes
        self._conn: AsyncConnection | None = None
        # The storage's kept waiting lines (waiting_lines.py; a unit of its own without
        # one), this unit's changes to them until it commits, and where their journal
        # stood before this transaction's snapshot.
        self.lines = lines if lines is not None else WaitingLines()
        # Where a line is read again: its own connection, never one of the pool that busy
        # units hold (one reload at a time per community; lines_sql.py).
        self.lines_engine = lines_engine or engine
        self.line_changes: list[Change] = []
        self.lines_mark = 0
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
        self.accepted: ports.AcceptedWorkRepository = SqlAcceptedWorkRepository(self)
        self.office_hours: ports.OfficeHourRepository = SqlOfficeHourRepository(self)
        self.offers: ports.SupportOfferRepository = SqlSupportOfferRepository(self)
        self.verifications: ports.VerificationRepository = SqlVerificationRepository(self)
        self.stats: ports.StatsRepository = SqlStatsRepository(self)

    @property
    def connection(self) -> AsyncConnection:
        """The open connection; repositories run their statements on it."""
        if self._conn is None:
            raise RuntimeError("unit of work used outside `async with`")
        return self._conn

    async def __aenter__(self) -> Self:
        if self._conn is not None:
            raise RuntimeError("unit of work entered twice")
        self.line_changes, self.lines_mark = [], self.lines.mark()
        try:
            conn = await self._engine.connect()
        except Exception as exc:
            raise _translated(exc) from exc
        try:
            await conn.execution_options(**{_WRITES: self.writes})
            await conn.begin()
        except BaseException as exc:
            await _quietly_close(conn)
            if isinstance(exc, Exception):
                raise _translated(exc) from exc
            raise
        self._conn = conn
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        conn, self._conn = self._conn, None
        self.line_changes = []  # not committed: never happened
        if conn is None:
            return
        if exc is not None and unavailable(exc):
            # The connection may be dead: close it without letting its own errors mask
            # the cause, and tell the core in its own words.
            await _quietly_close(conn)
            raise ports.StorageUnavailable(driver_message(exc)) from exc
        try:
            if conn.in_transaction():
                await conn.rollback()
        finally:
            await conn.close()

    async def commit(self) -> None:
        await self.connection.commit()
        changes, self.line_changes = self.line_changes, []
        self.lines.apply(changes)
        self.lines_mark = self.lines.mark()  # the next transaction's snapshot is later

    async def rollback(self) -> None:
        await self.connection.rollback()
        self.line_changes, self.lines_mark = [], self.lines.mark()

    def note(self, change: Change) -> None:
        """A repository's change to the waiting lines, kept when this unit commits."""
        self.line_changes.append(change)

    async def lock_community(self, community_id: int, *, wait: bool = False) -> bool:
        """The per-community round lock, held until this transaction ends.

        PostgreSQL: ``pg_try_advisory_xact_lock``, or with ``wait`` ``pg_advisory_xact_lock``
        (bounded by the statement timeout; a timeout raises ``StorageUnavailable`` when the
        unit ends). SQLite: always True, since a writing unit's ``BEGIN IMMEDIATE`` write
        lock already serialises writers (and a read-only unit stores nothing to guard).
        """
        conn = self.connection
        if conn.dialect.name != "postgresql":
            return True
        if wait:
            await conn.execute(select(func.pg_advisory_xact_lock(self._lock_key, community_id)))
            return True
        got = await conn.scalar(
            select(func.pg_try_advisory_xact_lock(self._lock_key, community_id))
        )
        return bool(got)


def _translated(exc: Exception) -> Exception:
    return ports.StorageUnavailable(driver_message(exc)) if unavailable(exc) else exc


def driver_message(exc: BaseException) -> str:
    """The driver's own words (without SQLAlchemy's SQL echo and links), for messages."""
    orig = exc.orig if isinstance(exc, DBAPIError) else None
    return str(orig or exc) or type(exc).__name__


async def _quietly_close(conn: AsyncConnection) -> None:
    try:
        await conn.close()
    except Exception:  # noqa: BLE001 - already failing for a better-known reason
        await conn.invalidate()


class SqlStorage:
    """The application's storage: an engine plus a unit-of-work factory."""

    def __init__(self, url: str, *, schema: str | None = None,
                 connect_args: dict[str, Any] | None = None,
                 connect_timeout: float = CONNECT_TIMEOUT_SECONDS,
                 statement_timeout: float = STATEMENT_TIMEOUT_SECONDS,
                 custom_plans: bool = False) -> None:
        self.url = url
        self.schema = schema
        self.engine = make_engine(url, schema=schema, connect_args=connect_args,
                                  connect_timeout=connect_timeout,
                                  statement_timeout=statement_timeout,
                                  custom_plans=custom_plans)
        # Places in line and queue counts without counting the queue (waiting_lines.py).
        self.lines = WaitingLines()
        self._lines_engine = make_engine(url, schema=schema, connect_args=connect_args,
                                         connect_timeout=connect_timeout,
                                         statement_timeout=statement_timeout, pooled=False)

    def uow_factory(self, *, writes: bool = True) -> SqlUnitOfWork:
        """A new unit of work (pass ``storage.uow_factory`` as ``UnitOfWorkFactory``);
        ``writes=False`` for one that only reads (see the module docstring)."""
        return SqlUnitOfWork(self.engine, lock_namespace(self.schema), writes=writes,
                             lines=self.lines, lines_engine=self._lines_engine)

    async def check_writable(self) -> None:
        """Raise ``StorageUnavailable`` unless the database takes writes now (start-up
        check: a read-only file or a standby server would otherwise answer every command
        with an error). Writes a table and rolls it back: nothing is kept."""
        async with self.uow_factory() as uow:
            conn = uow.connection
            try:
                await conn.execute(text("CREATE TABLE peermatch_write_check (x INTEGER)"))
                await conn.execute(text("INSERT INTO peermatch_write_check (x) VALUES (1)"))
            finally:
                await conn.rollback()

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()
        await self._lines_engine.dispose()
