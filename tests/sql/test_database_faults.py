"""Database faults (issue 10.6, database half): a database that is not there, too slow or
read-only gets one clear reply; two first commands of a newcomer at once both succeed; a
read-only unit of work never writes, and never waits for a writer."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from adapters.sql.uow import SqlStorage
from core.ports import ReadOnlyUnit, StorageUnavailable
from core.services.context import Actor, CommandRequest, Services
from core.services.dispatch import UNAVAILABLE, handle
from tests.fakes import FakeClock
from tests.helpers import Bot


def _status(user: str = "ana") -> CommandRequest:
    return CommandRequest("test", "guild-1", Actor(user, user.capitalize()), "peer status")


async def test_an_unreachable_database_gets_a_clear_reply() -> None:
    # Nothing listens on port 1: the connection is refused at once.
    storage = SqlStorage("postgresql+asyncpg://postgres@127.0.0.1:1/test", connect_timeout=1)
    try:
        reply = await handle(Services(storage.uow_factory, FakeClock()), _status())
    finally:
        await storage.dispose()
    assert not reply.ok and reply.text == UNAVAILABLE


@pytest.mark.postgres
async def test_a_statement_that_hangs_is_cut_by_the_statement_timeout(pg_database: Any) -> None:
    """A table locked by someone else (as a stuck migration or a partition would): the
    command waits for the statement timeout, not for ever, then answers clearly."""
    holder = pg_database.storage()
    storage = SqlStorage(pg_database.url, schema=pg_database.schema, statement_timeout=0.5)
    try:
        async with holder.engine.connect() as conn:
            await conn.execute(text("LOCK TABLE communities IN ACCESS EXCLUSIVE MODE"))
            # wait_for only guards the test run from hanging if the timeout were missing.
            reply = await asyncio.wait_for(
                handle(Services(storage.uow_factory, FakeClock()), _status()), 120)
            await conn.rollback()
    finally:
        await storage.dispose()
        await holder.dispose()
    assert not reply.ok and reply.text == UNAVAILABLE


async def test_a_read_only_sqlite_file_gets_a_clear_reply(sqlite_storage: Any) -> None:
    bot = Bot(sqlite_storage)
    assert (await bot.join("ana")).ok
    await sqlite_storage.dispose()
    path = Path(sqlite_storage.engine.url.database)
    # SQLite's read-only open: what a chmod'ed file or a read-only mount means to SQLite
    # (root, which tests may run as, ignores file modes).
    read_only = SqlStorage(f"sqlite+aiosqlite:///file:{path}?mode=ro&uri=true")
    try:
        services = Services(read_only.uow_factory, bot.clock)
        status = await handle(services, _status())  # reading still works
        assert status.ok and "In the queue" in status.text
        leave = await handle(services, CommandRequest("test", "guild-1", Actor("ana", "Ana"),
                                                      "peer leave"))
        assert not leave.ok and leave.text == UNAVAILABLE
        with pytest.raises(StorageUnavailable):
            await read_only.check_writable()
    finally:
        await read_only.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def storage_sql(request: pytest.FixtureRequest) -> Any:
    return request.getfixturevalue(f"{'pg' if request.param == 'postgres' else 'sqlite'}_storage")


async def test_the_write_check_keeps_nothing(storage_sql: Any) -> None:
    await storage_sql.check_writable()
    await storage_sql.check_writable()  # the probe table was rolled back: again is fine
    async with storage_sql.uow_factory(writes=False) as uow:
        names = await uow.connection.run_sync(
            lambda c: c.dialect.get_table_names(c, schema=storage_sql.schema))
    assert "peermatch_write_check" not in names


async def test_two_first_commands_of_a_newcomer_at_once_both_succeed(storage: Any) -> None:
    """Both find no learner (nor community) and create them; the one that loses the race
    runs once more and finds the rows, instead of answering "Sorry"."""
    services = Bot(storage).services
    join = CommandRequest("test", "guild-1", Actor("ana", "Ana"), "peer help")
    replies = await asyncio.gather(handle(services, join), handle(services, _status()))
    assert all(r.ok for r in replies), [r.text for r in replies]
    async with storage.uow_factory(writes=False) as uow:
        [community] = await uow.communities.list()
        assert [lr.platform_user_id for lr in await uow.learners.list(community.id)] == ["ana"]


async def test_a_read_only_unit_refuses_to_write(storage: Any) -> None:
    async with storage.uow_factory(writes=False) as uow:
        assert not uow.writes
        assert await uow.communities.list() == []  # reading is fine
        with pytest.raises(ReadOnlyUnit):
            await _write(uow)


async def _write(uow: Any) -> None:
    from core.model import Community

    await uow.communities.add(Community("test", "x", "X"))


async def test_readers_do_not_wait_for_a_writer_on_sqlite(sqlite_storage: Any) -> None:
    bot = Bot(sqlite_storage)
    assert (await bot.join("ana")).ok
    async with sqlite_storage.uow_factory() as writer:  # holds SQLite's write lock
        await _write(writer)
        # A reader is answered beside it (a writer would wait out the busy timeout and
        # then get "database is locked", answered as unavailable).
        reply = await bot.run("ana", "peer status")
        await writer.commit()
    assert reply.ok and "In the queue" in reply.text
