"""The outbox repository: idempotent adds and leased claims for the dispatcher."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, delete, func, select, update

from adapters.sql.repo_base import SqlRepository
from adapters.sql.repos_people import among, chunks, upsert_insert
from adapters.sql.tables import outbox
from core.messages import from_row
from core.model import OutboxMessage, OutboxState

_FIELDS = ("community_id", "due_at", "attempts", "last_error", "sent_at", "claim_token",
           "claimed_by", "attempt_started_at")
_PENDING = OutboxState.PENDING.value


def _message(row: Row[Any]) -> OutboxMessage:
    """A stored row as the typed message it holds (the kind and payload become a class)."""
    return OutboxMessage(from_row(row.kind, row.target, row.idempotency_key, row.payload),
                         **{n: getattr(row, n) for n in _FIELDS}, state=OutboxState(row.state),
                         progress=dict(row.progress or {}), id=row.id)


def _values(message: OutboxMessage) -> dict[str, Any]:
    """The columns of a message: its stored kind, target, key and payload, and its state."""
    return {**{n: getattr(message, n) for n in _FIELDS}, "kind": message.kind,
            "target": message.target, "idempotency_key": message.idempotency_key,
            "payload": message.payload, "state": str(message.state),
            "progress": dict(message.progress)}


class SqlOutboxRepository(SqlRepository):
    _order = (outbox.c.due_at, outbox.c.id)

    async def add(self, message: OutboxMessage) -> OutboxMessage:
        """Add a message; a second message with the same idempotency key is ignored
        (returned without an id). ON CONFLICT DO NOTHING: no error, no aborted transaction."""
        stmt = (upsert_insert(self.conn.dialect.name)(outbox).values(_values(message))
                .on_conflict_do_nothing(index_elements=[outbox.c.idempotency_key])
                .returning(outbox.c.id))
        new_id = (await self.conn.execute(stmt)).scalar_one_or_none()
        if new_id is not None:
            message.id = int(new_id)
        return message

    async def add_many(self, messages: Sequence[OutboxMessage]) -> int:
        """One multi-row INSERT ... ON CONFLICT DO NOTHING RETURNING per few hundred rows
        (SQLAlchemy's "insertmanyvalues"); RETURNING names only the rows really added."""
        if not messages:
            return 0
        stmt = (upsert_insert(self.conn.dialect.name)(outbox)
                .on_conflict_do_nothing(index_elements=[outbox.c.idempotency_key])
                .returning(outbox.c.id, outbox.c.idempotency_key))
        added = 0
        for chunk in chunks(list(messages)):
            result = await self.conn.execute(stmt, [_values(m) for m in chunk])
            ids = {r.idempotency_key: int(r.id) for r in result}
            for message in chunk:
                if message.idempotency_key in ids:
                    message.id = ids[message.idempotency_key]
            added += len(ids)
        return added

    async def existing_keys(self, keys: Sequence[str]) -> set[str]:
        if not keys:
            return set()
        return set(await self.conn.scalars(select(outbox.c.idempotency_key).where(
            among(self.conn.dialect.name, outbox.c.idempotency_key, list(dict.fromkeys(keys))))))

    async def count_errors(self, community_id: int, error: str) -> int:
        return int(await self.conn.scalar(select(func.count()).select_from(outbox).where(
            outbox.c.community_id == community_id, outbox.c.last_error == error)) or 0)

    async def claim_due(
        self, now: datetime, limit: int, lease_until: datetime
    ) -> list[OutboxMessage]:
        """Claim up to ``limit`` pending messages due at ``now``, oldest first, and lease them
        until ``lease_until`` (their ``due_at``). On PostgreSQL rows another transaction is
        claiming are skipped (FOR UPDATE SKIP LOCKED); SQLite's write lock serialises claims.
        """
        rows = (await self.conn.execute(
            select(outbox).where(outbox.c.state == _PENDING, outbox.c.due_at <= now)
            .order_by(*self._order).limit(limit)
            .with_for_update(skip_locked=True))).all()
        if not rows:
            return []
        await self.conn.execute(update(outbox).where(outbox.c.id.in_([r.id for r in rows]))
                                .values(due_at=lease_until))
        claimed = [_message(r) for r in rows]
        for message in claimed:
            message.due_at = lease_until
        return claimed

    async def update(self, message: OutboxMessage) -> None:
        await self.conn.execute(update(outbox).where(outbox.c.id == message.id)
                                .values(_values(message)))

    async def pending(self, community_id: int | None = None) -> list[OutboxMessage]:
        stmt = select(outbox).where(outbox.c.state == _PENDING)
        if community_id is not None:
            stmt = stmt.where(outbox.c.community_id == community_id)
        return [_message(r) for r in await self.conn.execute(stmt.order_by(*self._order))]

    async def list(self, community_id: int | None = None) -> list[OutboxMessage]:
        stmt = select(outbox)
        if community_id is not None:
            stmt = stmt.where(outbox.c.community_id == community_id)
        return [_message(r) for r in await self.conn.execute(stmt.order_by(outbox.c.id))]

    async def drop_matching(self, key_prefix: str, reason: str) -> int:
        """Drop pending messages whose idempotency key starts with the prefix (``%`` and
        ``_`` in the prefix are literal). Returns how many were dropped."""
        result = await self.conn.execute(
            update(outbox).where(outbox.c.state == _PENDING,
                                 outbox.c.idempotency_key.startswith(key_prefix, autoescape=True))
            .values(state=OutboxState.DROPPED.value, last_error=reason))
        return int(result.rowcount)

    async def delete_for_target(self, community_id: int, target: str) -> None:
        await self.conn.execute(delete(outbox).where(outbox.c.community_id == community_id,
                                                     outbox.c.target == target))
