"""Support offers and verified supporters, on memory, SQLite and PostgreSQL alike: one open
ask per learner (the partial unique index of migration 0009), expiry reads, times kept as
aware UTC instants, verifications replaced and deleted, and both gone with /peer forget."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from core.model import Mode, OfferState, SupportOffer, Verification
from core.ports import StorageConflict
from tests.sql.test_repository_contract import T0, seed

HOUR = timedelta(hours=1)


def offer(cid: int, learner: int, supporter: int, **kw: Any) -> SupportOffer:
    return SupportOffer(cid, learner, supporter, 7, Mode.NEED_SUPPORT, ["support on Python"],
                        [(T0 + HOUR, T0 + 2 * HOUR)], 21.5, T0, T0 + 48 * HOUR, **kw)


async def test_one_open_offer_per_learner_and_expiry(storage: Any) -> None:
    cid, (nia, sam, tom) = await seed(storage)
    async with storage.uow_factory() as uow:
        first = await uow.offers.add(offer(cid, nia, sam))
        with pytest.raises(StorageConflict):
            await uow.offers.add(offer(cid, nia, tom))
        first.state = OfferState.DECLINED
        await uow.offers.update(first)
        second = await uow.offers.add(offer(cid, nia, tom, excluded=(sam,)))
        await uow.commit()
    async with storage.uow_factory() as uow:
        got = await uow.offers.open_for_learner(nia)
        assert got is not None and got.id == second.id and got.excluded == (sam,)
        assert got.times == [(T0 + HOUR, T0 + 2 * HOUR)] and got.times[0][0].tzinfo
        assert got.reasons == ["support on Python"] and got.kind is Mode.NEED_SUPPORT
        assert await uow.offers.expired(cid, T0 + 47 * HOUR) == []
        assert [o.id for o in await uow.offers.expired(cid, T0 + 48 * HOUR)] == [second.id]
        assert [o.id for o in await uow.offers.list(cid, OfferState.DECLINED)] == [first.id]


async def test_verifications_replace_delete_and_go_with_the_learner(storage: Any) -> None:
    cid, (nia, sam, _) = await seed(storage)
    async with storage.uow_factory() as uow:
        await uow.verifications.save(Verification(sam, cid, ("Python",), "mod", T0))
        await uow.verifications.save(Verification(sam, cid, (), "mod2", T0 + HOUR))
        await uow.offers.add(offer(cid, nia, sam))
        await uow.commit()
    async with storage.uow_factory() as uow:
        (only,) = await uow.verifications.list(cid)
        assert only.topics == () and only.verified_by == "mod2" and only.covers("Anything")
        assert await uow.verifications.delete(sam) and not await uow.verifications.delete(sam)
        await uow.verifications.save(Verification(sam, cid, ("Python",), "mod", T0))
        await uow.learners.delete(sam)  # /peer forget: both cascade
        await uow.commit()
    async with storage.uow_factory() as uow:
        assert await uow.verifications.list(cid) == []
        assert await uow.offers.list(cid) == []


async def test_a_rounds_asks_are_stored_in_bulk_and_a_refused_one_is_left_out(
        storage: Any) -> None:
    cid, (nia, sam, tom) = await seed(storage)
    async with storage.uow_factory() as uow:
        await uow.offers.add(offer(cid, nia, sam))  # nia is being asked already
        stored = await uow.offers.add_many([offer(cid, sam, tom), offer(cid, nia, tom),
                                            offer(cid, tom, sam)])
        await uow.commit()
    assert [(o.learner_id, o.supporter_id) for o in stored] == [(sam, tom), (tom, sam)]
    assert all(o.id for o in stored) and len({o.id for o in stored}) == 2
    async with storage.uow_factory() as uow:
        again = {o.id: o for o in await uow.offers.list(cid)}
        assert {again[o.id].learner_id for o in stored} == {sam, tom}
        assert (await uow.offers.open_for_learner(nia)).supporter_id == sam
