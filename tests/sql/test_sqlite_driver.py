"""The SQLite driver (adapters/sql/sqlite_driver.py): one trip to aiosqlite's thread per
statement, and everything SQLAlchemy reads from a cursor still right (rows, an empty
result, RETURNING, rowcount, executemany, errors, savepoints)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError

from adapters.sql.uow import SqlStorage


@pytest.fixture
async def bare(tmp_path: Path) -> AsyncIterator[SqlStorage]:
    storage = SqlStorage(f"sqlite+aiosqlite:///{tmp_path / 'driver.db'}")
    async with storage.engine.begin() as conn:
        await conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE)"))
    try:
        yield storage
    finally:
        await storage.dispose()


@pytest.fixture
def trips(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every function aiosqlite ran on its thread, by name (a spy, not a fake)."""
    seen: list[str] = []
    original = aiosqlite.Connection._execute

    async def spy(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(getattr(fn, "__name__", repr(fn)))
        return await original(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", spy)
    return seen


async def test_a_select_with_rows_is_one_trip(bare: SqlStorage, trips: list[str]) -> None:
    async with bare.uow_factory() as uow:
        await uow.connection.execute(text("INSERT INTO t (name) VALUES ('a'), ('b')"))
        trips.clear()
        rows = (await uow.connection.execute(text("SELECT id, name FROM t ORDER BY id"))).all()
        assert trips == ["_run"]
        await uow.commit()
    assert [tuple(r) for r in rows] == [(1, "a"), (2, "b")]


async def test_cursor_figures_survive_the_trip(bare: SqlStorage) -> None:
    async with bare.uow_factory() as uow:
        conn = uow.connection
        returned = await conn.execute(text("INSERT INTO t (name) VALUES ('x') RETURNING id"))
        assert returned.scalar_one() == 1
        inserted = await conn.execute(text("INSERT INTO t (name) VALUES ('y')"))
        assert inserted.lastrowid == 2
        await conn.exec_driver_sql("INSERT INTO t (name) VALUES (?)", [("p",), ("q",)])
        updated = await conn.execute(text("UPDATE t SET name = name || '!' WHERE id > 1"))
        assert updated.rowcount == 3
        empty = await conn.execute(text("SELECT name FROM t WHERE id > 99"))
        assert list(empty.keys()) == ["name"] and empty.all() == []
        await uow.commit()
    async with bare.uow_factory(writes=False) as uow:
        names = (await uow.connection.execute(text("SELECT name FROM t ORDER BY id"))).scalars()
        assert list(names) == ["x", "y!", "p!", "q!"]


async def test_errors_and_savepoints(bare: SqlStorage) -> None:
    async with bare.uow_factory() as uow:
        conn = uow.connection
        await conn.execute(text("INSERT INTO t (name) VALUES ('a')"))
        with pytest.raises(IntegrityError):
            async with conn.begin_nested():
                await conn.execute(text("INSERT INTO t (name) VALUES ('a')"))
        with pytest.raises(OperationalError):
            await conn.execute(text("SELECT nope FROM t"))
        assert (await conn.execute(text("SELECT count(*) FROM t"))).scalar_one() == 1
