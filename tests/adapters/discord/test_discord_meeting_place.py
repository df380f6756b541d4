"""A place to meet on Discord, through the real discord.py client and the fake Discord:
with ``voice_channel`` a match gets a private voice channel beside its text channel (the
same members, who may connect and speak), made once even when the create's answer is lost,
and deleted when the match ends; with ``video_link_template`` the intro carries the link."""

from __future__ import annotations

from typing import Any

from core import meeting_place
from core.messages import OpenSpace
from core.model import OutboxMessage
from tests.adapters.discord import payloads
from tests.adapters.discord.conftest import Bot, community_settings, discord_settings, running
from tests.adapters.discord.fake_discord import LEARNER_PERMS, MANAGE_GUILD, SEND, VIEW, FakeDiscord
from tests.adapters.discord.test_discord_exactly_once import until_delivered
from tests.adapters.discord.test_discord_flow import join, overwrite
from tests.fakes import FakeClock, InMemoryStorage

CONNECT, SPEAK = 1 << 20, 1 << 21
JITSI = "https://meet.jit.si/peermatch-{session_uid}"


def voices(fake: FakeDiscord) -> list[dict[str, Any]]:
    return [c for c in fake.channels.values() if c["type"] == 2]


async def test_a_match_gets_a_voice_channel_and_loses_it_when_it_ends(
        fake: FakeDiscord, memory_storage: InMemoryStorage, clock: FakeClock) -> None:
    settings = community_settings(fake, voice_channel=True, video_link_template=JITSI)
    async with running(fake, memory_storage, clock, settings, discord_settings(fake)) as bot:
        users = bot.users
        await join(bot, "alice")
        await join(bot, "bob")
        await users.answer(await users.slash("mod", "peeradmin match-now",
                                             permissions=LEARNER_PERMS | MANAGE_GUILD))
        await bot.deliver()
        [voice] = voices(fake)
        text = next(c for c in fake.channels.values()
                    if c["type"] == 0 and c["name"].startswith("peer-1-"))
        assert voice["name"] == text["name"] and voice["parent_id"] == fake.category["id"]
        assert int(overwrite(voice, fake.guild_id)["deny"]) & VIEW
        for member in (fake.ids["alice"], fake.ids["bob"]):
            allow = int(overwrite(voice, member)["allow"])
            assert allow & (VIEW | CONNECT | SPEAK) == VIEW | CONNECT | SPEAK
        mods = int(overwrite(voice, fake.mod_role)["allow"])
        assert mods & VIEW and not mods & (SEND | CONNECT)

        async with memory_storage.uow_factory() as uow:
            [match] = await uow.matches.list(1)
        intro = fake.in_channel(text["id"])[0]
        assert f"https://meet.jit.si/peermatch-{meeting_place.room_of_match(match)}" in (
            intro.content)

        modal = await users.answer(await users.click("bob", intro, "Unpair"))
        await users.answer(await users.submit("bob", modal, {"reason": "moving on"}))
        await bot.deliver()
        assert voices(fake) == []  # deleted with the space's close
        assert text["name"].startswith("archived-")  # the text space is archived as before
        assert any(c.method == "DELETE" and c.path == f"/channels/{voice['id']}"
                   for c in fake.calls)


async def test_a_voice_channel_whose_create_answer_was_lost_is_made_once(bot: Bot) -> None:
    f = bot.fake
    row = OutboxMessage(OpenSpace(7, "peer-7-python", (f.ids["alice"], f.ids["bob"]), "Hi!",
                                  space_parent=f.category["id"], voice=True), 1, bot.clock.now())
    # An earlier attempt made the text channel (its step recorded); the voice channel's
    # create is carried out but answered with a 500.
    text = payloads.channel(payloads.snowflake(), "peer-7-python", f.guild_id,
                            parent_id=f.category["id"])
    f.channels[text["id"]] = text
    row.progress = {"space": text["id"]}
    f.after("POST", r"/guilds/\d+/channels", "500", times=1)
    facts, failures = await until_delivered(bot.deliverer, bot, row)
    assert [e.unclear for e in failures] == [True]
    creates = [c for c in f.calls if c.method == "POST" and c.path.endswith("/channels")
               and c.path.startswith("/guilds/")]
    assert len(creates) == 1 and creates[0].json["type"] == 2  # never repeated blindly
    [voice] = voices(f)
    assert voice["name"] == "peer-7-python" and row.progress["voice"] == voice["id"]
    assert facts["space_id"] == text["id"]
    assert [s.content for s in f.in_channel(text["id"])] == ["Hi!"]


async def test_no_voice_channel_when_a_community_turns_it_off(
        fake: FakeDiscord, memory_storage: InMemoryStorage, clock: FakeClock) -> None:
    settings = community_settings(fake, voice_channel=False)
    async with running(fake, memory_storage, clock, settings, discord_settings(fake)) as bot:
        await join(bot, "alice")
        await join(bot, "bob")
        await bot.users.answer(await bot.users.slash("mod", "peeradmin match-now"))
        await bot.deliver()
        assert voices(bot.fake) == []
        assert [c for c in fake.channels.values() if c.get("name", "").startswith("peer-")]
