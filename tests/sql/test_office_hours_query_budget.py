"""`/peer office-hours list` is set-based: as many statements with 20 series (and their
seats) as with 2, on SQLite and PostgreSQL (rule 7: no query per series or supporter)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers import Bot
from tests.sql.test_command_query_budget import _statements


async def _community(storage: Any, name: str, series: int) -> Bot:
    bot = Bot(storage, community=name)
    assert (await bot.join("ana")).ok
    first = ""
    for i in range(series):
        who = f"sup{i}"
        assert (await bot.join(who, mode="offer-support", support_kind="Concepts",
                               capacity="1")).ok
        added = await bot.run(who, "peer office-hours", action="add",
                              details=f"{('Tue', 'Wed', 'Thu')[i % 3]} {8 + i % 10}:00-"
                                      f"{8 + i % 10}:45, 2 seats, topic Python")
        assert added.ok, added.text
        first = first or added.text.split("#")[1].split(":")[0]
    booked = await bot.run("ana", "peer office-hours", action="book", details=first)
    assert booked.ok, booked.text
    return bot


async def _budget(storage: Any) -> None:
    counts = []
    for name, series in (("few", 2), ("many", 20)):
        bot = await _community(storage, name, series)
        n, reply = await _statements(storage, lambda b=bot: b.run("ana", "peer office-hours",
                                                                  action="list"))
        assert reply.ok and reply.text.count("Python with") >= min(series * 2, 20), reply.text
        counts.append(n)
    assert counts[0] == counts[1] <= 15, counts


async def test_listing_does_not_grow_with_the_series_on_sqlite(sqlite_storage) -> None:
    await _budget(sqlite_storage)


@pytest.mark.postgres
async def test_listing_does_not_grow_with_the_series_on_postgres(pg_storage) -> None:
    await _budget(pg_storage)
