"""A round's load reads past partners and supporters' seats set-based (issue 9.1), with the
same answers as reading every match: pairs of every match whatever its state, groups
included, and only the community's own."""

from __future__ import annotations

from dataclasses import replace

from core.model import MatchState, Mode
from core.services.round_load import load
from tests.helpers import Bot
from tests.scheduler.support import add_match, community_id, learner_id

SUPPORT = {"support_kind": "Concepts"}


async def test_past_partners_are_every_pair_of_every_match_in_the_community(storage) -> None:
    bot = Bot(storage)
    for user in ("ana", "ben", "cal", "dee", "eve"):
        assert (await bot.join(user)).ok
    group = await add_match(bot, "ana", "ben", "cal", kind=Mode.STUDY_GROUP)
    ended = await add_match(bot, "dee", "eve")
    async with bot.storage.uow_factory() as uow:
        ended.state, ended.ended_reason, ended.ended_at = MatchState.ENDED, "done", bot.clock.now()
        await uow.matches.update(ended)
        await uow.commit()
    other = Bot(storage, community="guild-2")  # another community's match is not theirs
    for user in ("ana", "dee"):
        assert (await other.join(user)).ok
    await add_match(other, "ana", "dee")

    ids = {u: await learner_id(bot, u) for u in ("ana", "ben", "cal", "dee", "eve")}
    cid = await community_id(bot)
    async with bot.storage.uow_factory(writes=False) as uow:
        community = await uow.communities.get(cid)
        assert community is not None
        data = await load(uow, community, bot.services.defaults, bot.clock.now())
        assert data.past == await uow.matches.partner_pairs(cid)
    assert data.past == {frozenset((ids[a], ids[b])) for a, b in
                         (("ana", "ben"), ("ana", "cal"), ("ben", "cal"), ("dee", "eve"))}
    assert group.id is not None


async def test_a_supporters_free_seats_count_only_active_support_matches(storage) -> None:
    bot = Bot(storage)
    assert (await bot.join("sam", "offer-support", capacity="3", **SUPPORT)).ok
    for user in ("ana", "ben", "cal"):
        assert (await bot.join(user, "need-support", **SUPPORT)).ok
    roles = ("supporter", "supported")
    await add_match(bot, "sam", "ana", kind=Mode.NEED_SUPPORT, roles=roles)
    ended = await add_match(bot, "sam", "ben", kind=Mode.NEED_SUPPORT, roles=roles)
    async with bot.storage.uow_factory() as uow:
        await uow.matches.update(replace(ended, state=MatchState.ENDED, ended_reason="done",
                                         ended_at=bot.clock.now()))
        await uow.commit()
    cid, sam = await community_id(bot), await learner_id(bot, "sam")
    async with bot.storage.uow_factory(writes=False) as uow:
        community = await uow.communities.get(cid)
        assert community is not None
        data = await load(uow, community, bot.services.defaults, bot.clock.now())
    [me] = [c for c in data.candidates if c.learner_id == sam]
    assert me.capacity == 2  # three seats, one taken by the active match only
