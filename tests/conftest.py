"""Shared fixtures: a fake clock and storage on memory, SQLite and PostgreSQL.

- ``clock``: a FakeClock at Monday 2026-03-02 09:00 UTC.
- ``storage``: parametrized over ``memory``, ``sqlite`` and ``postgres``; has
  ``.uow_factory()``. Every test gets empty tables.
- ``memory_storage``, ``sqlite_storage``, ``pg_storage``: one backend each.

PostgreSQL: ``PEERMATCH_TEST_POSTGRES_URL`` (default
``postgresql+asyncpg://postgres@127.0.0.1:5432/test``). Several people run tests against the
same server at once, so each test session migrates its own schema ``pm_test_<hex>``, empties
its tables between tests and drops the schema at the end. When the server is unreachable
PostgreSQL tests are skipped, or fail when ``CI=true``.
"""

from __future__ import annotations

import os
import secrets
import shutil
import sqlite3
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

# `from tests.fakes import ...` must work however pytest was started.
_ROOT = str(Path(__file__).resolve().parent.parent)
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from adapters.sql import migrate  # noqa: E402
from adapters.sql.tables import metadata  # noqa: E402
from adapters.sql.uow import SqlStorage  # noqa: E402
from tests.fakes import FakeClock, InMemoryStorage  # noqa: E402
from tests.sql.support import PgDatabase, create_schema, drop_schema  # noqa: E402

DEFAULT_PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Tests that use PostgreSQL directly carry the marker too (`-m "not postgres"`).
    for item in items:
        names = getattr(item, "fixturenames", ())
        if "pg_storage" in names or "pg_database" in names:
            item.add_marker(pytest.mark.postgres)


@pytest.fixture
def clock() -> FakeClock:
    """A FakeClock at Monday 2026-03-02 09:00 UTC."""
    return FakeClock()


@pytest.fixture
def memory_storage() -> InMemoryStorage:
    return InMemoryStorage()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file; each test works on a fresh copy of it."""
    path = tmp_path_factory.mktemp("sqlite") / "template.db"
    migrate.upgrade(f"sqlite+aiosqlite:///{path}")
    # Fold the WAL into the main file so that copying the file copies everything; the copy
    # stays in WAL mode, so no test's first connections race to switch the journal mode.
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return path


def _copy_sqlite(template: Path, tmp_path: Path) -> SqlStorage:
    path = tmp_path / "peermatch.db"
    shutil.copyfile(template, path)
    return SqlStorage(f"sqlite+aiosqlite:///{path}")


@pytest.fixture(scope="session")
def pg_database() -> Iterator[PgDatabase]:
    """This session's own migrated schema on the test PostgreSQL server."""
    url = os.environ.get("PEERMATCH_TEST_POSTGRES_URL", DEFAULT_PG_URL)
    schema = f"pm_test_{secrets.token_hex(6)}"
    try:
        create_schema(url, schema)
    except Exception as exc:  # refused, unknown host, auth, timeout: all mean "no server"
        message = f"PostgreSQL at {url} is unreachable: {type(exc).__name__}: {exc}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    try:
        migrate.upgrade(url, schema=schema)
        yield PgDatabase(url, schema)
    finally:
        drop_schema(url, schema)


async def _empty_pg(db: PgDatabase) -> SqlStorage:
    storage = db.storage()
    names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    async with storage.engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    return storage


@pytest.fixture
async def sqlite_storage(sqlite_template: Path, tmp_path: Path) -> AsyncIterator[SqlStorage]:
    storage = _copy_sqlite(sqlite_template, tmp_path)
    yield storage
    await storage.dispose()


@pytest.fixture
async def pg_storage(pg_database: PgDatabase) -> AsyncIterator[SqlStorage]:
    storage = await _empty_pg(pg_database)
    yield storage
    await storage.dispose()


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def storage(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Any]:
    """Empty storage on each backend in turn; the SQL ones are fully migrated."""
    if request.param == "memory":
        yield InMemoryStorage()
        return
    if request.param == "sqlite":
        sql = _copy_sqlite(request.getfixturevalue("sqlite_template"), tmp_path)
    else:
        sql = await _empty_pg(request.getfixturevalue("pg_database"))
    try:
        yield sql
    finally:
        await sql.dispose()
