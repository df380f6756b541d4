"""The ghost finder reads set-based (issue 9.1 rules, issue 14.1): 3 or 30 quiet matches
cost the same number of statements when nobody is to be paused."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event

from core.services.dispatch import effective_settings
from core.services.ghosts import find_ghosts
from tests.helpers import Bot


async def _statements(storage: Any, name: str, pairs: int) -> int:
    bot = Bot(storage, community=name)
    for i in range(2 * pairs):
        assert (await bot.join(f"u{i}")).ok
    assert (await bot.run("mod", "peeradmin match-now")).ok
    bot.clock.advance(hours=1)
    await bot.deliver()  # the intros are out: prompts to count
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2])[:40])

    sync_engine = storage.engine.sync_engine
    async with storage.uow_factory() as uow:
        community = await uow.communities.by_external("test", bot.community)
    settings = effective_settings(bot.services, community)
    event.listen(sync_engine, "before_cursor_execute", count)
    try:
        paused = await find_ghosts(storage.uow_factory, community, settings,
                                   bot.clock.now() + timedelta(days=1))
    finally:
        event.remove(sync_engine, "before_cursor_execute", count)
    assert paused == 0
    return len(statements)


async def _budget(storage: Any) -> None:
    small, big = await _statements(storage, "small", 3), await _statements(storage, "big", 30)
    assert small == big <= 8, (small, big)


async def test_finding_ghosts_does_not_grow_with_the_matches_on_sqlite(sqlite_storage) -> None:
    await _budget(sqlite_storage)


@pytest.mark.postgres
async def test_finding_ghosts_does_not_grow_with_the_matches_on_postgres(pg_storage) -> None:
    await _budget(pg_storage)
