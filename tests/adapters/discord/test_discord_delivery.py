"""The Discord deliverer under the outbox dispatcher: rate limits, the channel cap,
missing permissions, idempotent spaces, threads, archive and delete."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from core.messages import CloseSpace, DirectMessage, OpenSpace
from core.model import Community, OutboxMessage, OutboxState
from core.replies import Button
from tests.adapters.discord.conftest import Bot

RATE_LIMITED = {"message": "You are being rate limited.", "global": False}
DM_MESSAGES = r"/channels/\d+/messages"


async def community_id(bot: Bot) -> int:
    async with bot.storage.uow_factory() as uow:
        community = await uow.communities.by_external("discord", bot.fake.guild_id)
        if community is None:
            community = await uow.communities.add(
                Community("discord", bot.fake.guild_id, "Study Hall")
            )
            await uow.commit()
    assert community.id is not None
    return community.id


async def put(bot: Bot, message: OutboxMessage) -> None:
    async with bot.storage.uow_factory() as uow:
        await uow.outbox.add(message)
        await uow.commit()


async def rows(bot: Bot) -> list[OutboxMessage]:
    async with bot.storage.uow_factory() as uow:
        return await uow.outbox.list()


async def a_dm(bot: Bot, name: str = "alice") -> None:
    await put(bot, OutboxMessage(DirectMessage(
        bot.fake.ids[name], f"Hello {{u:{bot.fake.ids[name]}}}", f"hello:{name}",
        buttons=(Button("Status", "peer status"),)), await community_id(bot), bot.clock.now()))


async def a_space(bot: Bot, **settings: str) -> None:
    f = bot.fake
    await put(bot, OutboxMessage(OpenSpace(
        7, "peer-7-python", (f.ids["alice"], f.ids["bob"]), "👋 Welcome!",
        (Button("Unpair", "peer unpair", {"match": "7"}),),
        space_mode=settings.get("mode", "auto"),
        space_parent=settings.get("parent", f.category["id"]),
        moderator_roles=("Moderators",)), await community_id(bot), bot.clock.now()))


async def test_a_short_429_is_retried_honouring_retry_after(bot: Bot) -> None:
    bot.fake.fail("POST", DM_MESSAGES, 429, {**RATE_LIMITED, "retry_after": 0.05},
                  {"Retry-After": "0.05", "Via": "1.1 google"})
    await a_dm(bot)
    result = await bot.deliver()
    assert result.sent == 1
    posts = [
        c.status for c in bot.fake.calls if c.method == "POST" and c.path.endswith("/messages")
    ]
    assert posts == [429, 200]
    [dm] = bot.fake.dms_to("alice")
    assert dm.content == f"Hello <@{bot.fake.ids['alice']}>" and "Status" in dm.buttons()


async def test_a_long_429_reschedules_the_row_after_retry_after(bot: Bot) -> None:
    # Longer than the client waits in-process (30 s): the dispatcher retries later instead.
    bot.fake.fail("POST", DM_MESSAGES, 429, {**RATE_LIMITED, "retry_after": 120.0},
                  {"Retry-After": "120", "Via": "1.1 google"})
    await a_dm(bot)
    result = await bot.deliver()
    assert result.retried == 1
    [row] = await rows(bot)
    assert row.state is OutboxState.PENDING and row.due_at == bot.clock.now() + timedelta(
        seconds=120
    )


async def test_a_429_from_a_proxy_uses_its_retry_after_header(bot: Bot) -> None:
    bot.fake.fail("POST", DM_MESSAGES, 429, {"message": "slow down"}, {"Retry-After": "7"})
    await a_dm(bot)
    await bot.deliver()
    [row] = await rows(bot)
    assert row.state is OutboxState.PENDING and row.due_at == bot.clock.now() + timedelta(seconds=7)


async def test_the_guild_channel_cap_falls_back_to_a_private_thread(bot: Bot) -> None:
    f = bot.fake
    f.fail("POST", rf"/guilds/{f.guild_id}/channels", 400,
           {"code": 30013, "message": "Maximum number of guild channels reached (500)"})
    await a_space(bot)
    assert (await bot.deliver()).sent == 1
    thread = next(c for c in f.channels.values() if c["type"] == 12)
    assert thread["name"] == "peer-7-python" and thread["parent_id"] == f.general["id"]
    assert f.thread_members[thread["id"]] >= {f.ids["alice"], f.ids["bob"]}
    assert f.in_channel(thread["id"])[0].content == "👋 Welcome!"


async def test_a_missing_permission_is_reported_to_the_moderators_once_with_the_fix(
        bot: Bot) -> None:
    f = bot.fake
    mod = f.ids["mod"]
    bot.services.defaults = replace(bot.services.defaults, moderator_users=(mod,))
    f.fail("POST", rf"/guilds/{f.guild_id}/channels", 403,
           {"code": 50013, "message": "Missing Permissions"}, times=2)
    await a_space(bot)
    assert (await bot.deliver()).failed == 1
    [row] = [r for r in await rows(bot) if isinstance(r.message, OpenSpace)]
    assert row.state is OutboxState.FAILED and "Manage Channels" in row.last_error
    # A second space refused the same way is the same problem: no second report.
    await put(bot, OutboxMessage(OpenSpace(
        8, "peer-8-python", (f.ids["carol"], f.ids["dave"]), "👋 Welcome!",
        space_parent=f.category["id"]), await community_id(bot), bot.clock.now()))
    for _ in range(3):  # the failure, then the report's delivery
        await bot.deliver()
    assert [r.state for r in await rows(bot) if isinstance(r.message, OpenSpace)] == [
        OutboxState.FAILED, OutboxState.FAILED]
    [report] = f.dms_to("mod")  # one report, by DM, saying what to grant and how to resend
    assert report.content.startswith("⚠️") and "Manage Roles" in report.content
    assert "/peeradmin deliveries retry:all" in report.content
    # Nothing else told anyone: the server's channels carry no second notice.
    assert f.in_channel(f.general["id"]) == []
    assert [s for s in f.sent if "⚠️" in s.content] == [report]


async def test_opening_a_space_twice_reuses_it(bot: Bot) -> None:
    f = bot.fake
    await a_space(bot)
    await bot.deliver()
    async with bot.storage.uow_factory() as uow:  # as if the process died before recording
        [row] = await uow.outbox.list()
        row.state = OutboxState.PENDING
        await uow.outbox.update(row)
        await uow.commit()
    await bot.deliver()
    creates = [
        c for c in f.calls if c.method == "POST" and c.path == f"/guilds/{f.guild_id}/channels"
    ]
    assert len(creates) == 1
    channel = next(c for c in f.channels.values() if c.get("name") == "peer-7-python")
    assert len(f.in_channel(channel["id"])) == 1  # the intro was not posted twice


async def test_thread_mode_opens_a_private_thread_in_the_configured_channel(bot: Bot) -> None:
    f = bot.fake
    await a_space(bot, mode="thread", parent=f.general["id"])
    await bot.deliver()
    create = next(c for c in f.calls if c.path == f"/channels/{f.general['id']}/threads")
    assert create.json["type"] == 12 and create.json["invitable"] is False


async def test_space_close_deletes_when_configured(bot: Bot) -> None:
    f = bot.fake
    await a_space(bot)
    await bot.deliver()
    channel = next(c for c in f.channels.values() if c.get("name") == "peer-7-python")
    close = OutboxMessage(CloseSpace(7, channel["id"], "delete"), await community_id(bot),
                          bot.clock.now())
    assert await bot.deliverer.deliver(close) == {}
    assert channel["id"] not in f.channels
    assert await bot.deliverer.deliver(close) == {}  # already gone: nothing to do


async def test_archiving_a_thread_locks_it(bot: Bot) -> None:
    f = bot.fake
    await a_space(bot, mode="thread", parent=f.general["id"])
    await bot.deliver()
    thread = next(c for c in f.channels.values() if c["type"] == 12)
    await bot.deliverer.deliver(OutboxMessage(CloseSpace(7, thread["id"], "archive",
                                                         "Match #7 has ended."),
                                              await community_id(bot), bot.clock.now()))
    assert thread["thread_metadata"]["archived"] and thread["thread_metadata"]["locked"]
    assert f.in_channel(thread["id"])[-1].content == "Match #7 has ended."
