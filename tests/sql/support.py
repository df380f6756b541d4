"""Helpers for the SQL fixtures and tests: running a coroutine from sync code, and a
PostgreSQL schema of one's own (created, migrated, dropped)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from adapters.sql.uow import SqlStorage, make_engine

T = TypeVar("T")


def run_sync(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine to completion from sync code, even inside a running loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make())
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(make())).result()


@dataclass(frozen=True)
class PgDatabase:
    """A migrated PostgreSQL schema of this test session."""

    url: str
    schema: str

    def storage(self) -> SqlStorage:
        return SqlStorage(self.url, schema=self.schema)


async def _schema_ddl(url: str, sql: str, **connect_args: Any) -> None:
    engine = make_engine(url, connect_args=connect_args)
    try:
        async with engine.begin() as conn:
            await conn.execute(text(sql))
    finally:
        await engine.dispose()


def create_schema(url: str, schema: str, timeout: float = 5) -> None:
    """Create an empty schema (raises when the server cannot be reached in time)."""
    run_sync(lambda: _schema_ddl(url, f'CREATE SCHEMA "{schema}"', timeout=timeout))


async def create_database(server: str, prefix: str) -> str:
    """A fresh, empty PostgreSQL database on ``server`` (a URL naming any database) for
    real processes, which cannot share a test's schema; returns its URL."""
    import secrets

    name = f"{prefix}_{secrets.token_hex(4)}"
    engine = create_async_engine(server, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        await engine.dispose()
    return server.rsplit("/", 1)[0] + "/" + name


async def drop_database(server: str, url: str) -> None:
    """Drop a database made by ``create_database``, connections and all."""
    name = url.rsplit("/", 1)[1]
    engine = create_async_engine(server, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await engine.dispose()


def drop_schema(url: str, schema: str) -> None:
    """Drop a schema and everything in it."""
    run_sync(lambda: _schema_ddl(url, f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
