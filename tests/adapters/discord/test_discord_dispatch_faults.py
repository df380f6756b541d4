"""The outbox dispatcher and the Discord deliverer under platform faults (issue 10.9).

The real dispatcher with a fake clock, the real discord.py client, the fake Discord (which
deduplicates only what Discord does: an enforced nonce within its window). Each fault
happens after Discord acted; the test counts what the fake kept. ``nonce_window = 0``
plays a retry after Discord's window (only the history marker can then tell).
"""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from adapters.discord.deliver import DiscordDeliverer
from core.messages import DirectMessage, OpenSpace
from core.model import OutboxMessage, OutboxState
from core.replies import Attachment
from core.services.delivery import dispatch_due, reclaim_own
from core.settings import DispatchSettings
from tests.adapters.discord.conftest import Bot
from tests.adapters.discord.test_discord_delivery import community_id, put, rows

MESSAGES = r"/channels/\d+/messages"
ICS = Attachment("session-5.ics", b"BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\n", "text/calendar")
FAST = DispatchSettings(call_timeout_seconds=2.0)
ME = "instance-a"


async def put_rows(bot: Bot) -> None:
    f, cid = bot.fake, await community_id(bot)
    for name in ("alice", "bob"):
        await put(bot, OutboxMessage(DirectMessage(f.ids[name], "Your session is booked",
                                                   f"session:5:invite:{name}",
                                                   attachments=(ICS,)), cid, bot.clock.now()))
    await put(bot, OutboxMessage(OpenSpace(9, "peer-9", (f.ids["alice"], f.ids["bob"]),
                                           "Welcome, both!", space_parent=f.category["id"]),
                                 cid, bot.clock.now()))


async def until_settled(bot: Bot, deliverer: DiscordDeliverer, passes: int = 8) -> None:
    for _ in range(passes):
        await dispatch_due(bot.storage.uow_factory, bot.clock, {"discord": deliverer}, FAST,
                           instance=ME)
        if all(r.state is not OutboxState.PENDING for r in await rows(bot)):
            return
        bot.clock.advance(hours=1)
    raise AssertionError([(r.idempotency_key, r.last_error) for r in await rows(bot)])


async def assert_each_once(bot: Bot) -> None:
    f = bot.fake
    for name in ("alice", "bob"):
        [dm] = f.dms_to(name)
        assert dm.content == "Your session is booked" and [n for n, _ in dm.files] == [
            "session-5.ics"]
    [space] = [c for c in f.channels.values() if c.get("name") == "peer-9"]
    assert [s.content for s in f.in_channel(space["id"])] == ["Welcome, both!"]
    assert [r.state for r in await rows(bot)] == [OutboxState.SENT] * 3


@pytest.mark.parametrize("window", ["within", "after"])
@pytest.mark.parametrize(("path", "fault"), [
    (MESSAGES, "500"), (MESSAGES, "drop"), (MESSAGES, "hang"),
    (r"/guilds/\d+/channels", "500"), (r"/guilds/\d+/channels", "drop")])
async def test_a_fault_after_discord_acted_sends_nothing_twice(bot: Bot, path: str, fault: str,
                                                              window: str) -> None:
    await put_rows(bot)
    if window == "after":
        bot.fake.nonce_window = 0
    bot.fake.after("POST", path, fault, times=2)
    await until_settled(bot, DiscordDeliverer(bot.client, timeout=1.0))
    await assert_each_once(bot)


async def test_a_crash_with_a_message_in_flight_is_reconciled_on_restart(bot: Bot) -> None:
    await put_rows(bot)
    bot.fake.nonce_window = 0  # the restart comes after Discord's dedupe window
    bot.fake.after("POST", MESSAGES, "hang", times=3)
    deliverer = DiscordDeliverer(bot.client, timeout=30.0)
    crashed = asyncio.create_task(dispatch_due(bot.storage.uow_factory, bot.clock,
                                               {"discord": deliverer}, FAST, instance=ME))
    await bot.fake.wait_for(lambda: bot.fake.dms_to("alice"))
    crashed.cancel()  # the process dies with Discord's answer outstanding
    with contextlib.suppress(asyncio.CancelledError):
        await crashed
    bot.fake.after_faults.clear()
    assert await reclaim_own(bot.storage.uow_factory, bot.clock, ME) >= 1
    await until_settled(bot, deliverer)
    await assert_each_once(bot)
