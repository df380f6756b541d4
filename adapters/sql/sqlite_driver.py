"""aiosqlite with one trip to its thread per statement.

SQLAlchemy's aiosqlite adapter hands every statement to aiosqlite's worker thread several
times: make a cursor, execute, fetch the rows, close the cursor; each hand-off is a queue
put, a wake-up of the thread, a ``call_soon_threadsafe`` back and a switch of the GIL both
ways. Under load those hand-offs were the largest single cost of a command on SQLite (41 %
of the bot's samples at 150 Slack requests/s, most of it the event loop waiting for the
GIL to come back from the thread).

This module keeps aiosqlite (its thread per connection, its connect and close) and
SQLAlchemy's aiosqlite dialect (pool, ``is_disconnect``, terminate), and replaces only the
DB-API cursor: ``execute`` runs the statement, reads its description, rowcount, last row
id and all its rows and closes the sqlite3 cursor, in one function on the thread, so one
hand-off. ``make_engine`` passes ``dbapi()`` as the engine's ``module``.

aiosqlite's ``Connection._execute(fn, *args)`` (queue a function for its thread, await its
result) is not public API, but it is the primitive behind every public method and
SQLAlchemy's adapter uses the same queue (``_tx``); pyproject pins aiosqlite below the next
minor version so a change there is seen in the tests first.
"""

from __future__ import annotations

import collections
import sqlite3
from collections.abc import Iterator, Sequence
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util.concurrency import await_

# What one statement leaves behind: description, rowcount, lastrowid, rows.
_Outcome = tuple[Any, int, int | None, list[Any]]


def _run(conn: sqlite3.Connection, sql: str, parameters: Any) -> _Outcome:
    """On aiosqlite's thread: the statement and everything SQLAlchemy reads from its cursor."""
    cursor = conn.cursor()
    try:
        if parameters is None:
            cursor.execute(sql)
        else:
            cursor.execute(sql, parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else []
        return description, cursor.rowcount, cursor.lastrowid, rows
    finally:
        cursor.close()


def _run_many(conn: sqlite3.Connection, sql: str, parameters: Any) -> _Outcome:
    """On aiosqlite's thread: one executemany (no rows come back from one)."""
    cursor = conn.cursor()
    try:
        cursor.executemany(sql, parameters)
        return cursor.description, cursor.rowcount, cursor.lastrowid, []
    finally:
        cursor.close()


class OneHopCursor:
    """A DB-API cursor whose statement and rows travel in one trip (module docstring).

    SQLAlchemy calls it from inside its greenlet, as it calls its own adapter's cursors;
    the rows are buffered, as SQLAlchemy's aiosqlite cursor buffers them (server-side
    cursors stay aiosqlite's own: ``OneHopConnection.cursor(server_side=True)``)."""

    server_side = False
    arraysize = 1

    def __init__(self, adapt_connection: OneHopConnection) -> None:
        self._adapt = adapt_connection
        self.description: Any = None
        self.rowcount = -1
        self.lastrowid: int | None = None
        self._rows: collections.deque[Any] = collections.deque()

    def _call(self, fn: Any, operation: str, parameters: Any) -> None:
        driver: aiosqlite.Connection = self._adapt._connection  # type: ignore[assignment]
        try:
            outcome: _Outcome = await_(
                driver._execute(fn, driver._conn, operation, parameters)  # type: ignore[no-untyped-call]
            )
        except Exception as error:
            self._adapt._handle_exception(error)
        self.description, self.rowcount, self.lastrowid, rows = outcome
        self._rows = collections.deque(rows)

    def execute(self, operation: str, parameters: Any = None) -> None:
        """Run one statement and buffer its rows."""
        self._call(_run, operation, parameters)

    def executemany(self, operation: str, seq_of_parameters: Any) -> None:
        """Run one statement for each parameter set."""
        self._call(_run_many, operation, seq_of_parameters)

    def fetchone(self) -> Any:
        return self._rows.popleft() if self._rows else None

    def fetchmany(self, size: int | None = None) -> Sequence[Any]:
        rows = self._rows
        return [rows.popleft() for _ in range(min(size or self.arraysize, len(rows)))]

    def fetchall(self) -> Sequence[Any]:
        rows = list(self._rows)
        self._rows.clear()
        return rows

    def __iter__(self) -> Iterator[Any]:
        while self._rows:
            yield self._rows.popleft()

    def close(self) -> None:
        """Nothing is held on the thread (the sqlite3 cursor closed with its statement)."""
        self._rows.clear()

    async def _async_soft_close(self) -> None:
        """SQLAlchemy's asyncio layer calls this before handing a result over: the
        sqlite3 cursor is closed already and the rows stay buffered."""

    def setinputsizes(self, *_sizes: Any) -> None:
        """DB-API: nothing to do for SQLite."""

    def setoutputsize(self, *_args: Any) -> None:
        """DB-API: nothing to do for SQLite."""


class OneHopConnection(AsyncAdapt_aiosqlite_connection):
    """SQLAlchemy's aiosqlite connection, handing out one-hop cursors."""

    __slots__ = ()

    def cursor(self, server_side: bool = False) -> Any:
        if server_side:
            return super().cursor(server_side=True)
        return OneHopCursor(self)


class OneHopDbapi(AsyncAdapt_aiosqlite_dbapi):
    """SQLAlchemy's aiosqlite DB-API module, whose connections are ``OneHopConnection``."""

    def connect(self, *arg: Any, **kw: Any) -> OneHopConnection:
        adapted = super().connect(*arg, **kw)
        return OneHopConnection(self, adapted._connection)


def dbapi() -> OneHopDbapi:
    """The DB-API module to pass to ``create_async_engine(..., module=...)`` for SQLite."""
    return OneHopDbapi(aiosqlite, sqlite3)
