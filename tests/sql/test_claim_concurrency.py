"""Several dispatchers (or bot processes) on one PostgreSQL: a due outbox row is claimed by
exactly one of them (FOR UPDATE SKIP LOCKED), a slow platform never lets a row be sent by
two (claim tokens), and a round lock has one holder."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from adapters.sql.uow import ROUND_LOCK_NAMESPACE, SqlStorage, make_engine
from core.messages import DirectMessage
from core.model import Community, OutboxMessage
from core.services.delivery import TickResult, dispatch_due
from core.settings import DispatchSettings
from tests.fakes import FakeClock
from tests.scheduler.support import TimedDeliverer

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LEASE = T0 + timedelta(minutes=2)


async def _seed(storage: SqlStorage, rows: int) -> int:
    async with storage.uow_factory() as uow:
        c = await uow.communities.add(Community("discord", "g"))
        for i in range(rows):
            await uow.outbox.add(OutboxMessage(DirectMessage("u", "", f"k{i}"), c.id,
                                               T0 - timedelta(seconds=i)))
        await uow.commit()
    return c.id


async def test_open_claims_skip_each_others_rows(pg_storage: SqlStorage) -> None:
    await _seed(pg_storage, 20)
    async with pg_storage.uow_factory() as one, pg_storage.uow_factory() as two:
        first = await one.outbox.claim_due(T0, 10, LEASE)
        # `one` still holds its row locks: `two` must neither wait nor take them.
        second = await asyncio.wait_for(two.outbox.claim_due(T0, 50, LEASE), timeout=5)
        assert len(first) == 10 and len(second) == 10
        assert not {m.id for m in first} & {m.id for m in second}
        await one.commit()
        await two.commit()
    async with pg_storage.uow_factory() as three:
        assert await three.outbox.claim_due(T0, 50, LEASE) == []


async def test_many_concurrent_claimers_never_share_a_row(pg_storage: SqlStorage) -> None:
    await _seed(pg_storage, 60)

    async def dispatcher() -> list[int]:
        got: list[int] = []
        while True:
            async with pg_storage.uow_factory() as uow:
                batch = await uow.outbox.claim_due(T0, 4, LEASE)
                await asyncio.sleep(0.005)  # work while holding the locks
                await uow.commit()
            if not batch:
                return got
            got += [m.id for m in batch]

    results = await asyncio.gather(*(dispatcher() for _ in range(6)))
    claimed = [i for r in results for i in r]
    assert len(claimed) == 60 and len(set(claimed)) == 60


async def test_round_lock_has_one_holder(pg_storage: SqlStorage) -> None:
    cid = await _seed(pg_storage, 0)
    async with pg_storage.uow_factory() as one, pg_storage.uow_factory() as two:
        assert await one.lock_community(cid)
        assert not await two.lock_community(cid)
        assert await two.lock_community(cid + 1)  # other communities are independent
        await one.commit()  # a transaction-level lock ends with the transaction
        assert await two.lock_community(cid)


async def test_concurrent_claimers_on_sqlite_are_serialised(sqlite_storage: SqlStorage) -> None:
    # One process, many tasks: BEGIN IMMEDIATE makes them queue for the write lock instead
    # of failing with "database is locked" or claiming a row twice.
    await _seed(sqlite_storage, 30)

    async def dispatcher() -> list[int]:
        got: list[int] = []
        while True:
            async with sqlite_storage.uow_factory() as uow:
                batch = await uow.outbox.claim_due(T0, 4, LEASE)
                await asyncio.sleep(0.005)
                await uow.commit()
            if not batch:
                return got
            got += [m.id for m in batch]

    results = await asyncio.gather(*(dispatcher() for _ in range(4)))
    claimed = [i for r in results for i in r]
    assert len(claimed) == 30 and len(set(claimed)) == 30


async def test_round_lock_is_private_to_the_schema(pg_storage: SqlStorage) -> None:
    # Advisory locks are database-wide; storages in other schemas (other test sessions,
    # other deployments) holding "their" community 1 must not block ours.
    cid = await _seed(pg_storage, 0)
    other = make_engine(pg_storage.url)  # no schema: the default namespace
    try:
        async with other.connect() as conn, conn.begin():
            await conn.execute(select(func.pg_advisory_xact_lock(ROUND_LOCK_NAMESPACE, cid)))
            async with pg_storage.uow_factory() as uow:
                assert await uow.lock_community(cid)
    finally:
        await other.dispose()


async def test_two_dispatchers_and_a_slow_platform_send_nothing_twice(pg_storage: SqlStorage,
                                                                      pg_database) -> None:
    # Each call takes a fake second and a lease is five: every batch outlives its lease,
    # so each process keeps finding rows the other took over. Results are written only
    # where the claim still holds, and an attempt renews its own row's lease first.
    clock = FakeClock(T0)
    cid = await _seed(pg_storage, 0)
    async with pg_storage.uow_factory() as uow:
        for i in range(60):
            await uow.outbox.add(OutboxMessage(DirectMessage(f"u{i % 6}", "", f"s{i}"), cid,
                                               T0 - timedelta(seconds=60 - i)))
        await uow.commit()
    other = pg_database.storage()  # a second process: its own engine and connections
    platform = TimedDeliverer(clock)
    cfg = DispatchSettings(batch_size=12, lease_seconds=5.0, concurrency=2,
                           call_timeout_seconds=2.0)

    class Slow(TimedDeliverer):
        async def deliver(self, message, community_external_id="", *, journal=None):  # type: ignore[no-untyped-def]
            await asyncio.sleep(0.01)  # the other process runs meanwhile
            answer = await platform.deliver(message, community_external_id, journal=journal)
            # The call's second passes once it has reached the platform: the fake clock is
            # shared, so advancing it before would let the other process see the lease run
            # out while this call is still on its way, a stall of more than a lease that the
            # per-call timeout (half a lease) rules out in real time.
            clock.advance(seconds=1)
            return answer

    totals = {"a": TickResult(), "b": TickResult()}

    async def run(name: str, storage: SqlStorage) -> None:
        for _ in range(200):
            result = await dispatch_due(storage.uow_factory, clock, {"discord": Slow(clock)},
                                        cfg, instance=name)
            totals[name].add(result)
            if not result.processed and not result.lost:
                async with storage.uow_factory() as uow:
                    if not await uow.outbox.pending(cid):
                        return
                clock.advance(seconds=1)

    try:
        await asyncio.gather(run("a", pg_storage), run("b", other))
    finally:
        await other.dispose()
    # Each sent once; a row taken over after its attempt started is looked up first
    # (reconciled), never sent again.
    assert sorted(platform.delivered_keys()) == sorted(f"s{i}" for i in range(60))
    extra = Counter(platform.attempts) - Counter(f"s{i}" for i in range(60))
    assert set(extra) <= set(platform.reconciled)
    assert totals["a"].sent + totals["b"].sent == 60
    assert totals["a"].sent and totals["b"].sent
    assert totals["a"].lost + totals["b"].lost > 0  # the takeovers did happen
