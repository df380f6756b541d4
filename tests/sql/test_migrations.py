"""Migrations: up, down and up again on SQLite and PostgreSQL; the revision matches the
tables in code (autogenerate finds nothing to do); the bot refuses an outdated database."""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import inspect

from adapters.sql import migrate
from adapters.sql.tables import metadata
from adapters.sql.uow import make_engine
from tests.sql.support import PgDatabase, create_schema, drop_schema, run_sync

TABLES = {t.name for t in metadata.sorted_tables}


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'sub' / 'dir' / 'pm.db'}"  # folders get created


@pytest.fixture
def pg_fresh(pg_database: PgDatabase) -> Iterator[tuple[str, str]]:
    """An empty schema of its own (this test migrates it up and down)."""
    schema = f"{pg_database.schema}_m{secrets.token_hex(3)}"
    create_schema(pg_database.url, schema)
    try:
        yield pg_database.url, schema
    finally:
        drop_schema(pg_database.url, schema)


def _tables(url: str, schema: str | None) -> set[str]:
    async def names() -> set[str]:
        engine = make_engine(url, schema=schema)
        try:
            async with engine.connect() as conn:
                return set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
        finally:
            await engine.dispose()

    return run_sync(names)


def _up_down_up(url: str, schema: str | None) -> None:
    assert migrate.current(url, schema=schema) is None
    migrate.upgrade(url, schema=schema)
    assert migrate.current(url, schema=schema) == migrate.head()
    assert _tables(url, schema) == TABLES | {"alembic_version"}
    assert migrate.schema_diff(url, schema=schema) == []
    migrate.check_up_to_date(url, schema=schema)

    migrate.downgrade(url, "base", schema=schema)
    assert migrate.current(url, schema=schema) is None
    assert _tables(url, schema) == {"alembic_version"}
    # The comparison is not blind: on an empty database it wants every table.
    wanted = {d[1].name for d in migrate.schema_diff(url, schema=schema) if d[0] == "add_table"}
    assert wanted == TABLES

    migrate.upgrade(url, schema=schema)
    assert migrate.schema_diff(url, schema=schema) == []


def test_up_down_up_sqlite(sqlite_url: str) -> None:
    _up_down_up(sqlite_url, None)


def test_up_down_up_postgres(pg_fresh: tuple[str, str]) -> None:
    _up_down_up(*pg_fresh)


def test_migrations_stay_in_the_given_postgres_schema(pg_fresh: tuple[str, str]) -> None:
    url, schema = pg_fresh
    migrate.upgrade(url, schema=schema)
    assert "alembic_version" in _tables(url, schema)
    # Other sessions' schemas (and public) are untouched: only ours got the version table.
    assert migrate.current(url, schema=f"{schema}_absent") is None


def test_check_up_to_date_refuses_an_empty_database(sqlite_url: str) -> None:
    with pytest.raises(migrate.DatabaseBehind) as err:
        migrate.check_up_to_date(sqlite_url)
    message = str(err.value)
    assert "none" in message and migrate.head() in message
    assert "run `peermatch db upgrade`" in message


def test_check_up_to_date_refuses_a_database_behind(sqlite_url: str,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    migrate.upgrade(sqlite_url)
    old = migrate.head()
    # Pretend this code has a newer revision than the database.
    monkeypatch.setattr(migrate, "head", lambda: "0999")
    with pytest.raises(migrate.DatabaseBehind) as err:
        migrate.check_up_to_date(sqlite_url)
    assert str(err.value) == (f"The database is at revision {old} but this PeerMatch needs 0999: "
                              "run `peermatch db upgrade`.")


def test_check_up_to_date_refuses_a_database_ahead(sqlite_url: str) -> None:
    migrate.upgrade(sqlite_url)
    path = sqlite_url.removeprefix("sqlite+aiosqlite:///")
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE alembic_version SET version_num = 'f00d'")
    with pytest.raises(migrate.DatabaseAhead, match="f00d"):
        migrate.check_up_to_date(sqlite_url)


def test_check_up_to_date_on_postgres(pg_fresh: tuple[str, str]) -> None:
    url, schema = pg_fresh
    with pytest.raises(migrate.DatabaseBehind, match="peermatch db upgrade"):
        migrate.check_up_to_date(url, schema=schema)
    migrate.upgrade(url, schema=schema)
    migrate.check_up_to_date(url, schema=schema)


async def test_migrate_functions_work_inside_an_event_loop(sqlite_url: str) -> None:
    # The bot may call these from its async start-up: asyncio.run cannot nest there.
    migrate.upgrade(sqlite_url)
    assert migrate.current(sqlite_url) == migrate.head()
    migrate.check_up_to_date(sqlite_url)
