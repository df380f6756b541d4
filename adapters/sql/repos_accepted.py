"""The accepted-work repository: rows written before an ack, claimed and run once."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, or_, select, update

from adapters.sql.repo_base import SqlRepository
from adapters.sql.tables import accepted_work as aw
from core.accepted import AcceptedWork, WorkKind, WorkState

_FIELDS = ("platform", "community_external_id", "payload", "reply_to", "attempts",
           "claim_token", "claimed_until", "result", "accepted_at", "finished_at")
_OPEN = (WorkState.PENDING.value, WorkState.DONE.value)


def _work(row: Row[Any]) -> AcceptedWork:
    return AcceptedWork(kind=WorkKind(row.kind), state=WorkState(row.state), id=row.id,
                        **{n: getattr(row, n) for n in _FIELDS})


class SqlAcceptedWorkRepository(SqlRepository):
    async def add(self, work: AcceptedWork) -> AcceptedWork:
        values = {n: getattr(work, n) for n in _FIELDS}
        work.id = await self._insert(aw, {**values, "kind": work.kind.value,
                                          "state": work.state.value}, "accepted work")
        return work

    async def claim(self, now: datetime, lease_until: datetime, token: str, limit: int,
                    platforms: Sequence[str] = ()) -> list[AcceptedWork]:
        rows = (await self.conn.execute(
            select(aw).where(aw.c.state.in_(_OPEN),
                             or_(aw.c.claimed_until.is_(None), aw.c.claimed_until <= now),
                             or_(aw.c.kind == WorkKind.INSTANT_MATCH.value,
                                 aw.c.platform.in_(list(platforms))))
            .order_by(aw.c.accepted_at, aw.c.id).limit(limit)
            .with_for_update(skip_locked=True))).all()
        claimed = []
        for row in rows:
            work = _work(row)
            if work.state is WorkState.PENDING:
                work.attempts += 1  # a run starts; a crash during it still counts
            work.claim_token, work.claimed_until = token, lease_until
            await self.conn.execute(update(aw).where(aw.c.id == row.id).values(
                attempts=work.attempts, claim_token=token, claimed_until=lease_until))
            claimed.append(work)
        return claimed

    async def extend(self, work_id: int, token: str, lease_until: datetime) -> bool:
        result = await self.conn.execute(
            update(aw).where(aw.c.id == work_id, aw.c.claim_token == token,
                             aw.c.state.in_(_OPEN)).values(claimed_until=lease_until))
        return bool(result.rowcount)

    async def settle(self, work_id: int, token: str, result: dict[str, Any],
                     now: datetime) -> bool:
        done = await self.conn.execute(
            update(aw).where(aw.c.id == work_id, aw.c.claim_token == token,
                             aw.c.state == WorkState.PENDING.value)
            .values(state=WorkState.DONE.value, result=result, finished_at=now))
        return bool(done.rowcount)

    async def finish(self, work_id: int, token: str, now: datetime, *,
                     failed: str = "") -> None:
        values: dict[str, Any] = {"claimed_until": None, "state": WorkState.REPLIED.value}
        if failed:
            values |= {"state": WorkState.FAILED.value, "result": {"error": failed},
                       "finished_at": now}
        await self.conn.execute(update(aw).where(aw.c.id == work_id, aw.c.claim_token == token,
                                                 aw.c.state.in_(_OPEN)).values(values))

    async def reclaim(self, token_prefix: str) -> int:
        if not token_prefix:
            return 0
        result = await self.conn.execute(
            update(aw).where(aw.c.state.in_(_OPEN), aw.c.claimed_until.is_not(None),
                             aw.c.claim_token.startswith(token_prefix, autoescape=True))
            .values(claimed_until=None))
        return int(result.rowcount)

    async def get(self, work_id: int) -> AcceptedWork | None:
        row = (await self.conn.execute(select(aw).where(aw.c.id == work_id))).first()
        return _work(row) if row is not None else None

    async def list(self) -> list[AcceptedWork]:
        return [_work(r) for r in await self.conn.execute(select(aw).order_by(aw.c.id))]
