"""The repositories of support offers (asks to a supporter) and verified supporters."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, delete, select, update
from sqlalchemy.exc import IntegrityError

from adapters.sql.repo_base import SqlRepository
from adapters.sql.repos_people import chunks, upsert_insert
from adapters.sql.tables import support_offers as offers_t
from adapters.sql.tables import verified_supporters as verified_t
from core.model import Mode, OfferState, SupportOffer, Verification
from core.ports import StorageConflict

_MANY_CHUNK = 2_000  # asks per bulk write: one id read, one executemany, one SAVEPOINT
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

    async def add_many(self, offers: Sequence[SupportOffer]) -> builtins.list[SupportOffer]:
        """A round's asks: per chunk, new ids and one executemany inside a SAVEPOINT. Should
        a chunk break the one-open-ask rule (a learner asked meanwhile), the SAVEPOINT undoes
        it and its asks are stored one at a time, only the refused ones left out."""
        stored: builtins.list[SupportOffer] = []
        for chunk in chunks(builtins.list(offers), _MANY_CHUNK):
            ids = await self._new_ids(offers_t, len(chunk))
            try:
                async with self.conn.begin_nested():
                    await self.conn.execute(offers_t.insert(), [
                        {"id": new_id, **_values(o)} for o, new_id in zip(chunk, ids, strict=True)])
                for offer, new_id in zip(chunk, ids, strict=True):
                    offer.id = new_id
                stored += chunk
            except IntegrityError:
                for offer in chunk:
                    try:
                        stored.append(await self.add(offer))
                    except StorageConflict:
                        continue
        return stored

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
