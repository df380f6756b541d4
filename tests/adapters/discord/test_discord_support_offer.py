"""A support offer through the real discord.py client and the fake Discord: the round asks
the supporter by DM, the Accept button (clicked in the DM, no guild) makes the match, and
only then is the private channel created."""

from __future__ import annotations

from tests.adapters.discord.conftest import Bot
from tests.adapters.discord.fake_discord import LEARNER_PERMS, MANAGE_GUILD

FORM = {"topic": "Python", "languages": ["English"], "timezone": "Europe/London",
        "availability": "Mon-Fri 18:00-21:00", "support_kind": "Concepts", "capacity": "2",
        "country": "United Kingdom"}


async def join(bot: Bot, name: str, mode: str) -> str:
    """Join through every page of the mode's form; returns the final text."""
    users = bot.users
    reply = await users.answer(await users.slash(name, "peer join", mode=mode))
    while reply.type == 9:
        assert len(reply.body["components"]) <= 5
        step = await users.answer(await users.submit(name, reply, FORM))
        if "Next" not in step.buttons():
            return step.content
        reply = await users.answer(await users.click(name, step, "Next"))
    return reply.content


async def test_the_supporter_accepts_with_the_dm_button(bot: Bot) -> None:
    fake, users = bot.fake, bot.users
    assert "in the queue" in await join(bot, "alice", "offer-support")
    assert "in the queue" in await join(bot, "bob", "need-support")
    done = await users.answer(await users.slash("mod", "peeradmin match-now",
                                                permissions=LEARNER_PERMS | MANAGE_GUILD))
    assert "1 match," in done.content
    await bot.deliver()
    ask = next(m for m in fake.dms_to("alice") if "asks for support" in m.content)
    assert f"<@{fake.ids['bob']}>" in ask.content and set(ask.buttons()) == {"Accept", "Decline"}
    assert not any(c.get("name", "").startswith("peer-") for c in fake.channels.values())

    accepted = await users.answer(await users.click("alice", ask, "Accept", dm=True))
    assert accepted.ephemeral and "You now support" in accepted.content
    await bot.deliver()
    assert any(c.get("name", "").startswith("peer-1-") for c in fake.channels.values())
    assert any("accepted your request" in m.content for m in fake.dms_to("bob"))
    again = await users.answer(await users.click("alice", ask, "Accept", dm=True))
    assert "accepted already" in again.content
