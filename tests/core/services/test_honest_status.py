"""Honest status (issue 14.7): join confirmations and `/peer status` say when the next round
runs, the place in line and the reason agree, a matched supporter sees their learners."""

from __future__ import annotations

from datetime import UTC, datetime

from core.settings import CommunitySettings
from tests.helpers import Bot

# FakeClock starts Monday 2026-03-02 09:00 UTC; the default schedule is "0 18 * * mon,thu".
NEXT_ROUND = int(datetime(2026, 3, 2, 18, 0, tzinfo=UTC).timestamp())
SUPPORT = {"topic": "Python", "support_kind": "Concepts"}


async def test_joining_and_status_say_when_the_next_round_runs(storage) -> None:
    bot = Bot(storage)
    joined = await bot.join("ana")
    assert f"The next matching round runs {{t:{NEXT_ROUND}:F}}" in joined.text
    assert "1 of 1 waiting for a study buddy, in order of joining" in joined.text
    status = await bot.run("ana", "peer status")
    assert f"The next matching round runs {{t:{NEXT_ROUND}:F}}" in status.text
    assert "no matching round has run since you joined" in status.text


async def test_without_a_schedule_status_says_a_moderator_runs_rounds(storage) -> None:
    bot = Bot(storage, settings=CommunitySettings(schedule="off"))
    await bot.join("ana")
    status = await bot.run("ana", "peer status")
    assert "started by a moderator (there is no schedule)" in status.text
    assert "next matching round runs" not in status.text


async def test_place_and_reason_agree(storage) -> None:
    bot = Bot(storage)
    for user, topic in (("ana", "Python"), ("ben", "Statistics"), ("cat", "Spanish")):
        assert (await bot.join(user, topic=topic)).ok
    assert (await bot.run("mod", "peeradmin match-now")).ok
    status = (await bot.run("cat", "peer status")).text
    assert "3 of 3 waiting for a study buddy, in order of joining" in status
    assert "first in line" not in status  # the old reason contradicted "3 of 3"
    assert "No one else is waiting for a study buddy on Spanish yet" in status


async def test_a_matched_supporter_sees_their_learner_and_their_free_seat(storage) -> None:
    bot = Bot(storage)
    assert (await bot.join("sam", mode="offer-support", capacity="2", **SUPPORT)).ok
    assert (await bot.join("nia", mode="need-support", **SUPPORT)).ok
    assert "1 match," in (await bot.match_now()).text
    status = (await bot.run("sam", "peer status")).text
    assert "with {u:nia}" in status
    assert "You support 1 learner (above) and stay in the queue for more" in status
    assert "round hasn't run" not in status and "no matching round has run" not in status
