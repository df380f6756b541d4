"""The periodic planner: weekly accountability check-ins and honest waiting-queue updates,
written once per week whoever runs the planner and however often (every backend)."""

from __future__ import annotations

from datetime import timedelta

from bot.scheduler import plan_all
from tests.helpers import Bot
from tests.scheduler.support import learner_id, matches, outbox_rows, pair, rows_by_key


async def test_accountability_partners_get_a_weekly_check_in(storage) -> None:
    bot = Bot(storage)
    mid = await pair(bot, ana={"mode": "accountability"}, ben={"mode": "accountability"})
    made = (await matches(bot))[0].created_at
    ana = await learner_id(bot, "ana")
    first = (await rows_by_key(bot))[f"match:{mid}:weekly:1:{ana}"]  # written with the match
    assert first.due_at - made == timedelta(days=7)
    assert [b["args"]["answer"] for b in first.payload["buttons"]] == ["yes", "not-yet"]
    bot.clock.advance(days=7, minutes=5)
    assert await plan_all(bot.services) == 0  # week 1 exists already
    bot.clock.advance(days=7)
    assert await plan_all(bot.services) == 2  # week 2, one per partner, due now
    assert await plan_all(bot.services) == 0  # a second planner (or process) adds nothing
    week2 = (await rows_by_key(bot))[f"match:{mid}:weekly:2:{ana}"]
    assert week2.due_at == bot.clock.now() and "{u:ben}" in week2.payload["text"]


async def test_study_buddies_get_no_weekly_check_in(storage) -> None:
    bot = Bot(storage)
    await pair(bot)
    bot.clock.advance(weeks=2)
    assert await plan_all(bot.services) == 0
    assert not [m for m in await outbox_rows(bot) if ":weekly:" in m.idempotency_key]


async def test_people_still_waiting_hear_why_once_a_week(storage) -> None:
    bot = Bot(storage)
    assert (await bot.join("ana")).ok
    assert "0 matches" in (await bot.run("mod", "peeradmin match-now")).text
    bot.clock.advance(days=6)
    assert await plan_all(bot.services) == 0
    bot.clock.advance(days=1)
    assert await plan_all(bot.services) == 1
    [update] = [m for m in await outbox_rows(bot) if m.idempotency_key.startswith("queue:")]
    assert update.target == "ana" and "Why no match yet" in update.payload["text"]
    assert "1 of 1" in update.payload["text"] and "7 days" in update.payload["text"]
    assert await plan_all(bot.services) == 0
    # After three weeks of downtime: one update for the current week, not a backlog.
    bot.clock.advance(weeks=3)
    assert await plan_all(bot.services) == 1
    keys = sorted(m.idempotency_key for m in await outbox_rows(bot)
                  if m.idempotency_key.startswith("queue:"))
    assert [k.rsplit(":", 1)[1] for k in keys] == ["1", "4"]
    # Paused or gone: no update.
    assert (await bot.run("ana", "peer pause", weeks=2)).ok
    bot.clock.advance(weeks=1)
    assert await plan_all(bot.services) == 0
