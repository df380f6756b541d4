"""Status, leave, unpair, pause/resume, forget, help: the learner lifecycle (every backend)."""

from __future__ import annotations

from datetime import timedelta

from core.model import MatchState
from tests.helpers import Bot


async def _pair(bot: Bot) -> None:
    assert (await bot.join("ana")).ok
    assert (await bot.join("ben")).ok
    reply = await bot.run("mod", "peeradmin match-now")
    assert reply.ok and "1 match," in reply.text, reply.text


async def test_status_shows_position_wait_and_reason(storage) -> None:
    bot = Bot(storage)
    nothing = await bot.run("ana", "peer status")
    assert "not in the queue" in nothing.text
    await bot.join("ana")
    bot.clock.advance(days=3)
    status = await bot.run("ana", "peer status")
    assert "1 of 1" in status.text and "3 days" in status.text
    assert "no matching round has run since you joined" in status.text
    await bot.run("mod", "peeradmin match-now")
    after = await bot.run("ana", "peer status")
    assert "Why no match yet" in after.text and "next round" in after.text


async def test_match_now_makes_a_match_with_dms_and_a_space(storage) -> None:
    bot = Bot(storage)
    await _pair(bot)
    assert await bot.deliver() == 3  # two DMs and the space
    [ana_dm] = bot.deliverer.dms_to("ana")
    assert "{u:ben}" in ana_dm and "Why you were matched" in ana_dm and "{t:" in ana_dm
    [space] = [m for m in bot.deliverer.sent if m.kind == "space_open"]
    assert sorted(space.payload["members"]) == ["ana", "ben"]
    status = await bot.run("ben", "peer status")
    assert "Match #" in status.text and "{u:ana}" in status.text
    again = await bot.join("ben")
    assert not again.ok and "already matched" in again.text


async def test_leave_takes_the_learner_out_of_the_queue(storage) -> None:
    bot = Bot(storage)
    assert not (await bot.run("ana", "peer leave")).ok
    await bot.join("ana")
    assert (await bot.run("ana", "peer leave")).ok
    assert "not in the queue" in (await bot.run("ana", "peer status")).text


async def test_unpair_tells_the_partner_and_they_are_never_matched_again(storage) -> None:
    bot = Bot(storage)
    await _pair(bot)
    await bot.deliver()
    reply = await bot.run("ana", "peer unpair", reason="we never met")
    assert reply.ok and "won't be matched with them again" in reply.text
    await bot.deliver()
    told = bot.deliverer.dms_to("ben")[-1]
    assert "has left match" in told and "we never met" not in told
    assert any(m.kind == "space_close" for m in bot.deliverer.sent)
    async with storage.uow_factory() as uow:
        community = await uow.communities.by_external("test", "guild-1")
        [match] = await uow.matches.list(community.id)
    assert match.state is MatchState.ENDED and "we never met" in match.ended_reason
    assert (await bot.run("ana", "peer rejoin")).ok
    assert (await bot.run("ben", "peer rejoin")).ok
    round2 = await bot.run("mod", "peeradmin match-now")
    assert "0 matches" in round2.text
    # A moderator cannot pair them by hand either.
    manual = await bot.run("mod", "peeradmin pair", user_a="ana", user_b="ben")
    assert not manual.ok and "never matches them again" in manual.text


async def test_pause_skips_rounds_and_resume_brings_back(storage) -> None:
    bot = Bot(storage)
    await bot.join("ana")
    await bot.join("ben")
    paused = await bot.run("ana", "peer pause", weeks=2)
    assert paused.ok and "Paused until" in paused.text
    assert "0 matches" in (await bot.run("mod", "peeradmin match-now")).text
    bad = await bot.run("ana", "peer pause", weeks=40)
    assert not bad.ok and "at most 12" in bad.text
    assert (await bot.run("ana", "peer resume")).ok
    assert not (await bot.run("ana", "peer resume")).ok
    assert "1 match," in (await bot.run("mod", "peeradmin match-now")).text


async def test_pause_ends_by_itself_with_a_dm(storage) -> None:
    bot = Bot(storage)
    await bot.join("ana")
    await bot.run("ana", "peer pause", weeks=1)
    assert await bot.deliver() == 0
    bot.clock.advance(timedelta(weeks=1, minutes=1))
    assert await bot.deliver() == 1
    assert "pause is over" in bot.deliverer.dms_to("ana")[0]


async def test_forget_deletes_everything_and_tells_the_partner(storage) -> None:
    bot = Bot(storage)
    await _pair(bot)
    await bot.deliver()
    unconfirmed = await bot.run("ana", "peer forget")
    assert "Nothing was deleted" in unconfirmed.text
    done = await bot.run("ana", "peer forget", confirm="yes")
    assert done.ok
    await bot.deliver()
    assert "has left PeerMatch" in bot.deliverer.dms_to("ben")[-1]
    async with storage.uow_factory() as uow:
        community = await uow.communities.by_external("test", "guild-1")
        assert await uow.learners.by_platform_id(community.id, "ana") is None
        learners = [lr.platform_user_id for lr in await uow.learners.list(community.id)]
        matches = await uow.matches.list(community.id)
    assert "ana" not in learners
    ana_ids = {m.learner_id for match in matches for m in match.members}
    assert len(ana_ids) == 1  # only ben is left in the match record


async def test_help_lists_learner_commands_and_moderator_ones_only_for_moderators(storage) -> None:
    bot = Bot(storage)
    learner = await bot.run("ana", "peer help")
    assert "/peer join" in learner.text and "/peeradmin" not in learner.text
    moderator = await bot.run("mod", "peer help")
    assert "/peeradmin match-now" in moderator.text


async def test_rate_limit_refuses_with_when_it_resets(storage) -> None:
    bot = Bot(storage)
    for _ in range(20):
        assert (await bot.run("ana", "peer help")).ok
    limited = await bot.run("ana", "peer help")
    assert not limited.ok and "try again {t:" in limited.text
    bot.clock.advance(minutes=1)
    assert (await bot.run("ana", "peer help")).ok


async def test_instant_match_pairs_a_newcomer_with_someone_waiting(storage) -> None:
    from core.settings import CommunitySettings

    bot = Bot(storage, settings=CommunitySettings(instant_match=True))
    first = await bot.join("ana")
    assert first.ok and "in the queue" in first.text
    other_topic = await bot.join("cal", topic="Calculus")
    assert "in the queue" in other_topic.text
    second = await bot.join("ben")
    assert second.ok and "in the queue" in second.text  # the match is looked for after
    from core.services.accepted import run_pending

    await run_pending(bot.services, "runner", {})
    await bot.deliver()
    assert bot.deliverer.dms_to("ana") and bot.deliverer.dms_to("ben")
    assert not bot.deliverer.dms_to("cal")
    assert "Match #" in (await bot.run("ana", "peer status")).text
