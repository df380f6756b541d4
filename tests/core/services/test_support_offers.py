"""Supporters accept or decline (issue 15.1), verified supporters (15.3) and the
supporter's view (15.6), on every backend (the ``storage`` fixture)."""

from __future__ import annotations

from datetime import timedelta

from bot.scheduler import plan_all
from core.model import Feedback, OfferState, QueueState, SupportOffer
from core.services import accepted
from core.services.verification import is_verified
from core.settings import CommunitySettings
from tests.core.services.test_accepted_work import Answers
from tests.helpers import Bot
from tests.scheduler.support import community_id, learner_id, matches

SUPPORT = {"support_kind": "Concepts"}


async def _offers(bot: Bot) -> list[SupportOffer]:
    cid = await community_id(bot)
    async with bot.storage.uow_factory() as uow:
        return await uow.offers.list(cid)


async def _open_offer(bot: Bot) -> SupportOffer:
    found = [o for o in await _offers(bot) if o.state is OfferState.OPEN]
    assert len(found) == 1, found
    return found[0]


async def _user(bot: Bot, learner: int) -> str:
    async with bot.storage.uow_factory() as uow:
        found = await uow.learners.get(learner)
        assert found is not None
        return found.platform_user_id


async def _two_supporters_one_learner(bot: Bot) -> SupportOffer:
    for user in ("sam", "tom"):
        assert (await bot.join(user, mode="offer-support", capacity="2", **SUPPORT)).ok
    assert (await bot.join("nia", mode="need-support", **SUPPORT)).ok
    assert "1 match," in (await bot.run("mod", "peeradmin match-now")).text
    return await _open_offer(bot)


async def test_a_round_asks_the_supporter_first_and_the_space_opens_on_accept(storage) -> None:
    bot = Bot(storage)
    offer = await _two_supporters_one_learner(bot)
    assert await matches(bot) == []  # nothing made before the supporter says yes
    await bot.deliver()
    asked = await _user(bot, offer.supporter_id)
    ask = bot.deliverer.dms_to(asked)[-1]
    assert "{u:nia} asks for support with **Concepts** on **Python**" in ask
    assert "{t:" in ask  # times as instants: each reader sees them in their own zone
    ask_msg = [m for m in bot.deliverer.sent if m.kind == "dm" and m.target == asked][-1]
    assert [b["action"] for b in ask_msg.payload["buttons"]] == [
        "peer support-accept", "peer support-decline"]
    assert "asked them" in bot.deliverer.dms_to("nia")[-1]
    assert not [m for m in bot.deliverer.sent if m.kind == "space_open"]

    reply = await bot.run(asked, "peer support-accept", offer=offer.id)
    assert reply.ok, reply.text
    made = await matches(bot)
    assert len(made) == 1 and set(made[0].member_ids()) == {
        offer.supporter_id, await learner_id(bot, "nia")}
    await bot.deliver()
    assert [m for m in bot.deliverer.sent if m.kind == "space_open"]
    assert any("accepted your request" in t for t in bot.deliverer.dms_to("nia"))
    again = await bot.run(asked, "peer support-accept", offer=offer.id)
    assert not again.ok and "accepted already" in again.text


async def test_a_decline_hands_the_learner_to_the_next_supporter(storage) -> None:
    bot = Bot(storage)
    first = await _two_supporters_one_learner(bot)
    first_user = await _user(bot, first.supporter_id)
    reply = await bot.run(first_user, "peer support-decline", offer=first.id)
    assert reply.ok, reply.text
    second = await _open_offer(bot)
    assert second.supporter_id != first.supporter_id
    assert second.excluded == (first.supporter_id,)
    await bot.deliver()
    assert "could not take your request, so I've asked another" in bot.deliverer.dms_to(
        "nia")[-1]
    assert not any("asks for support" in t for t in bot.deliverer.dms_to(first_user))
    second_user = await _user(bot, second.supporter_id)
    assert (await bot.run(second_user, "peer support-accept", offer=second.id)).ok
    made = await matches(bot)
    assert len(made) == 1 and first.supporter_id not in made[0].member_ids()


async def test_48_hours_of_silence_hand_the_learner_on(storage) -> None:
    bot = Bot(storage)
    first = await _two_supporters_one_learner(bot)
    bot.clock.advance(hours=47)
    await plan_all(bot.services)
    assert (await _open_offer(bot)).id == first.id  # not yet
    bot.clock.advance(hours=1)
    await plan_all(bot.services)
    second = await _open_offer(bot)
    assert second.supporter_id != first.supporter_id
    states = {o.id: o.state for o in await _offers(bot)}
    assert states[first.id] is OfferState.EXPIRED
    late = await bot.run(await _user(bot, first.supporter_id), "peer support-accept",
                         offer=first.id)
    assert not late.ok and "expired already" in late.text
    await plan_all(bot.services)  # run again: nothing is handed on twice
    assert len(await _offers(bot)) == 2


async def test_a_learner_cannot_open_a_second_request_meanwhile(storage) -> None:
    bot = Bot(storage)
    await _two_supporters_one_learner(bot)
    for attempt in (await bot.join("nia", mode="need-support", **SUPPORT),
                    await bot.join("nia", mode="study-buddy"),
                    await bot.run("nia", "peer rejoin")):
        assert not attempt.ok and attempt.ephemeral
        assert "A supporter is considering your support request" in attempt.text
    cid, nia = await community_id(bot), await learner_id(bot, "nia")
    async with bot.storage.uow_factory() as uow:
        waiting = [e for e in await uow.queue.waiting(cid) if e.learner_id == nia]
    assert waiting == []  # nothing new was queued


async def test_when_nobody_is_left_the_learner_waits_and_is_told(storage) -> None:
    bot = Bot(storage)
    assert (await bot.join("sam", mode="offer-support", capacity="2", **SUPPORT)).ok
    assert (await bot.join("nia", mode="need-support", **SUPPORT)).ok
    assert "1 match," in (await bot.run("mod", "peeradmin match-now")).text
    offer = await _open_offer(bot)
    assert (await bot.run("sam", "peer support-decline", offer=offer.id)).ok
    await bot.deliver()
    assert "no other supporter is free" in bot.deliverer.dms_to("nia")[-1]
    nia = await learner_id(bot, "nia")
    async with bot.storage.uow_factory() as uow:
        entry = await uow.queue.open_for(nia)
    assert entry is not None and entry.state is QueueState.WAITING
    # The next round does not ask sam again for this request.
    assert "0 matches" in (await bot.run("mod", "peeradmin match-now")).text
    assert len(await _offers(bot)) == 1


async def test_capacity_counts_accepted_matches_only(storage) -> None:
    bot = Bot(storage)
    assert (await bot.join("sam", mode="offer-support", capacity="1", **SUPPORT)).ok
    assert (await bot.join("nia", mode="need-support", **SUPPORT)).ok
    await bot.run("mod", "peeradmin match-now")
    offer = await _open_offer(bot)
    sam = await learner_id(bot, "sam")
    async with bot.storage.uow_factory() as uow:
        assert (await uow.queue.open_for(sam)) is not None  # an offer takes no seat
    assert (await bot.run("sam", "peer support-accept", offer=offer.id)).ok
    async with bot.storage.uow_factory() as uow:
        assert (await uow.queue.open_for(sam)) is None  # the one seat is taken: out


async def test_verified_only_matches_only_verified_supporters(storage) -> None:
    bot = Bot(storage, settings=CommunitySettings(support_verified_only=True))
    for user in ("sam", "tom"):
        assert (await bot.join(user, mode="offer-support", capacity="2", **SUPPORT)).ok
    assert (await bot.join("nia", mode="need-support", **SUPPORT)).ok
    not_mod = await bot.run("nia", "peeradmin verify", user="tom")
    assert not not_mod.ok
    assert (await bot.run("mod", "peeradmin verify", user="tom", topics="Statistics")).ok
    assert "0 matches" in (await bot.run("mod", "peeradmin match-now")).text  # wrong topic
    assert (await bot.run("mod", "peeradmin verify", user="tom", topics="Python")).ok
    assert "1 match," in (await bot.run("mod", "peeradmin match-now")).text
    offer = await _open_offer(bot)
    assert offer.supporter_id == await learner_id(bot, "tom")
    await bot.deliver()
    assert "(✓ verified)" in bot.deliverer.dms_to("nia")[-1]
    assert (await bot.run("tom", "peer support-accept", offer=offer.id)).ok
    assert "✓ verified supporter" in (await matches(bot))[0].reasons[0]
    cid, tom, sam = (await community_id(bot), await learner_id(bot, "tom"),
                     await learner_id(bot, "sam"))
    async with bot.storage.uow_factory() as uow:  # what office-hour listings ask
        assert await is_verified(uow, cid, tom, "python") and await is_verified(uow, cid, tom)
        assert not await is_verified(uow, cid, tom, "Statistics")
        assert not await is_verified(uow, cid, sam)
    assert (await bot.run("mod", "peeradmin unverify", user="tom")).ok
    missing = await bot.run("mod", "peeradmin unverify", user="tom")
    assert not missing.ok and "not a verified supporter" in missing.text


async def _rate(bot: Bot, match_id: int, supporter: int, rater: int,
                sessions: range) -> None:
    """One rating per (made-up) session number: the learner rated each session."""
    async with bot.storage.uow_factory() as uow:
        for number in sessions:
            await uow.feedback.add(Feedback(match_id, rater, supporter,
                                            {"clarity": 4, "responsiveness": 5}, "",
                                            bot.clock.now(), session_id=number))
        await uow.commit()


async def test_supporting_shows_learners_and_ratings_only_from_three(storage) -> None:
    bot = Bot(storage)
    assert (await bot.join("sam", mode="offer-support", capacity="3", **SUPPORT)).ok
    assert (await bot.join("nia", mode="need-support", anonymous="yes", **SUPPORT)).ok
    await bot.match_now()
    match = (await matches(bot))[0]
    sam, nia = await learner_id(bot, "sam"), await learner_id(bot, "nia")
    view = await bot.run("sam", "peer supporting")
    assert view.ok and "You support 1 learner" in view.text
    assert "Anonymous learner" in view.text and "nia" not in view.text.lower()
    assert "no session booked yet" in view.text
    booked = await bot.book("sam", "peer schedule", when="2026-03-03 18:00")
    assert booked.ok, booked.text
    view = await bot.run("sam", "peer supporting")
    assert "next: {t:" in view.text and "no session booked yet" not in view.text
    await _rate(bot, int(match.id or 0), sam, nia, range(1, 3))
    view = await bot.run("sam", "peer supporting")
    assert "shown from 3 ratings on" in view.text and "clarity" not in view.text
    await _rate(bot, int(match.id or 0), sam, nia, range(3, 4))
    view = await bot.run("sam", "peer supporting")
    assert "clarity 4.0/5" in view.text and "responsiveness 5.0/5" in view.text


async def test_an_offer_is_the_supporters_only(storage) -> None:
    bot = Bot(storage)
    offer = await _two_supporters_one_learner(bot)
    other = "tom" if await _user(bot, offer.supporter_id) == "sam" else "sam"
    for user in (other, "nia"):
        reply = await bot.run(user, "peer support-accept", offer=offer.id)
        assert not reply.ok and "no support offer number" in reply.text
    assert (await _open_offer(bot)).id == offer.id
    assert timedelta(hours=48) == offer.expires_at - offer.created_at


async def test_styles_are_an_optional_field_of_the_support_forms(storage) -> None:
    bot = Bot(storage)
    bad = await bot.join("nia", mode="need-support", styles="telepathy", **SUPPORT)
    assert not bad.ok and "Learning / teaching styles" in bad.text
    assert (await bot.join("nia", mode="need-support", styles="Visual, hands-on",
                           **SUPPORT)).ok
    nia = await learner_id(bot, "nia")
    async with bot.storage.uow_factory() as uow:
        profile = await uow.profiles.get(nia)
    assert profile is not None and profile.styles == ("visual", "hands-on")
    assert "**Styles:** visual, hands-on" in (await bot.run("nia", "peer profile")).text


async def test_status_tells_the_learner_and_leave_withdraws_the_request(storage) -> None:
    bot = Bot(storage)
    offer = await _two_supporters_one_learner(bot)
    status = await bot.run("nia", "peer status")
    assert "A supporter is considering your support request" in status.text
    left = await bot.run("nia", "peer leave")
    assert left.ok and "withdrawn your support request" in left.text
    states = {o.id: o.state for o in await _offers(bot)}
    assert states[offer.id] is OfferState.WITHDRAWN
    refused = await bot.run(await _user(bot, offer.supporter_id), "peer support-accept",
                            offer=offer.id)
    assert not refused.ok and await matches(bot) == []
    assert (await bot.run("nia", "peer rejoin")).ok  # a new request may be opened now


async def test_a_pair_by_hand_is_offered_to_the_supporter_too(storage) -> None:
    bot = Bot(storage)
    assert (await bot.join("sam", mode="offer-support", capacity="2", **SUPPORT)).ok
    assert (await bot.join("nia", mode="need-support", **SUPPORT)).ok
    reply = await bot.run("mod", "peeradmin pair", user_a="sam", user_b="nia")
    assert reply.ok and "Offered the pair to the supporter" in reply.text, reply.text
    assert await matches(bot) == []
    offer = await _open_offer(bot)
    assert offer.supporter_id == await learner_id(bot, "sam")
    assert "paired by a moderator" in offer.reasons
    assert (await bot.run("sam", "peer support-accept", offer=offer.id)).ok
    assert len(await matches(bot)) == 1


async def test_a_supporter_who_forgets_releases_the_learner_asked(storage) -> None:
    bot = Bot(storage)
    assert (await bot.join("sam", mode="offer-support", capacity="2", **SUPPORT)).ok
    assert (await bot.join("nia", mode="need-support", **SUPPORT)).ok
    await bot.run("mod", "peeradmin match-now")
    await _open_offer(bot)
    assert (await bot.run("sam", "peer forget", confirm="yes")).ok
    nia = await learner_id(bot, "nia")
    async with bot.storage.uow_factory() as uow:
        entry = await uow.queue.open_for(nia)
    assert entry is not None and entry.state is QueueState.WAITING  # back, place kept
    await bot.deliver()
    assert "no longer available" in bot.deliverer.dms_to("nia")[-1]


async def test_a_banned_supporter_releases_the_learner_asked(storage) -> None:
    bot = Bot(storage)
    assert (await bot.join("sam", mode="offer-support", capacity="2", **SUPPORT)).ok
    assert (await bot.join("nia", mode="need-support", **SUPPORT)).ok
    await bot.run("mod", "peeradmin match-now")
    offer = await _open_offer(bot)
    assert (await bot.run("mod", "peeradmin ban", user="sam", reason="spam")).ok
    nia = await learner_id(bot, "nia")
    async with bot.storage.uow_factory() as uow:
        entry = await uow.queue.open_for(nia)
        assert (await uow.offers.get(offer.id)).state is OfferState.WITHDRAWN
    assert entry is not None and entry.state is QueueState.WAITING  # back, place kept
    await bot.deliver()
    assert "no longer available" in bot.deliverer.dms_to("nia")[-1]


async def test_an_instant_match_offers_the_supporter_first(storage) -> None:
    bot = Bot(storage, settings=CommunitySettings(instant_match=True))
    assert (await bot.join("sam", mode="offer-support", capacity="2", **SUPPORT)).ok
    assert (await bot.join("nia", mode="need-support", **SUPPORT)).ok
    await accepted.run_pending(bot.services, "t1", {"test": Answers(bot)})
    offer = await _open_offer(bot)
    assert offer.supporter_id == await learner_id(bot, "sam") and await matches(bot) == []
    assert (await bot.run("sam", "peer support-accept", offer=offer.id)).ok
    assert len(await matches(bot)) == 1
