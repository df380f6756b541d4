"""The repositories of support offers (asks to a supporter) and verified supporters."""

from __future__ import annotations

import builtins
from datetime import datetime
from typing import Any

from sqlalchemy import Row, delete, select, update

from adapters.sql.repo_base import SqlRepository
from adapters.sql.repos_people import upsert_insert
from adapters.sql.tables import support_offers as offers_t
from adapters.sql.tables import verified_supporters as verified_t
from core.model import Mode, OfferState, SupportOffer, Verification

_FIELDS = ("community_id", "learner_id", "supporter_id", "entry_id", "score", "created_at",
           "expires_at", "match_id", "round_id")


def _values(offer: SupportOffer) -> dict[str, Any]:
    return {**{n: getattr(offer, n) for n in _FIELDS}, "kind": str(offer.kind),
            "reasons": list(offer.reasons), "excluded": list(offer.excluded),
            "times": [[a.isoformat(), b.isoformat()] for a, b in offer.times],
            "state": str(offer.state)}


def _offer(row: Row[Any]) -> SupportOffer:
    return SupportOffer(
        **{n: getattr(row, n) for n in _FIELDS}, kind=Mode(row.kind),
        reasons=list(row.reasons or ()), excluded=tuple(int(i) for i in row.excluded or ()),
        times=[(datetime.fromisoformat(a), datetime.fromisoformat(b)) for a, b in row.times or ()],
        state=OfferState(row.state), id=row.id)


class SqlSupportOfferRepository(SqlRepository):
    async def add(self, offer: SupportOffer) -> SupportOffer:
        offer.id = await self._insert(offers_t, _values(offer), "support offer")
        return offer

    async def get(self, offer_id: int) -> SupportOffer | None:
        row = (await self.conn.execute(
            select(offers_t).where(offers_t.c.id == offer_id))).first()
        return _offer(row) if row else None

    async def update(self, offer: SupportOffer) -> None:
        await self.conn.execute(update(offers_t).where(offers_t.c.id == offer.id)
                                .values(_values(offer)))

    async def open_for_learner(self, learner_id: int) -> SupportOffer | None:
        row = (await self.conn.execute(select(offers_t).where(
            offers_t.c.learner_id == learner_id,
            offers_t.c.state == OfferState.OPEN.value))).first()
        return _offer(row) if row else None

    async def list(self, community_id: int, state: OfferState | None = None
                   ) -> builtins.list[SupportOffer]:
        stmt = select(offers_t).where(offers_t.c.community_id == community_id)
        if state is not None:
            stmt = stmt.where(offers_t.c.state == state.value)
        return [_offer(r) for r in await self.conn.execute(stmt.order_by(offers_t.c.id))]

    async def expired(self, community_id: int, now: datetime) -> builtins.list[SupportOffer]:
        rows = await self.conn.execute(select(offers_t).where(
            offers_t.c.community_id == community_id,
            offers_t.c.state == OfferState.OPEN.value,
            offers_t.c.expires_at <= now).order_by(offers_t.c.id))
        return [_offer(r) for r in rows]


def _verification(row: Row[Any]) -> Verification:
    return Verification(row.learner_id, row.community_id, tuple(row.topics or ()),
                        row.verified_by, row.verified_at)


class SqlVerificationRepository(SqlRepository):
    async def save(self, verification: Verification) -> None:
        values = {"learner_id": verification.learner_id,
                  "community_id": verification.community_id,
                  "topics": list(verification.topics), "verified_by": verification.verified_by,
                  "verified_at": verification.verified_at}
        stmt = upsert_insert(self.conn.dialect.name)(verified_t).values(**values)
        await self.conn.execute(stmt.on_conflict_do_update(
            index_elements=[verified_t.c.learner_id],
            set_={n: stmt.excluded[n] for n in ("topics", "verified_by", "verified_at")}))

    async def delete(self, learner_id: int) -> bool:
        result = await self.conn.execute(
            delete(verified_t).where(verified_t.c.learner_id == learner_id))
        return bool(result.rowcount)

    async def list(self, community_id: int) -> builtins.list[Verification]:
        rows = await self.conn.execute(select(verified_t).where(
            verified_t.c.community_id == community_id).order_by(verified_t.c.learner_id))
        return [_verification(r) for r in rows]
