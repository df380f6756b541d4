"""Delivery under failure: a process killed mid-batch, two dispatchers at once on
PostgreSQL, and reminders found due after downtime (sent once if still useful, else dropped)."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import pytest

from bot.scheduler import tick
from core.messages import DirectMessage
from core.model import Community, OutboxMessage, OutboxState
from core.ports import DeliveryError
from core.services.context import Services
from core.settings import CommunitySettings, DispatchSettings
from tests.fakes import FakeClock
from tests.helpers import Bot
from tests.scheduler.support import TimedDeliverer, learner_id, pair, rows_by_key, sessions, utc

LEASE = DispatchSettings().lease_seconds


class Killed(BaseException):
    """The process dies (not an error the dispatcher could catch and record)."""


class DyingPlatform(TimedDeliverer):
    """Delivers ``survive`` messages, then the process is killed while delivering the next:
    the platform got it, the database never heard."""

    def __init__(self, clock: FakeClock, survive: int) -> None:
        super().__init__(clock)
        self.survive = survive

    async def deliver(self, message, community_external_id="", *, journal=None):  # type: ignore[no-untyped-def]
        facts = await super().deliver(message, community_external_id, journal=journal)
        if len(self.attempts) > self.survive:
            raise Killed
        return facts


async def _due_dms(storage, clock: FakeClock, count: int) -> list[str]:
    async with storage.uow_factory() as uow:
        cid = (await uow.communities.add(Community("test", "g"))).id
        keys = [f"test:{i}" for i in range(count)]
        for key in keys:
            await uow.outbox.add(OutboxMessage(DirectMessage("u1", key, key), cid, clock.now()))
        await uow.commit()
    return keys


async def test_a_process_killed_mid_batch_loses_nothing_and_sends_nothing_twice(
        storage, clock) -> None:
    keys = await _due_dms(storage, clock, 6)
    services = Services(storage.uow_factory, clock)
    platform = DyingPlatform(clock, survive=2)
    with pytest.raises(Killed):
        await tick(services, {"test": platform})
    # Killed while delivering the third: two recorded as sent, four leased to the dead process.
    async with storage.uow_factory() as uow:
        states = sorted(m.state.value for m in await uow.outbox.list())
    assert states == ["pending"] * 4 + ["sent"] * 2
    platform.survive = 10**6  # the restarted process lives
    clock.advance(seconds=LEASE / 2)
    assert (await tick(services, {"test": platform})).sent == 0  # still leased
    clock.advance(seconds=LEASE / 2 + 1)
    result = await tick(services, {"test": platform})
    assert result.sent == 4
    # Nothing is lost, nothing arrives twice. The platform does not deduplicate; but the
    # message the process died on (the platform had it, the database never heard) was
    # journaled before the call, so the next attempt is marked unclear and the deliverer
    # asks the platform first: found, it is recorded as sent without a second copy.
    assert sorted(platform.delivered_keys()) == sorted(keys)
    assert platform.unclear_calls == ["test:2"] and platform.reconciled == ["test:2"]
    assert [k for k in set(platform.attempts) if platform.attempts.count(k) > 1] == ["test:2"]
    assert (await tick(services, {"test": platform})).sent == 0
    async with storage.uow_factory() as uow:
        rows = await uow.outbox.list()
    assert {m.state for m in rows} == {OutboxState.SENT}
    assert all(m.attempt_started_at is None and not m.claim_token for m in rows)


async def test_claimed_then_abandoned_rows_are_delivered_once_after_the_lease(
    storage, clock
) -> None:
    keys = await _due_dms(storage, clock, 5)
    async with storage.uow_factory() as uow:  # a dispatcher claims, then its process dies
        assert (
            len(await uow.outbox.claim_due(clock.now(), 50, clock.now() + timedelta(seconds=LEASE)))
            == 5
        )
        await uow.commit()
    services = Services(storage.uow_factory, clock)
    platform = TimedDeliverer(clock)
    assert (await tick(services, {"test": platform})).sent == 0
    clock.advance(seconds=LEASE)
    assert (await tick(services, {"test": platform})).sent == 5
    assert (await tick(services, {"test": platform})).sent == 0
    assert sorted(platform.attempts) == sorted(keys)


@pytest.mark.postgres
async def test_two_dispatchers_on_postgres_never_deliver_a_row_twice(pg_storage, pg_database,
                                                                     clock) -> None:
    keys = await _due_dms(pg_storage, clock, 300)
    other = pg_database.storage()  # a second process: its own engine and connections
    platform = TimedDeliverer(clock)
    slow = DispatchSettings(batch_size=7)
    got: dict[str, int] = {"a": 0, "b": 0}

    class Slow(TimedDeliverer):
        async def deliver(self, message, community_external_id="", *, journal=None):  # type: ignore[no-untyped-def]
            await asyncio.sleep(0)  # let the other dispatcher run in between
            return await platform.deliver(message, community_external_id, journal=journal)

    async def drain(name: str, storage) -> None:
        services = Services(storage.uow_factory, clock)
        while (result := await tick(services, {"test": Slow(clock)}, slow)).sent:
            got[name] += result.sent

    try:
        await asyncio.gather(drain("a", pg_storage), drain("b", other))
    finally:
        await other.dispose()
    assert sorted(platform.attempts) == sorted(keys)  # every row once, none twice
    assert got["a"] > 0 and got["b"] > 0 and got["a"] + got["b"] == 300


async def test_after_downtime_only_still_useful_reminders_are_sent(storage, caplog) -> None:
    bot = Bot(storage)
    mid = await pair(bot)
    assert (await bot.book("ana", "peer schedule", when="2026-03-05 18:00")).ok
    [session] = await sessions(bot, mid)
    ana = await learner_id(bot, "ana")
    # The bot was down from Monday until 30 minutes before Thursday's session.
    bot.clock.set(utc(2026, 3, 5, 17, 30))
    platform = TimedDeliverer(bot.clock)
    with caplog.at_level(logging.INFO, logger="core.services.delivery"):
        result = await tick(bot.services, {"test": platform})
    assert result.expired == 2  # both members' day-before reminders
    rows = await rows_by_key(bot)
    day_before = rows[f"session:{session.id}:seq0:remind:1440:{ana}"]
    assert day_before.state is OutboxState.DROPPED and "expired" in day_before.last_error
    assert "expired" in caplog.text
    hour_before = f"session:{session.id}:seq0:remind:60:{ana}"
    assert hour_before in platform.delivered_keys()
    assert (await tick(bot.services, {"test": platform})).sent == 0  # once only


async def test_a_reminder_found_after_its_session_started_is_dropped(storage) -> None:
    bot = Bot(storage, settings=CommunitySettings(reminder_offsets_minutes=(60,)))
    mid = await pair(bot)
    assert (await bot.book("ana", "peer schedule", when="2026-03-05 18:00")).ok
    [session] = await sessions(bot, mid)
    bot.clock.set(utc(2026, 3, 5, 18, 10))
    platform = TimedDeliverer(bot.clock)
    result = await tick(bot.services, {"test": platform})
    assert result.expired == 2
    assert not [k for k in platform.delivered_keys() if ":remind:" in k]
    bot.clock.set(utc(2026, 3, 5, 19, 30))  # the feedback prompt is still useful
    await tick(bot.services, {"test": platform})
    assert (
        f"session:{session.id}:seq0:feedback:{await learner_id(bot, 'ben')}"
        in platform.delivered_keys()
    )


class RateLimitedPlatform(TimedDeliverer):
    """Answers 429 with Retry-After ``times`` times, then accepts."""

    def __init__(self, clock: FakeClock, times: int) -> None:
        super().__init__(clock)
        self.times = times

    async def deliver(self, message, community_external_id="", *, journal=None):  # type: ignore[no-untyped-def]
        if self.times > 0:
            self.times -= 1
            self.attempts.append(message.idempotency_key)
            raise DeliveryError("rate limited", retry_after=2.0)
        return await super().deliver(message, community_external_id, journal=journal)


async def test_a_429_storm_never_uses_up_attempts(storage, clock) -> None:
    limit = DispatchSettings().max_attempts
    [key] = await _due_dms(storage, clock, 1)
    services = Services(storage.uow_factory, clock)
    platform = RateLimitedPlatform(clock, times=limit * 2)  # more 429s than attempts allowed
    for _ in range(limit * 2):
        assert (await tick(services, {"test": platform})).sent == 0
        clock.advance(seconds=2)  # the platform's Retry-After, honoured
    assert (await tick(services, {"test": platform})).sent == 1
    async with storage.uow_factory() as uow:
        [row] = await uow.outbox.list()
    assert row.state is OutboxState.SENT and row.attempts == 1  # only the real attempt counts
    assert platform.delivered_keys() == [key]
