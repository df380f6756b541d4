"""Commands and the planner are set-based (issue 9.1): `/peer status`, `/peer join`,
`/peeradmin queue` and the periodic planner issue as many statements with 2,000 learners
waiting as with 20. The planner writes its rows in batches of bounded size (9.2): its
statements grow with the number of *batches* only, a few per batch."""

from __future__ import annotations

import math
import re
from collections.abc import Awaitable, Callable
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event

from bot.sample import sample_rows
from core.services import planner
from core.services.importing import import_rows
from tests.helpers import Bot

SMALL, BIG = 20, 2_000


@contextmanager
def counting(storage: Any) -> Any:
    """The statements sent to the database inside the block (a list, filled as they go)."""
    seen: list[str] = []

    def count(*args: Any) -> None:
        seen.append(str(args[2])[:60])

    engine = storage.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


async def _community(storage: Any, name: str, waiting: int) -> Bot:
    """A community with ``waiting`` learners queued over the last four weeks (imported,
    as `peermatch import` does), plus a moderator and one learner who joined by command."""
    bot = Bot(storage, community=name)
    report = await import_rows(bot.services, "test", name, sample_rows(bot.clock.now(), waiting))
    assert report.imported == waiting, report.rejected[:3]
    assert (await bot.join("me", topic="Calculus")).ok
    return bot


async def _statements(storage: Any, call: Callable[[], Awaitable[Any]]) -> tuple[int, Any]:
    with counting(storage) as seen:
        result = await call()
    return len(seen), result


async def _command_budgets(storage: Any) -> None:
    small, big = (await _community(storage, "small", SMALL),
                  await _community(storage, "big", BIG))
    figures: dict[str, tuple[int, int]] = {}
    for label, command, args in (("status", "peer status", {}),
                                 ("queue", "peeradmin queue", {}),
                                 ("queue by mode", "peeradmin queue", {"mode": "study-buddy"})):
        user = "mod" if command.startswith("peeradmin") else "me"
        counts = []
        for bot in (small, big):
            n, reply = await _statements(storage, lambda b=bot, u=user, c=command, a=args:
                                         b.run(u, c, **a))
            assert reply.ok, reply.text
            counts.append(n)
        figures[label] = (counts[0], counts[1])
    counts = []
    for bot in (small, big):
        n, reply = await _statements(storage, lambda b=bot: b.join("newcomer"))
        assert reply.ok and "in the queue" in reply.text, reply.text
        counts.append(n)
    figures["join"] = (counts[0], counts[1])
    # The big queue really is bigger: the place in line says so.
    status = await big.run("me", "peer status")
    place = re.search(r"(\d+) of (\d+) waiting for", status.text)
    assert place is not None and int(place[2]) > SMALL, status.text
    for label, (few, many) in figures.items():
        assert few == many, (label, figures)
    assert figures["status"][0] <= 12 and figures["join"][0] <= 25, figures


async def test_commands_do_not_grow_with_the_queue_on_sqlite(sqlite_storage) -> None:
    await _command_budgets(sqlite_storage)


@pytest.mark.postgres
async def test_commands_do_not_grow_with_the_queue_on_postgres(pg_storage) -> None:
    await _command_budgets(pg_storage)


async def _planner_run(storage: Any, bot: Bot) -> tuple[int, int]:
    async with storage.uow_factory() as uow:
        community = await uow.communities.by_external("test", bot.community)
    return await _statements(storage, lambda: planner.plan_periodic(
        storage.uow_factory, community, bot.clock.now()))


async def _planner_budget(storage: Any) -> None:
    bots = [await _community(storage, "small", SMALL), await _community(storage, "big", BIG)]
    for bot in bots:
        assert (await bot.run("mod", "peeradmin match-now")).ok  # accountability pairs too
        await import_rows(bot.services, "test", bot.community,
                          [{**row, "User ID": "late-" + row["User ID"]}
                           for row in sample_rows(bot.clock.now(), SMALL if bot is bots[0]
                                                  else BIG)])
        bot.clock.advance(timedelta(days=8))
    first = [await _planner_run(storage, bot) for bot in bots]
    again = [await _planner_run(storage, bot) for bot in bots]
    (small_n, small_rows), (big_n, big_rows) = first
    assert big_rows > 10 * small_rows > 0  # the big community really has more to write
    assert [rows for _, rows in again] == [0, 0]  # written once, never twice
    # Nothing new: the same reads whatever the queue's size, and no write at all.
    assert again[0][0] == again[1][0] <= 8, again
    # Writes: a few statements per batch of PLAN_BATCH rows, nothing per learner.
    batches = math.ceil(big_rows / planner.PLAN_BATCH) - math.ceil(small_rows / planner.PLAN_BATCH)
    assert big_n - small_n <= 3 * batches, (first, batches)


async def test_the_planner_reads_in_fixed_statements_and_writes_in_batches_on_sqlite(
        sqlite_storage) -> None:
    await _planner_budget(sqlite_storage)


@pytest.mark.postgres
async def test_the_planner_reads_in_fixed_statements_and_writes_in_batches_on_postgres(
        pg_storage) -> None:
    await _planner_budget(pg_storage)
