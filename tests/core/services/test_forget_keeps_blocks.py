"""Blocks outlive /peer forget; forget deletes pending messages only in its own community
(issue 11.3, every backend)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.helpers import Bot


async def _matches(bot: Bot) -> int:
    reply = await bot.run("mod", "peeradmin match-now")
    assert reply.ok, reply.text
    found = re.search(r"(\d+) match(?:es)?,", reply.text)
    assert found is not None, reply.text
    return int(found.group(1))


async def _unpaired(bot: Bot) -> None:
    """ana and ben met, then ben unpaired: they must never be matched again."""
    assert (await bot.join("ana")).ok and (await bot.join("ben")).ok
    assert await _matches(bot) == 1
    assert (await bot.run("ben", "peer unpair", reason="was rude to me")).ok


async def _rejoin_both(bot: Bot) -> int:
    for user in ("ana", "ben"):
        reply = await bot.join(user)
        assert reply.ok or "already" in reply.text, reply.text
    return await _matches(bot)


@pytest.mark.parametrize("who", ["ana", "ben"])
async def test_someone_who_forgets_and_returns_stays_blocked(storage: Any, who: str) -> None:
    bot = Bot(storage)
    await _unpaired(bot)
    assert (await bot.run(who, "peer forget", confirm="yes")).ok
    assert await _rejoin_both(bot) == 0


async def test_blocks_hold_when_both_forget_and_return_in_either_order(storage: Any) -> None:
    bot = Bot(storage)
    await _unpaired(bot)
    assert (await bot.run("ana", "peer forget", confirm="yes")).ok
    assert (await bot.run("ben", "peer forget", confirm="yes")).ok
    assert (await bot.join("ben")).ok  # ben comes back first, then ana
    assert (await bot.join("ana")).ok
    assert await _matches(bot) == 0
    assert (await bot.run("ana", "peer forget", confirm="yes")).ok  # and again
    assert (await bot.join("ana")).ok
    assert await _matches(bot) == 0


async def test_a_tombstone_names_nobody_in_the_clear(storage: Any) -> None:
    bot = Bot(storage)
    await _unpaired(bot)
    assert (await bot.run("ben", "peer forget", confirm="yes")).ok
    async with storage.uow_factory() as uow:
        community = await uow.communities.by_external("test", "guild-1")
        ana = await uow.learners.by_platform_id(community.id, "ana")
        assert await uow.learners.by_platform_id(community.id, "ben") is None
        stones = await uow.blocks.tombstones_naming(ana.id)
    assert len(stones) == 1
    assert "ben" not in stones[0].subject and len(stones[0].subject) == 64
    assert stones[0].reason == "unpaired: was rude to me"


async def test_forget_keeps_other_people_free_to_match(storage: Any) -> None:
    bot = Bot(storage)
    await _unpaired(bot)
    assert (await bot.run("ben", "peer forget", confirm="yes")).ok
    assert (await bot.join("ben")).ok and (await bot.join("cal")).ok
    assert await _matches(bot) == 1  # ben and cal (ana waits: blocked with ben)


async def test_forget_deletes_pending_messages_only_in_its_community(storage: Any) -> None:
    here, there = Bot(storage), Bot(storage, community="guild-2")
    for bot in (here, there):
        assert (await bot.join("ana")).ok and (await bot.join("ben")).ok
        assert await _matches(bot) == 1
        assert await bot.announce() == 1  # DMs to ana are pending in both communities
    assert (await here.run("ana", "peer forget", confirm="yes")).ok
    async with storage.uow_factory() as uow:
        community = await uow.communities.by_external("test", "guild-2")
        pending = [m for m in await uow.outbox.list(community.id) if m.target == "ana"]
    assert pending, "guild-2's messages to ana were deleted by a forget in guild-1"


async def test_an_import_brings_a_forgotten_persons_blocks_back(storage: Any) -> None:
    from core.services.import_file import read_table
    from core.services.importing import import_table
    from tests.core.services.test_importing import GOOGLE, csv_bytes, row

    ids = [row(i)[2] for i in (1, 2)]  # their Discord ids
    discord = Bot(storage, community="g1")

    async def run(user: str, command: str, **args: str) -> Any:
        from core.services.context import Actor, CommandRequest
        from tests.helpers import handle_request
        request = CommandRequest("discord", "g1", Actor(user, user, platform_admin=user == "mod"),
                                 command, args)
        return await handle_request(discord.services, request)

    table = read_table(csv_bytes(GOOGLE, [row(1), row(2)]))
    await import_table(discord.services, "discord", "g1", table)
    assert "1 match," in (await run("mod", "peeradmin match-now")).text
    assert (await run(ids[0], "peer unpair", reason="rude")).ok
    for who in ids:  # both forget; then one file brings both back
        assert (await run(who, "peer forget", confirm="yes")).ok
    await import_table(discord.services, "discord", "g1", table)
    assert "0 matches" in (await run("mod", "peeradmin match-now")).text


async def test_a_moderator_cannot_pair_someone_who_forgot_and_came_back(storage: Any) -> None:
    bot = Bot(storage)
    await _unpaired(bot)
    assert (await bot.run("ben", "peer forget", confirm="yes")).ok
    assert (await bot.join("ben")).ok and (await bot.join("ana")).ok
    refused = await bot.run("mod", "peeradmin pair", user_a="ana", user_b="ben", confirm="yes")
    assert not refused.ok and "never matches them again" in refused.text
