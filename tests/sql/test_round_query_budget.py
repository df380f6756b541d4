"""A round's reads are set-based (issue 9.1): loading 10 or 120 waiting learners, with
supporters and past matches, costs the same number of statements; so does its store, which
writes one announcement row per match (issue 9.5), and the dispatcher's expansion of those
announcements into the matches' messages."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event

from core.services import announce, rounds
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
    # The same statements for 4 matches as for 40 (bulk matches, members, one announcement
    # row each): nothing per match, only per chunk of thousands. 31 on SQLite, 30 on
    # PostgreSQL: the store re-checks who waits by their ids only and reads the entries of
    # the learners offered support (one statement more than when it re-read every waiting
    # entry, 100,000 of them in a big round).
    assert big[0] == small[0] <= 31, (small, big)


async def test_a_stored_round_does_not_grow_with_its_matches_on_sqlite(sqlite_storage) -> None:
    await _store_budget(sqlite_storage)


@pytest.mark.postgres
async def test_a_stored_round_does_not_grow_with_its_matches_on_postgres(pg_storage) -> None:
    await _store_budget(pg_storage)


async def _statements_to_announce(storage: Any, name: str, learners: int) -> tuple[int, int]:
    """Statements of the dispatcher's expansion of a stored round's announcements (one
    batch: the matches, learners, profiles, community, the rows many per INSERT); and how
    many it took."""
    bot = Bot(storage, community=name)
    for i in range(learners):
        assert (await bot.join(f"u{i}")).ok
    assert (await bot.run("mod", "peeradmin match-now")).ok
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2])[:40])

    event.listen(storage.engine.sync_engine, "before_cursor_execute", count)
    try:
        taken = await announce.expand_due(storage.uow_factory, bot.clock, bot.services.defaults)
    finally:
        event.remove(storage.engine.sync_engine, "before_cursor_execute", count)
    return len(statements), taken


async def _announce_budget(storage: Any) -> None:
    small = await _statements_to_announce(storage, "few", 8)
    big = await _statements_to_announce(storage, "many", 80)
    assert big[1] >= 5 * small[1] >= 20, (small, big)  # many more matches announced
    # 4 matches' ~30 rows or 40 matches' ~300: the same statements, none per match (9 on
    # SQLite, 8 on PostgreSQL: take and mark, matches, members, learners, profiles, the
    # community, the rows in one INSERT).
    assert big[0] == small[0] <= 9, (small, big)


async def test_announcing_a_round_does_not_grow_with_its_matches_on_sqlite(
        sqlite_storage) -> None:
    await _announce_budget(sqlite_storage)


@pytest.mark.postgres
async def test_announcing_a_round_does_not_grow_with_its_matches_on_postgres(pg_storage) -> None:
    await _announce_budget(pg_storage)
