"""The outbox part of the storage contract that makes claims mean something (issue 10.2):
claim tokens guard every later write, an instance takes back its own dead claims, targets
are paced, failed rows are listed and retried; in memory, on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from core.messages import SpaceMessage
from core.model import OutboxMessage, OutboxState
from tests.sql.test_repository_contract import T0, msg, seed

LEASE = T0 + timedelta(minutes=2)


async def _claimed(storage: Any, cid: int, *keys: str, by: str = "a") -> list[OutboxMessage]:
    async with storage.uow_factory() as uow:
        for key in keys:
            await uow.outbox.add(msg(cid, key))
        claimed = await uow.outbox.claim_due(T0, 50, LEASE, by)
        await uow.commit()
    return list(claimed)


async def _row(storage: Any, message_id: int | None) -> OutboxMessage:
    async with storage.uow_factory() as uow:
        [row] = [m for m in await uow.outbox.list() if m.id == message_id]
        return row


async def test_a_claim_has_a_fresh_random_token_and_its_instance(storage: Any) -> None:
    cid, _ = await seed(storage, 0)
    [first] = await _claimed(storage, cid, "k")
    assert len(first.claim_token) == 32 and first.claimed_by == "a"
    assert await _row(storage, first.id) == first
    async with storage.uow_factory() as uow:  # the lease ran out: b claims it anew
        [again] = await uow.outbox.claim_due(LEASE, 50, LEASE + timedelta(minutes=2), "b")
        await uow.commit()
    assert again.claim_token != first.claim_token and again.claimed_by == "b"


async def test_writes_hold_only_while_the_claim_does(storage: Any) -> None:
    cid, _ = await seed(storage, 0)
    [row] = await _claimed(storage, cid, "k")
    token, started = row.claim_token, T0 + timedelta(seconds=1)
    async with storage.uow_factory() as uow:
        assert not await uow.outbox.begin_attempt(row.id, "not-the-token", started, LEASE)
        assert not await uow.outbox.begin_attempt(row.id, "", started, LEASE)
        assert await uow.outbox.begin_attempt(row.id, token, started, LEASE + timedelta(1))
        assert await uow.outbox.save_progress(row.id, token, {"text": "1.2"})
        assert not await uow.outbox.save_progress(row.id, "other", {"text": "9"})
        await uow.commit()
    stored = await _row(storage, row.id)
    assert stored.attempt_started_at == started and stored.unclear
    assert stored.due_at == LEASE + timedelta(1)  # the lease renewed for the attempt
    assert stored.progress == {"text": "1.2"}
    async with storage.uow_factory() as uow:  # an earlier unclear start is kept
        assert await uow.outbox.begin_attempt(row.id, token, started + timedelta(1), LEASE)
        await uow.commit()
    assert (await _row(storage, row.id)).attempt_started_at == started
    stored.state, stored.sent_at, stored.attempt_started_at = OutboxState.SENT, T0, None
    stored.claim_token = ""
    async with storage.uow_factory() as uow:
        assert not await uow.outbox.record(stored, "stale-token")
        await uow.commit()
    assert (await _row(storage, row.id)).state is OutboxState.PENDING  # nothing written
    async with storage.uow_factory() as uow:
        assert await uow.outbox.record(stored, token)
        await uow.commit()
    assert await _row(storage, row.id) == stored
    async with storage.uow_factory() as uow:  # the claim ended with that write
        assert not await uow.outbox.record(stored, token)


async def test_an_instance_takes_back_only_its_own_dead_claims(storage: Any) -> None:
    cid, _ = await seed(storage, 0)
    mine = await _claimed(storage, cid, "a1", "a2", by="host-a")
    theirs = await _claimed(storage, cid, "b1", by="host-b")
    async with storage.uow_factory() as uow:
        assert await uow.outbox.begin_attempt(mine[0].id, mine[0].claim_token, T0, LEASE)
        done, token = mine[1], mine[1].claim_token
        done.state, done.claim_token = OutboxState.SENT, ""
        assert await uow.outbox.record(done, token)
        await uow.commit()
    async with storage.uow_factory() as uow:
        assert await uow.outbox.reclaim("", T0) == 0  # anonymous claims belong to nobody
        assert await uow.outbox.reclaim("host-a", T0) == 1  # the sent one is not pending
        await uow.commit()
    back = await _row(storage, mine[0].id)
    assert back.due_at == T0 and not back.claim_token and not back.claimed_by
    assert back.unclear  # its attempt's outcome is still unknown: it will be reconciled
    assert (await _row(storage, theirs[0].id)).claimed_by == "host-b"


async def test_pacing_a_target_moves_only_its_unclaimed_pending_rows(storage: Any) -> None:
    cid, _ = await seed(storage, 0)
    later = T0 + timedelta(seconds=30)
    async with storage.uow_factory() as uow:
        for key, target in (("x1", "busy"), ("x2", "busy"), ("y", "calm")):
            await uow.outbox.add(msg(cid, key, target=target))
        await uow.outbox.add(msg(cid, "far", T0 + timedelta(hours=1), target="busy"))
        await uow.outbox.add(OutboxMessage(SpaceMessage(99, "hi", "space:99"), cid, T0))
        await uow.outbox.add(msg(cid, "dm-99", target="99"))
        [held] = await uow.outbox.claim_due(T0, 1, LEASE, "a")  # x1: claimed, not moved
        assert await uow.outbox.defer_target(cid, ("dm",), "busy", later) == 1
        assert await uow.outbox.defer_target(cid, ("space_message",), "99", later) == 1
        assert await uow.outbox.defer_target(cid + 1, ("dm",), "calm", later) == 0
        await uow.commit()
        rows = {m.idempotency_key: m.due_at for m in await uow.outbox.list()}
    assert held.idempotency_key == "x1" and rows["x1"] == LEASE
    assert rows["x2"] == later and rows["space:99"] == later
    assert rows["y"] == T0 and rows["dm-99"] == T0 and rows["far"] == T0 + timedelta(hours=1)


async def test_failed_rows_are_listed_newest_first_and_put_back(storage: Any) -> None:
    cid, _ = await seed(storage, 0)
    async with storage.uow_factory() as uow:
        rows = [await uow.outbox.add(msg(cid, f"f{i}")) for i in range(4)]
        for row in rows[:3]:
            row.state, row.attempts, row.last_error = OutboxState.FAILED, 8, "missing_scope"
            await uow.outbox.update(row)
        await uow.commit()
    async with storage.uow_factory() as uow:
        assert [m.id for m in await uow.outbox.failed(cid, 2)] == [rows[2].id, rows[1].id]
        assert await uow.outbox.failed(cid + 1, 10) == []
        back = await uow.outbox.retry_failed(cid, [rows[0].id, rows[3].id], LEASE)
        assert [m.id for m in back] == [rows[0].id]  # the pending one is not failed
        assert back[0].state is OutboxState.PENDING and back[0].attempts == 0
        assert back[0].due_at == LEASE
        assert await uow.outbox.retry_failed(cid + 1, None, LEASE) == []
        assert [m.id for m in await uow.outbox.retry_failed(cid, None, LEASE)] == [
            rows[1].id, rows[2].id]
        await uow.commit()
    async with storage.uow_factory() as uow:
        assert await uow.outbox.failed(cid, 10) == []
        assert len(await uow.outbox.pending(cid)) == 4
