"""Anonymous support: the supporter never sees who the learner is, anywhere."""

from __future__ import annotations

import csv
import io

from tests.helpers import Bot


async def _anonymous_match(bot: Bot) -> None:
    assert (await bot.join("sam", mode="offer-support", support_kind="Concepts", capacity="2")).ok
    assert (await bot.join("lee", mode="need-support", support_kind="Concepts", anonymous="yes")).ok
    reply = await bot.match_now()  # and sam accepts the offer
    assert "1 match," in reply.text, reply.text


def _leaks(text: str) -> bool:
    return "lee" in text.lower()


async def test_supporter_sees_only_an_alias(storage) -> None:
    bot = Bot(storage)
    await _anonymous_match(bot)
    await bot.deliver()
    to_sam = bot.deliverer.dms_to("sam")
    assert to_sam and "Anonymous learner" in to_sam[0]
    assert not any(_leaks(t) for t in to_sam)
    assert not [m for m in bot.deliverer.sent if m.kind == "space_open"]  # no shared space
    status = await bot.run("sam", "peer status")
    assert "Anonymous learner" in status.text and not _leaks(status.text)
    # The learner sees the supporter.
    assert "{u:sam}" in bot.deliverer.dms_to("lee")[0]


async def test_relayed_messages_keep_the_alias_both_ways(storage) -> None:
    bot = Bot(storage)
    await _anonymous_match(bot)
    await bot.deliver()
    assert (await bot.run("lee", "peer message", text="I'm stuck on recursion")).ok
    assert (await bot.run("sam", "peer message", text="Let's start with factorial")).ok
    await bot.deliver()
    relayed = bot.deliverer.dms_to("sam")[-1]
    assert "I'm stuck on recursion" in relayed and "Anonymous learner" in relayed
    assert not _leaks(relayed.replace("I'm stuck on recursion", ""))
    assert "Let's start with factorial" in bot.deliverer.dms_to("lee")[-1]


async def test_unpair_by_the_anonymous_learner_keeps_the_alias(storage) -> None:
    bot = Bot(storage)
    await _anonymous_match(bot)
    await bot.deliver()
    assert (await bot.run("lee", "peer unpair", reason="found help")).ok
    await bot.deliver()
    told = bot.deliverer.dms_to("sam")[-1]
    assert "Anonymous learner" in told and not _leaks(told)


async def test_match_and_feedback_exports_show_the_alias(storage) -> None:
    bot = Bot(storage)
    await _anonymous_match(bot)
    reply = await bot.run("mod", "peeradmin export", what="matches")
    rows = list(csv.DictReader(io.StringIO(reply.attachments[0].content.decode())))
    assert len(rows) == 1 and "Anonymous learner" in rows[0]["members"]
    assert "lee" not in rows[0]["members"]
