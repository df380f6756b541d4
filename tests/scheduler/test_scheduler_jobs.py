"""The scheduler's jobs: cron in each community's zone, one round per fire, jobs rebuilt from
the database, the tick delivering on its own, a missed round caught up at start."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from bot.scheduler import (
    PeerScheduler,
    crontab_trigger,
    fire_times,
    run_due_rounds,
    run_scheduled_round,
)
from core.messages import DirectMessage
from core.model import Community, OutboxMessage
from tests.helpers import Bot
from tests.scheduler.support import TimedDeliverer, community_id, matches, utc


def _weekdays(expr: str) -> list[int]:
    fires = fire_times(crontab_trigger(expr, "UTC"), utc(2026, 3, 1), utc(2026, 3, 8))
    return sorted({f.weekday() for f in fires})


def test_crontab_weekday_numbers_mean_what_cron_means() -> None:
    # Standard cron: 0 and 7 are Sunday, 1 is Monday (APScheduler 3 alone would shift them).
    assert _weekdays("0 18 * * 1") == [0]
    assert _weekdays("0 18 * * 0") == [6] == _weekdays("0 18 * * 7")
    assert _weekdays("0 9 * * 1-5") == [0, 1, 2, 3, 4]
    assert _weekdays("0 9 * * */2") == [1, 3, 5, 6]  # sun, tue, thu, sat
    assert _weekdays("0 18 * * mon,thu") == [0, 3]
    with pytest.raises(ValueError):
        crontab_trigger("0 18 * * 9", "UTC")


def test_fire_times_are_wall_clock_times_in_the_community_zone() -> None:
    london = crontab_trigger("0 18 * * mon,thu", "Europe/London")
    assert fire_times(london, utc(2026, 3, 25), utc(2026, 4, 3)) == [
        utc(2026, 3, 26, 18), utc(2026, 3, 30, 17), utc(2026, 4, 2, 17)]  # BST from 29 March
    new_york = crontab_trigger("0 9 * * *", "America/New_York")
    assert fire_times(new_york, utc(2026, 3, 7), utc(2026, 3, 9, 23)) == [
        utc(2026, 3, 7, 14), utc(2026, 3, 8, 13), utc(2026, 3, 9, 13)]  # EDT from 8 March


async def test_each_cron_fire_makes_one_round(storage) -> None:
    bot = Bot(storage)  # default schedule: Mondays and Thursdays 18:00 UTC
    assert (await bot.join("ana")).ok
    assert (await bot.join("ben")).ok
    bot.clock.set(utc(2026, 3, 2, 18, 0, 1))
    cid = await community_id(bot)
    assert await run_due_rounds(bot.services, utc(2026, 3, 2, 17), bot.clock.now()) == [cid]
    assert len(await matches(bot)) == 1
    # Another process (or a retry) for the same fire finds the round done.
    assert await run_due_rounds(bot.services, utc(2026, 3, 2, 17), bot.clock.now()) == []
    assert await run_scheduled_round(bot.services, cid, utc(2026, 3, 2, 18)) is None
    bot.clock.set(utc(2026, 3, 5, 18, 0, 1))
    assert await run_scheduled_round(bot.services, cid, utc(2026, 3, 5, 18)) is not None


@pytest.fixture(params=["memory", pytest.param("postgres", marks=pytest.mark.postgres)])
def locking_storage(request: pytest.FixtureRequest):
    # Memory and PostgreSQL only: SQLite runs one process, its writers simply queue.
    return request.getfixturevalue("memory_storage" if request.param == "memory" else "pg_storage")


async def test_a_round_held_by_another_process_is_skipped(locking_storage) -> None:
    bot = Bot(locking_storage)
    assert (await bot.join("ana")).ok
    cid = await community_id(bot)
    async with locking_storage.uow_factory() as holder:
        assert await holder.lock_community(cid)
        assert await run_scheduled_round(bot.services, cid, bot.clock.now()) is None
    assert await run_scheduled_round(bot.services, cid, bot.clock.now()) is not None


async def test_jobs_are_built_from_the_database_and_refreshed(memory_storage) -> None:
    bot = Bot(memory_storage)
    assert (await bot.join("ana")).ok
    cid = await community_id(bot)
    async with memory_storage.uow_factory() as uow:
        lima = await uow.communities.add(Community("test", "g2", "Lima", {
            "schedule": "30 19 * * fri", "timezone": "America/Lima"}))
        broken = await uow.communities.add(Community("test", "g3", "Broken", {"schedule": "nope"}))
        manual = await uow.communities.add(Community("test", "g4", "Manual", {"schedule": "off"}))
        await uow.commit()
    scheduler = PeerScheduler(bot.services, {"test": TimedDeliverer(bot.clock)})
    await scheduler.start()
    try:
        jobs = scheduler.jobs()
        assert {"tick", "plan", f"round:{cid}", f"round:{lima.id}"} <= set(jobs)
        assert f"round:{broken.id}" not in jobs and f"round:{manual.id}" not in jobs
        lima_next = jobs[f"round:{lima.id}"]
        assert lima_next is not None and (
            lima_next.weekday(),
            lima_next.hour,
            lima_next.minute,
        ) == (4, 19, 30)
        assert lima_next.utcoffset() == timedelta(hours=-5)
        # A moderator changes Lima's schedule; the community g3 is gone.
        async with memory_storage.uow_factory() as uow:
            lima.settings = {"schedule": "0 8 * * mon", "timezone": "America/Lima"}
            await uow.communities.update(lima)
            await uow.commit()
        scheduler.communities = _only(bot, {cid, lima.id})
        await scheduler.refresh()
        jobs = scheduler.jobs()
        assert (jobs[f"round:{lima.id}"].weekday(), jobs[f"round:{lima.id}"].hour) == (0, 8)
    finally:
        scheduler.shutdown()


def _only(bot: Bot, ids: set[int]):
    async def communities() -> list[Community]:
        async with bot.storage.uow_factory() as uow:
            return [c for c in await uow.communities.list() if c.id in ids]
    return communities


async def test_the_tick_job_delivers_on_its_own_and_a_missed_round_is_caught_up(
    memory_storage,
) -> None:
    bot = Bot(memory_storage)
    assert (await bot.join("ana")).ok
    assert (await bot.join("ben")).ok
    cid = await community_id(bot)
    async with memory_storage.uow_factory() as uow:
        await uow.outbox.add(OutboxMessage(DirectMessage("ana", "hello", "hello:1"), cid,
                                           bot.clock.now()))
        await uow.commit()
    # The bot starts at 19:00 on a Monday: the 18:00 round was missed while it was down.
    bot.clock.set(utc(2026, 3, 2, 19))
    platform = TimedDeliverer(bot.clock)
    scheduler = PeerScheduler(bot.services, {"test": platform}, tick_seconds=0.02)
    await scheduler.start()
    try:
        assert len(await matches(bot)) == 1
        for _ in range(200):
            if {"hello:1", "space-open:1"} <= set(platform.delivered_keys()):
                break
            await asyncio.sleep(0.01)
        assert {"hello:1", "space-open:1"} <= set(platform.delivered_keys())
    finally:
        scheduler.shutdown()
