"""A round's reads are set-based (issue 9.1): loading 10 or 120 waiting learners, with
supporters and past matches, costs the same number of statements."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event

from core.services import rounds
from core.services.dispatch import effective_settings
from tests.helpers import Bot


async def _community(storage: Any, name: str, learners: int) -> Bot:
    bot = Bot(storage, community=name)
    for i in range(learners):
        mode = "offer-support" if i % 5 == 0 else "study-buddy"
        extra = {"support_kind": "Concepts", "capacity": "2"} if mode == "offer-support" else {}
        assert (await bot.join(f"u{i}", mode=mode, **extra)).ok
    assert (await bot.run("mod", "peeradmin match-now")).ok  # past matches and busy supporters
    for i in range(learners):  # and a new queue beside them
        assert (await bot.join(f"v{i}")).ok
    return bot


async def _statements_to_gather(storage: Any, bot: Bot) -> tuple[int, int]:
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2])[:40])

    sync_engine = storage.engine.sync_engine
    async with storage.uow_factory() as uow:
        community = await uow.communities.by_external("test", bot.community)
        settings = effective_settings(bot.services, community)
        event.listen(sync_engine, "before_cursor_execute", count)
        try:
            candidates, _, _ = await rounds.gather(uow, community, settings, bot.clock.now())
        finally:
            event.remove(sync_engine, "before_cursor_execute", count)
    return len(statements), len(candidates)


async def _budget(storage: Any) -> None:
    small = await _statements_to_gather(storage, await _community(storage, "small", 10))
    big = await _statements_to_gather(storage, await _community(storage, "big", 120))
    assert big[1] > small[1] >= 10  # the big queue really is bigger
    assert big[0] == small[0] <= 10, (small, big)


async def test_gathering_a_round_does_not_grow_with_the_queue_on_sqlite(sqlite_storage) -> None:
    await _budget(sqlite_storage)


@pytest.mark.postgres
async def test_gathering_a_round_does_not_grow_with_the_queue_on_postgres(pg_storage) -> None:
    await _budget(pg_storage)


async def _statements_to_run_a_round(storage: Any, name: str, learners: int) -> tuple[int, int]:
    """Statements of a whole stored round (load, store, outbox rows) over a fresh queue of
    study buddies, supporters and learners who need support; and the matches it made."""
    bot = Bot(storage, community=name)
    for i in range(learners):
        if i % 10 == 0:
            assert (await bot.join(f"s{i}", mode="offer-support", support_kind="Concepts",
                                   capacity="1")).ok
            assert (await bot.join(f"n{i}", mode="need-support", support_kind="Concepts")).ok
        else:
            assert (await bot.join(f"u{i}")).ok
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2])[:40])

    async with storage.uow_factory(writes=False) as uow:
        community = await uow.communities.by_external("test", name)
    settings = effective_settings(bot.services, community)
    event.listen(storage.engine.sync_engine, "before_cursor_execute", count)
    try:
        outcome = await rounds.run_round(bot.services, community, settings, dry_run=False)
    finally:
        event.remove(storage.engine.sync_engine, "before_cursor_execute", count)
    return len(statements), len(outcome.matches)


async def _store_budget(storage: Any) -> None:
    small = await _statements_to_run_a_round(storage, "few", 10)
    big = await _statements_to_run_a_round(storage, "many", 90)
    assert big[1] >= 4 * small[1] >= 16, (small, big)  # many more matches stored
    # The same statements for 4 matches as for 40 (bulk matches, members, outbox rows):
    # nothing per match, only per chunk of thousands.
    assert big[0] == small[0] <= 40, (small, big)


async def test_a_stored_round_does_not_grow_with_its_matches_on_sqlite(sqlite_storage) -> None:
    await _store_budget(sqlite_storage)


@pytest.mark.postgres
async def test_a_stored_round_does_not_grow_with_its_matches_on_postgres(pg_storage) -> None:
    await _store_budget(pg_storage)
