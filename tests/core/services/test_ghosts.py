"""Ghosts (issue 14.1): silence is counted from the last answer, a no-show report pauses at
once, a group goes on without its ghost, `/peer resume` brings a ghost back."""

from __future__ import annotations

from datetime import timedelta

from core.model import MatchState, Mode
from core.settings import CommunitySettings
from tests.helpers import Bot
from tests.scheduler.support import add_match, learner_id, matches, pair, rows_by_key, utc
from tests.scheduler.test_scheduler_walk import Walk

BY_HAND = CommunitySettings(schedule="off")


async def _ghost_rows(bot: Bot) -> list[str]:
    return [k for k in await rows_by_key(bot) if k.startswith("ghost:")]


async def test_members_who_answer_are_never_ghosts(storage) -> None:
    bot = Bot(storage, settings=BY_HAND)
    walk = Walk(bot)
    mid = await pair(bot)
    # Three weeks in which both answer every check-in ("not yet" asks again 3 days later).
    for day in range(1, 22):
        await walk.until(bot.clock.now() + timedelta(days=1))
        for user in ("ana", "ben"):
            pending = [k for k, m in (await rows_by_key(bot)).items()
                       if m.state == "sent" and f":checkin:{await learner_id(bot, user)}" in k]
            if pending and day % 3 == 0:
                assert (await bot.run(user, "peer met", answer="not-yet")).ok
    assert await _ghost_rows(bot) == []
    [match] = await matches(bot)
    assert match.id == mid and match.state is MatchState.ACTIVE


async def test_a_silent_partner_is_paused_after_three_prompts(storage) -> None:
    bot = Bot(storage, settings=BY_HAND)  # Monday 2 March 2026 09:00
    walk = Walk(bot)
    mid = await pair(bot)
    ben = await learner_id(bot, "ben")
    # The intro (2nd), "did you meet?" (5th), asked again when that one is three days old.
    await walk.until(utc(2026, 3, 8, 9))
    await walk.until(utc(2026, 3, 11, 8))
    assert await _ghost_rows(bot) == []  # the third has been out less than three days
    await walk.until(utc(2026, 3, 11, 10))
    # Both were silent: the first found (Ana) is paused, the match ends, Ben is told.
    ghosts = await _ghost_rows(bot)
    assert len(ghosts) == 1 and ghosts[0].startswith(f"ghost:{mid}:")
    [match] = await matches(bot)
    assert match.state is MatchState.ENDED and match.ended_reason.startswith("ghosted:")
    assert f"left:{mid}:{await learner_id(bot, 'ana')}:{ben}" in await rows_by_key(bot)


async def test_a_no_show_report_pauses_the_partner_at_once(storage) -> None:
    bot = Bot(storage)
    mid = await pair(bot)
    reply = await bot.run("ana", "peer met", answer="no-show")
    assert reply.ok and "paused" in reply.text
    assert [b.action for b in reply.buttons] == ["peer requeue"]
    rows = await rows_by_key(bot)
    ben = await learner_id(bot, "ben")
    assert "didn't show up" in rows[f"ghost:{mid}:{ben}"].payload["text"]
    [match] = await matches(bot)
    assert match.state is MatchState.ENDED
    assert "Paused as ghosts: 1" in (await bot.run("mod", "peeradmin queue")).text
    refused = await bot.run("ben", "peer rejoin")
    assert not refused.ok and "paused" in refused.text
    assert (await bot.run("ben", "peer resume")).ok
    assert "Paused as ghosts" not in (await bot.run("mod", "peeradmin queue")).text
    assert (await bot.run("ben", "peer rejoin")).ok


async def test_in_a_group_the_no_show_is_named_and_the_group_goes_on(storage) -> None:
    bot = Bot(storage)
    for user in ("ana", "ben", "cleo"):
        assert (await bot.join(user, mode="study-group")).ok
    group = await add_match(bot, "ana", "ben", "cleo", kind=Mode.STUDY_GROUP)
    unnamed = await bot.run("ana", "peer met", answer="no-show")
    assert not unnamed.ok and "say who" in unnamed.text
    stranger = await bot.run("ana", "peer met", answer="no-show", who="ana")
    assert not stranger.ok and "isn't in match" in stranger.text
    named = await bot.run("ana", "peer met", answer="no-show", who="ben")
    assert named.ok and "your group goes on" in named.text
    [match] = await matches(bot)
    assert match.id == group.id and match.state is MatchState.ACTIVE
    assert set(match.member_ids()) == {await learner_id(bot, "ana"), await learner_id(bot, "cleo")}


async def test_ghosts_off_when_the_setting_is_zero(storage) -> None:
    bot = Bot(storage, settings=CommunitySettings(schedule="off", ghost_after_unanswered=0))
    walk = Walk(bot)
    await pair(bot)
    await walk.until(utc(2026, 3, 30, 9))
    assert await _ghost_rows(bot) == []


async def test_proposing_a_time_is_a_sign_of_life(storage) -> None:
    bot = Bot(storage, settings=BY_HAND)  # Monday 2 March 2026 09:00
    walk = Walk(bot)
    mid = await pair(bot)
    await walk.until(utc(2026, 3, 2, 10))
    proposed = await bot.run("ana", "peer schedule", when="2026-03-20 19:00")
    assert proposed.ok, proposed.text
    await walk.until(utc(2026, 3, 8, 11))
    await walk.until(utc(2026, 3, 11, 12))
    # Ben never answered anything; Ana proposed a time, so only two prompts came after.
    assert await _ghost_rows(bot) == [f"ghost:{mid}:{await learner_id(bot, 'ben')}"]
