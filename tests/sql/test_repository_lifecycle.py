"""The lifecycle's reads, on memory, SQLite and PostgreSQL alike: rows by key prefix (the
ghost finder's sent prompts, the stats' ghost DMs)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from core.model import OutboxState
from tests.sql.test_repository_contract import T0, msg, seed


async def test_rows_by_key_prefix_and_sent_since(storage: Any) -> None:
    cid, _ = await seed(storage)
    async with storage.uow_factory() as uow:
        old = await uow.outbox.add(msg(cid, "match:1:dm:1"))
        new = await uow.outbox.add(msg(cid, "match:1:checkin:1"))
        pending = await uow.outbox.add(msg(cid, "match:1:nudge:1"))
        await uow.outbox.add(msg(cid, "match:12:dm:1"))
        await uow.outbox.add(msg(cid, "ghost:1:1"))
        await uow.outbox.add(msg(cid, "match_1_x"))  # '_' is no wildcard
        for row, sent in ((old, T0), (new, T0 + timedelta(days=2))):
            row.state, row.sent_at = OutboxState.SENT, sent
            await uow.outbox.update(row)
        await uow.commit()
    async with storage.uow_factory() as uow:
        every = await uow.outbox.with_prefix(cid, "match:1:")
        assert [m.idempotency_key for m in every] == [old.idempotency_key,
                                                      new.idempotency_key,
                                                      pending.idempotency_key]
        recent = await uow.outbox.with_prefix(cid, "match:", sent_since=T0 + timedelta(days=1))
        assert [m.idempotency_key for m in recent] == ["match:1:checkin:1"]
        assert [m.idempotency_key for m in await uow.outbox.with_prefix(cid, "ghost:")] == [
            "ghost:1:1"]
        assert await uow.outbox.with_prefix(cid + 1, "ghost:") == []
