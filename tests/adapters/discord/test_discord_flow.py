"""The learner lifecycle through the real discord.py client and a fake Discord:
join (paginated modal) x2 -> /peeradmin match-now -> private channel with the right
overwrites -> DMs (one learner's DMs are closed: mentioned in the channel) -> Unpair
(button -> reason modal) -> the partner's DM and the channel archived."""

from __future__ import annotations

import re
from typing import Any

from adapters.discord.render import parse_button_id
from tests.adapters.discord.conftest import Bot, community_settings, discord_settings, running
from tests.adapters.discord.fake_discord import LEARNER_PERMS, MANAGE_GUILD, SEND, VIEW, FakeDiscord
from tests.fakes import FakeClock, InMemoryStorage

MANAGE_CHANNELS = 1 << 4
READ_HISTORY = 1 << 16
PAGE_1 = {"topic": "Python", "languages": ["English"], "timezone": "Europe/London",
          "availability": "Mon-Fri 18:00-21:00"}


async def join(bot: Bot, name: str, **page_1: object) -> str:
    """Join as a study buddy through both pages of the form; returns the final text."""
    users = bot.users
    modal = await users.answer(await users.slash(name, "peer join", mode="study-buddy"))
    assert modal.type == 9 and modal.body["title"].endswith("(1/2)")
    assert len(modal.body["components"]) <= 5
    step = await users.answer(await users.submit(name, modal, {**PAGE_1, **page_1}))
    assert step.ephemeral and "Next" in step.buttons()
    page_2 = await users.answer(await users.click(name, step, "Next"))
    assert page_2.type == 9 and page_2.body["title"].endswith("(2/2)")
    done = await users.answer(await users.submit(name, page_2, {"country": "United Kingdom"}))
    assert done.ephemeral
    return done.content


def overwrite(channel: dict[str, object], target: str) -> dict[str, object]:
    return next(o for o in channel["permission_overwrites"] if str(o["id"]) == target)  # type: ignore[union-attr]


async def test_join_match_space_dms_fallback_and_unpair(bot: Bot) -> None:
    fake, users = bot.fake, bot.users
    alice, bob = fake.ids["alice"], fake.ids["bob"]
    fake.dm_closed.add(bob)

    assert "in the queue for **Study buddy** on **Python**" in await join(bot, "alice")
    assert "in the queue" in await join(bot, "bob")

    # A moderator (by the configured role) runs the round.
    round_reply = await users.answer(await users.slash("mod", "peeradmin match-now",
                                                       permissions=LEARNER_PERMS | MANAGE_GUILD))
    assert "Round done" in round_reply.content and "1 match," in round_reply.content

    first = await bot.deliver()
    assert first.sent == 2 and first.dm_closed == 1  # alice's DM + the space; bob's DM closed

    # The private channel: under the category, hidden from @everyone, open to the pair,
    # the bot (which can manage it) and the moderator role.
    created = next(
        c
        for c in fake.calls
        if c.method == "POST" and c.path.endswith(f"/guilds/{fake.guild_id}/channels")
    )
    channel = next(c for c in fake.channels.values() if c.get("name", "").startswith("peer-1-"))
    assert str(created.json["parent_id"]) == fake.category["id"]
    everyone = overwrite(channel, fake.guild_id)
    assert everyone["type"] == 0 and int(everyone["deny"]) & VIEW
    for member in (alice, bob):
        ow = overwrite(channel, member)
        assert ow["type"] == 1 and int(ow["allow"]) & (VIEW | SEND) == VIEW | SEND
    me = overwrite(channel, fake.bot["id"])
    assert int(me["allow"]) & (VIEW | SEND | MANAGE_CHANNELS) == VIEW | SEND | MANAGE_CHANNELS
    mods = overwrite(channel, fake.mod_role)
    assert mods["type"] == 0 and int(mods["allow"]) & VIEW and not int(mods["allow"]) & SEND

    intro = fake.in_channel(channel["id"])[0]
    assert "match #1" in intro.content
    assert set(intro.buttons()) == {"Schedule", "Did we meet?", "Unpair"}
    assert re.search(r"<t:\d+:F>", intro.content)  # suggested times in each reader's local time

    dm = fake.dms_to("alice")[0]
    assert "You've been matched" in dm.content and "Unpair" in dm.buttons()
    assert parse_button_id(dm.buttons()["Unpair"]) == (fake.guild_id, "peer unpair", {"match": "1"})
    assert fake.dms_to("bob") == []

    # Bob can't get DMs: the next tick mentions him in the match channel instead.
    second = await bot.deliver()
    assert second.sent == 1
    fallback = fake.in_channel(channel["id"])[-1]
    assert f"<@{bob}>" in fallback.content and "You've been matched" in fallback.content

    # Bob unpairs from the channel: the button asks for the reason first.
    modal = await users.answer(await users.click("bob", intro, "Unpair"))
    assert modal.type == 9 and [c["component"]["custom_id"] for c in modal.body["components"]] == [
        "reason"
    ]
    ended = await users.answer(await users.submit("bob", modal, {"reason": "different schedules"}))
    assert "Your match has ended (match #1)" in ended.content and ended.ephemeral

    await bot.deliver()
    told = fake.dms_to("alice")[-1]
    assert "left match #1" in told.content and "Find me someone new" in told.buttons()
    # The space is archived: renamed, members can no longer post.
    assert channel["name"].startswith("archived-peer-1-")
    assert int(overwrite(channel, alice)["deny"]) & SEND
    # ... and says why before it goes quiet (issue 14.8: it used to get no closing message).
    assert "Match #1 has ended" in fake.in_channel(channel["id"])[-1].content


async def test_a_button_in_a_dm_works_without_a_guild(bot: Bot) -> None:
    """DM buttons carry the guild in their custom id (a DM interaction has none)."""
    fake, users = bot.fake, bot.users
    await join(bot, "alice")
    await join(bot, "carol")
    await users.answer(await users.slash("mod", "peeradmin match-now"))
    await bot.deliver()
    dm = fake.dms_to("carol")[0]
    status = await users.answer(await users.click("carol", dm, "Did we meet?", dm=True))
    assert status.type == 9  # 'peer met' needs the answer: asked in a modal
    reply = await users.answer(await users.submit("carol", status, {"answer": "not-yet"}))
    assert reply.ephemeral and reply.content


async def test_buttons_still_work_after_a_restart(
    fake: FakeDiscord, memory_storage: InMemoryStorage, clock: FakeClock
) -> None:
    """Buttons are routed by their custom id, not by views kept in a process's memory."""
    settings = (community_settings(fake), discord_settings(fake))
    async with running(fake, memory_storage, clock, *settings) as before:
        # Help is longer than one Discord message: its buttons come with the last part.
        help_reply = await before.users.answer_with(
            await before.users.slash("alice", "peer help"), "Join")
    async with running(fake, memory_storage, clock, *settings) as after:
        assert after.client is not before.client
        modal = await after.users.answer(await after.users.click("alice", help_reply, "Join"))
        assert modal.type == 9 and modal.body["components"][0]["component"]["custom_id"] == "mode"


async def test_the_same_flow_on_sqlite(
    fake: FakeDiscord, sqlite_storage: Any, clock: FakeClock
) -> None:
    """The adapter only talks to the core: the SQL storage behaves the same under it."""
    async with running(
        fake, sqlite_storage, clock, community_settings(fake), discord_settings(fake)
    ) as bot:
        await join(bot, "alice")
        await join(bot, "bob")
        await bot.users.answer(await bot.users.slash("mod", "peeradmin match-now"))
        assert (await bot.deliver()).sent == 3
        assert fake.dms_to("alice") and fake.dms_to("bob")
        async with sqlite_storage.uow_factory() as uow:
            [match] = await uow.matches.list(
                (await uow.communities.by_external("discord", fake.guild_id)).id
            )
        assert match.space_id == next(
            c["id"] for c in fake.channels.values() if c.get("name", "").startswith("peer-1-")
        )
