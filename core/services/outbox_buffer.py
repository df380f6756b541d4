"""Outbox rows written many at a time: a round's store and the dispatcher's expansion of
its announcements (issue 9.5).

A round of 100,000 learners makes some 50,000 matches: the store writes one announcement
row each, and their expansion a space, DMs, check-ins and nudges, about eight rows per
match; each its own INSERT would be (through aiosqlite) its own trip to the database
thread. ``buffered_outbox`` holds the rows that the effects of a whole store (or of one
expansion batch) add, then writes them with ``add_many`` (one multi-row INSERT per few
hundred rows), in the same transaction, in the order they were added. Anything else asked
of the outbox meanwhile (a pending list, a drop) first writes what is held, so every read
sees every row.

Only for callers that do not need the id of the row they add (the MatchMade and
MatchAnnounced effects do not);
``add`` returns the message without an id until the buffer is written, and ``add_many``
the number of rows held, not of rows stored.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from core.model import OutboxMessage
from core.ports import OutboxRepository, UnitOfWork


class _Buffered:
    def __init__(self, inner: OutboxRepository) -> None:
        self.inner = inner
        self.held: list[OutboxMessage] = []

    async def add(self, message: OutboxMessage) -> OutboxMessage:
        self.held.append(message)
        return message

    async def add_many(self, messages: Sequence[OutboxMessage]) -> int:
        """Held too (an accountability match's weekly check-ins are added this way: a
        flush per match would be a statement per match). Returns how many were held; the
        rows really added (a key already stored is ignored) are known only once written."""
        self.held.extend(messages)
        return len(messages)

    async def flush(self) -> int:
        held, self.held = self.held, []
        return await self.inner.add_many(held) if held else 0

    def __getattr__(self, name: str) -> Callable[..., Awaitable[Any]]:
        method = getattr(self.inner, name)

        async def after_flush(*args: Any, **kwargs: Any) -> Any:
            await self.flush()
            return await method(*args, **kwargs)

        return after_flush


@asynccontextmanager
async def buffered_outbox(uow: UnitOfWork) -> AsyncIterator[None]:
    """Inside the block, ``uow.outbox.add`` holds rows; leaving it writes them (not when the
    block raised: the transaction is being abandoned anyway)."""
    inner = uow.outbox
    buffer = _Buffered(inner)
    uow.outbox = buffer  # type: ignore[assignment]  # the same methods, by delegation
    try:
        yield
        await buffer.flush()
    finally:
        uow.outbox = inner
