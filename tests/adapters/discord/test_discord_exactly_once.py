"""Exactly once on Discord (issue 10.1, 10.7, 10.9): nonces, markers, faults after acting.

The fake deduplicates exactly what Discord does (a nonce with ``enforce_nonce`` within a
few minutes) and nothing else; every test counts the messages it kept. ``until_delivered``
plays the dispatcher's side of the Deliverer port (journal into ``progress``; an unclear
failure leaves the attempt in flight, so the next attempt reconciles).
"""

from __future__ import annotations

from typing import Any

import pytest

from adapters.discord.deliver import DiscordDeliverer
from adapters.discord.once import MARK
from adapters.steps import step_nonce
from core.messages import DirectMessage, OpenSpace, SpaceMessage
from core.model import OutboxMessage, OutboxState
from core.ports import DeliveryError
from core.replies import Attachment
from tests.adapters.discord.conftest import Bot
from tests.adapters.discord.test_discord_delivery import community_id, rows
from tests.adapters.discord.test_discord_flow import join

MESSAGES = r"/channels/\d+/messages"
ICS = Attachment("session-1.ics", b"BEGIN:VCALENDAR\r\nMETHOD:CANCEL\r\n", "text/calendar")


async def dm_row(bot: Bot, name: str = "alice", text: str = "Session cancelled",
                 *files: Attachment) -> OutboxMessage:
    return OutboxMessage(DirectMessage(bot.fake.ids[name], text, f"session:1:cancel:{name}",
                                       attachments=files), await community_id(bot),
                         bot.clock.now())


async def until_delivered(deliverer: DiscordDeliverer, bot: Bot, row: OutboxMessage,
                          tries: int = 4) -> tuple[dict[str, Any], list[DeliveryError]]:
    failures: list[DeliveryError] = []

    async def journal(step: str, answer: str) -> None:
        row.progress[step] = answer

    for _ in range(tries):
        try:
            facts = await deliverer.deliver(row, bot.fake.guild_id, journal=journal)
        except DeliveryError as exc:
            failures.append(exc)
            row.attempt_started_at = bot.clock.now() if exc.unclear else None
            continue
        row.attempt_started_at = None
        return facts, failures
    raise AssertionError(f"not delivered after {tries} tries: {failures}")


def posts(bot: Bot) -> list[Any]:
    return [c for c in bot.fake.calls if c.method == "POST" and c.path.endswith("/messages")]


async def test_every_message_goes_with_its_nonce_and_marker(bot: Bot) -> None:
    row = await dm_row(bot)
    await until_delivered(bot.deliverer, bot, row)
    [post] = posts(bot)
    nonce = step_nonce("session:1:cancel:alice", "text0")
    assert post.json["nonce"] == nonce and len(nonce) == 25 and post.json["enforce_nonce"]
    assert post.json["embeds"][0]["footer"]["text"] == MARK + nonce
    assert row.progress["text0"].endswith("/" + bot.fake.dms_to("alice")[0].message["id"])


async def test_discord_py_retrying_a_500_is_deduplicated_by_the_nonce(bot: Bot) -> None:
    # discord.py repeats a POST that got a 500 (after a second); Discord answers the repeat
    # with the message it already made, because the nonce is enforced.
    bot.fake.after("POST", MESSAGES, "500")
    row = await dm_row(bot)
    _, failures = await until_delivered(bot.deliverer, bot, row)
    assert failures == [] and len(posts(bot)) == 2
    assert [s.content for s in bot.fake.dms_to("alice")] == ["Session cancelled"]


@pytest.mark.parametrize("window", ["within", "after"])
@pytest.mark.parametrize("fault", ["drop", "hang"])
async def test_a_lost_answer_is_found_again_not_sent_twice(bot: Bot, fault: str,
                                                          window: str) -> None:
    deliverer = DiscordDeliverer(bot.client, timeout=1.0)  # a hung call fails fast
    bot.fake.after("POST", MESSAGES, fault)
    row = await dm_row(bot, "alice", "Session cancelled", ICS)
    if window == "after":  # Discord has forgotten the nonce: only the marker can tell
        bot.fake.nonce_window = 0
    _, failures = await until_delivered(deliverer, bot, row)
    assert [f.unclear for f in failures] == [True]
    [dm] = bot.fake.dms_to("alice")
    assert dm.content == "Session cancelled" and [n for n, _ in dm.files] == ["session-1.ics"]
    assert len(posts(bot)) == 1  # found in the history: not even tried again


async def test_a_crash_after_sending_sends_nothing_more_days_later(bot: Bot) -> None:
    await bot.deliverer.deliver(await dm_row(bot), bot.fake.guild_id)
    bot.fake.expire_nonces()
    row = await dm_row(bot)
    row.attempt_started_at = bot.clock.now()  # the restarted dispatcher's view
    await until_delivered(bot.deliverer, bot, row)
    assert len(bot.fake.dms_to("alice")) == 1 and len(posts(bot)) == 1


async def test_an_unclear_attempt_that_never_reached_discord_is_sent(bot: Bot) -> None:
    bot.fake.fail("POST", MESSAGES, 503, {"message": "upstream"})  # refused, not posted
    row = await dm_row(bot)
    _, failures = await until_delivered(bot.deliverer, bot, row)
    assert failures[0].unclear
    assert [s.content for s in bot.fake.dms_to("alice")] == ["Session cancelled"]


async def test_the_fake_does_not_deduplicate_without_a_nonce(bot: Bot) -> None:
    channel = bot.client.get_channel(int(bot.fake.general["id"]))
    assert channel is not None
    await channel.send("same")  # type: ignore[union-attr]
    await channel.send("same")  # type: ignore[union-attr]
    assert [s.content for s in bot.fake.in_channel(bot.fake.general["id"])] == ["same", "same"]


def a_space(bot: Bot, mode: str = "auto") -> OutboxMessage:
    f = bot.fake
    return OutboxMessage(OpenSpace(7, "peer-7-python", (f.ids["alice"], f.ids["bob"]), "Hi!",
                                   space_mode=mode, space_parent=f.category["id"]
                                   if mode != "thread" else f.general["id"]), 1, bot.clock.now())


@pytest.mark.parametrize(("mode", "path"), [("auto", r"/guilds/\d+/channels"),
                                             ("thread", r"/channels/\d+/threads")])
@pytest.mark.parametrize("fault", ["500", "drop"])
async def test_a_space_created_but_unanswered_is_made_once(bot: Bot, mode: str, path: str,
                                                          fault: str) -> None:
    bot.fake.after("POST", path, fault)
    row = a_space(bot, mode)
    facts, failures = await until_delivered(bot.deliverer, bot, row)
    assert [f.unclear for f in failures] == [True]
    creates = [c for c in bot.fake.calls if c.method == "POST" and c.path.endswith(
        "/threads" if mode == "thread" else "/channels")]
    assert len(creates) == 1  # never repeated blindly, by discord.py or by us
    spaces = [c for c in bot.fake.channels.values() if c.get("name") == "peer-7-python"]
    assert [s["id"] for s in spaces] == [facts["space_id"]]
    assert [s.content for s in bot.fake.in_channel(facts["space_id"])] == ["Hi!"]


async def test_an_intro_lost_after_the_space_was_recorded_is_not_posted_twice(bot: Bot) -> None:
    deliverer = DiscordDeliverer(bot.client, timeout=1.0)
    bot.fake.after("POST", MESSAGES, "hang")
    bot.fake.nonce_window = 0
    row = a_space(bot)
    facts, failures = await until_delivered(deliverer, bot, row)
    assert failures[0].unclear and row.progress["space"] == facts["space_id"]
    assert [s.content for s in bot.fake.in_channel(facts["space_id"])] == ["Hi!"]


async def test_a_closed_dm_falls_back_to_the_space_with_the_cancel_file(bot: Bot) -> None:
    """10.7: the CANCEL .ics of a member whose DMs are closed arrives in the match space."""
    fake, users = bot.fake, bot.users
    fake.dm_closed.add(fake.ids["bob"])
    await join(bot, "alice")
    await join(bot, "bob")
    await users.answer(await users.slash("mod", "peeradmin match-now"))
    while (await bot.deliver()).sent:
        pass
    await users.answer(await users.slash("alice", "peer schedule", when="1"))
    # Booking by agreement: the time is booked once the partner accepts it.
    await users.answer(await users.slash("bob", "peer accept", proposal=1))
    while (await bot.deliver()).sent:
        pass
    await users.answer(await users.slash("alice", "peer cancel", session=1))
    while (await bot.deliver()).sent:
        pass
    space = next(c for c in fake.channels.values() if c.get("name", "").startswith("peer-1-"))
    in_space = fake.in_channel(space["id"])
    files = [(s.content, name, data) for s in in_space for name, data in s.files]
    invite = [f for f in files if b"STATUS:CONFIRMED" in f[2]]
    cancel = [f for f in files if b"STATUS:CANCELLED" in f[2]]
    assert len(invite) == 1 and f"<@{fake.ids['bob']}>" in invite[0][0]
    assert len(cancel) == 1 and "cancelled" in cancel[0][0].lower()
    assert cancel[0][1].endswith(".ics")
    failed = [r for r in await rows(bot) if r.state is OutboxState.FAILED]
    assert {r.last_error for r in failed} == {"dm_closed"}  # bob's DMs, each replaced


async def test_a_space_message_with_files_keeps_them(bot: Bot) -> None:
    facts, _ = await until_delivered(bot.deliverer, bot, a_space(bot))
    row = OutboxMessage(SpaceMessage(7, "fallback", "dm-fallback:x", attachments=(ICS,),
                                     space_id=facts["space_id"]), 1, bot.clock.now())
    await until_delivered(bot.deliverer, bot, row)
    last = bot.fake.in_channel(facts["space_id"])[-1]
    assert last.content == "fallback" and last.files == [("session-1.ics", ICS.content)]
