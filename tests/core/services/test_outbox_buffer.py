"""buffered_outbox: rows added inside the block are written at its end, in order, once;
any other outbox call first writes what is held; an error writes nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from core.messages import DirectMessage
from core.model import Community, OutboxMessage
from core.services.outbox_buffer import buffered_outbox

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _dm(cid: int, key: str) -> OutboxMessage:
    return OutboxMessage(DirectMessage("u1", "hi", key), cid, T0)


async def test_rows_are_held_then_written_in_order(storage: Any) -> None:
    async with storage.uow_factory() as uow:
        cid = (await uow.communities.add(Community("test", "g", "G"))).id
        async with buffered_outbox(uow):
            for key in ("a", "b", "a"):  # the same key twice: stored once, as add does
                await uow.outbox.add(_dm(cid, key))
            assert [m.idempotency_key for m in await uow.outbox.pending(cid)] == ["a", "b"]
            await uow.outbox.add(_dm(cid, "c"))
        assert type(uow.outbox).__name__ != "_Buffered"  # the real one is back
        stored = await uow.outbox.list(cid)
        assert [m.idempotency_key for m in stored] == ["a", "b", "c"]
        assert [m.id for m in stored] == sorted(m.id for m in stored)


async def test_an_error_inside_writes_nothing_held(storage: Any) -> None:
    async with storage.uow_factory() as uow:
        cid = (await uow.communities.add(Community("test", "g", "G"))).id
        with pytest.raises(RuntimeError):
            async with buffered_outbox(uow):
                await uow.outbox.add(_dm(cid, "x"))
                raise RuntimeError("the store failed")
        assert await uow.outbox.list(cid) == []
