"""Answering a support offer is set-based: a decline (which plans the next supporter with
the round's engine) and an accept issue as many statements with 2,000 learners waiting as
with 20 (the house rule: no query per learner)."""

from __future__ import annotations

from typing import Any

import pytest

from core.model import OfferState
from tests.helpers import Bot
from tests.sql.test_command_query_budget import BIG, SMALL, _community, _statements

STATS = {"topic": "Statistics", "support_kind": "Concepts", "capacity": "2"}


async def _open_offer_id(bot: Bot) -> tuple[int, str]:
    async with bot.storage.uow_factory() as uow:
        community = await uow.communities.by_external("test", bot.community)
        assert community is not None and community.id is not None
        (offer,) = await uow.offers.list(community.id, OfferState.OPEN)
        supporter = await uow.learners.get(offer.supporter_id)
        assert offer.id is not None and supporter is not None
        return offer.id, supporter.platform_user_id


async def _answer_budgets(storage: Any) -> None:
    bots = [await _community(storage, "small", SMALL), await _community(storage, "big", BIG)]
    declines, accepts = [], []
    for bot in bots:
        for user in ("zz-sam", "zz-tom"):
            assert (await bot.join(user, mode="offer-support", **STATS)).ok
        assert (await bot.join("zz-nia", mode="need-support", **STATS)).ok
        offered = await bot.run("mod", "peeradmin pair", user_a="zz-sam", user_b="zz-nia")
        assert offered.ok and "Offered" in offered.text, offered.text
        oid, who = await _open_offer_id(bot)
        n, reply = await _statements(storage, lambda b=bot, u=who, o=oid:
                                     b.run(u, "peer support-decline", offer=o))
        assert reply.ok, reply.text
        declines.append(n)
        oid, who = await _open_offer_id(bot)
        assert who == "zz-tom"  # handed on to the next supporter
        n, reply = await _statements(storage, lambda b=bot, u=who, o=oid:
                                     b.run(u, "peer support-accept", offer=o))
        assert reply.ok, reply.text
        accepts.append(n)
    assert declines[0] == declines[1] and accepts[0] == accepts[1], (declines, accepts)
    assert declines[0] <= 40 and accepts[0] <= 35, (declines, accepts)  # 28 and 24 today


async def test_answering_an_offer_does_not_grow_with_the_queue_on_sqlite(sqlite_storage) -> None:
    await _answer_budgets(sqlite_storage)


@pytest.mark.postgres
async def test_answering_an_offer_does_not_grow_with_the_queue_on_postgres(pg_storage) -> None:
    await _answer_budgets(pg_storage)
