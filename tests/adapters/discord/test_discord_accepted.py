"""A slow Discord command survives its first response (issue 10.4): `/peeradmin match-now`
is stored before Discord hears anything, deferred, run from the store and answered once
through the interaction's follow-up webhook; once the token has expired (15 minutes, or
Discord says so) the answer comes by DM through the outbox, refusals included. On memory,
SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from adapters.discord.work import TOKEN_LIFETIME
from core import keys
from core.accepted import AcceptedWork, WorkState
from core.services import accepted
from core.services.context import Actor, CommandRequest
from core.services.dispatch import handle
from tests.adapters.discord.conftest import Bot, community_settings, discord_settings, running
from tests.adapters.discord.fake_discord import LEARNER_PERMS, MANAGE_GUILD, Call, FakeDiscord
from tests.adapters.discord.interactions import DEFERRED
from tests.fakes import FakeClock
from tests.helpers import JOIN

MOD_PERMS = LEARNER_PERMS | MANAGE_GUILD
WEBHOOKS = r"/webhooks/\d+/[^/]+"


@pytest.fixture
async def dbot(fake: FakeDiscord, storage: Any, clock: FakeClock) -> AsyncIterator[Bot]:
    async with running(fake, storage, clock, community_settings(fake),
                       discord_settings(fake)) as bot:
        yield bot


async def _waiting(bot: Bot, *names: str) -> None:
    for name in names:
        reply = await handle(bot.services, CommandRequest(
            "discord", bot.fake.guild_id, Actor(bot.fake.ids[name], name), "peer join",
            {"mode": "study-buddy", **JOIN}))
        assert reply.ok, reply.text


async def _rows(bot: Bot) -> list[AcceptedWork]:
    async with bot.storage.uow_factory() as uow:
        rows: list[AcceptedWork] = await uow.accepted.list()
    return rows


async def _settled(bot: Bot) -> list[AcceptedWork]:
    """The rows once none is still open (the runner marks a row after its reply)."""
    async with asyncio.timeout(10):
        while True:
            rows = await _rows(bot)
            if rows and all(r.state in (WorkState.REPLIED, WorkState.FAILED) for r in rows):
                return rows
            await asyncio.sleep(0.02)


async def _matches(bot: Bot) -> int:
    async with bot.storage.uow_factory() as uow:
        community = await uow.communities.by_external("discord", bot.fake.guild_id)
        return len(await uow.matches.list(community.id)) if community else 0


async def _accepted_only(bot: Bot, name: str) -> str:
    """`/peeradmin match-now` deferred, then the process 'dies': nothing runs it here."""
    bot.client.on_accepted = lambda: None
    token = await bot.users.slash(name, "peeradmin match-now", permissions=MOD_PERMS)
    await bot.fake.wait_for(lambda: bot.fake.replies(token))
    return token


async def test_match_now_is_stored_before_discord_hears_and_answered_once_by_follow_up(
        dbot: Bot) -> None:
    fake = dbot.fake
    await _waiting(dbot, "alice", "bob")
    stored_at_callback: list[list[str]] = []

    async def look(call: Call) -> None:
        if "/callback" in call.path:
            stored_at_callback.append([w.command for w in await _rows(dbot)])

    fake.on_arrival.append(look)
    token = await dbot.users.slash("mod", "peeradmin match-now", permissions=MOD_PERMS)
    reply = await dbot.users.answer(token)
    assert stored_at_callback == [["peeradmin match-now"]]  # kept before the first response
    first, *_ = fake.replies(token)
    assert first.kind == "callback" and first.type == DEFERRED and first.ephemeral
    assert reply.kind == "followup" and reply.ephemeral
    assert "Round done" in reply.content and "1 match," in reply.content
    [row] = await _settled(dbot)
    assert row.state is WorkState.REPLIED and row.attempts == 1
    assert row.reply_to["token"] == token and row.reply_to["application_id"] == fake.app_id
    assert await _matches(dbot) == 1
    # Nothing more: one deferral, one follow-up, and a runner that looks again finds nothing.
    assert await accepted.run_pending(dbot.services, "again", {"discord": dbot.client.work}) == 0
    assert [s.kind for s in fake.replies(token)] == ["callback", "followup"]



async def test_after_fifteen_minutes_the_answer_comes_by_dm_once(dbot: Bot) -> None:
    fake, clock = dbot.fake, dbot.clock
    await _waiting(dbot, "alice", "bob")
    token = await _accepted_only(dbot, "mod")
    # The bot was down past the token's life: on restart the runner does not even try it.
    clock.advance(TOKEN_LIFETIME + timedelta(minutes=1))
    fake.expired_tokens.add(token)
    calls = len(fake.calls)
    assert await accepted.run_pending(dbot.services, "restart", {"discord": dbot.client.work}) == 1
    assert not [c for c in fake.calls[calls:] if "/webhooks/" in c.path]
    [row] = await _rows(dbot)
    assert row.state is WorkState.REPLIED and await _matches(dbot) == 1
    async with dbot.storage.uow_factory() as uow:
        [dm] = [m for m in await uow.outbox.list() if m.idempotency_key == keys.accepted_reply(
            row.id)]
    assert dm.message.target == fake.ids["mod"]
    await dbot.deliver()
    [sent] = fake.dms_to("mod")
    assert "Round done" in sent.content and "1 match," in sent.content
    assert [s.kind for s in fake.replies(token)] == ["callback"]  # the deferral only


async def test_a_token_discord_refuses_falls_back_to_a_dm_and_a_refusal_is_told(
        dbot: Bot) -> None:
    fake = dbot.fake
    token = await _accepted_only(dbot, "alice")  # not a moderator
    fake.expired_tokens.add(token)  # fresh by our clock, but Discord says no (401 50027)
    assert await accepted.run_pending(dbot.services, "restart", {"discord": dbot.client.work}) == 1
    [tried] = [c for c in fake.calls if "/webhooks/" in c.path]
    assert tried.status == 401
    await dbot.deliver()
    [sent] = fake.dms_to("alice")
    assert "for moderators" in sent.content  # never silence, even for a refusal
    [row] = await _rows(dbot)
    assert row.state is WorkState.REPLIED and await _matches(dbot) == 0
    # A runner that dies after queueing the DM and runs the row again queues nothing new.
    async with dbot.storage.uow_factory() as uow:
        assert len(await uow.outbox.list()) == 1


async def test_the_member_is_resolved_again_when_the_work_runs(dbot: Bot) -> None:
    fake = dbot.fake
    await _waiting(dbot, "alice", "bob")
    token = await _accepted_only(dbot, "mod")
    fake.member_roles[fake.ids["mod"]] = []  # the moderator role was taken away meanwhile
    assert await accepted.run_pending(dbot.services, "restart", {"discord": dbot.client.work}) == 1
    reply = await dbot.users.answer(token)
    assert "for moderators" in reply.content and await _matches(dbot) == 0
    assert [c for c in fake.calls if c.path.endswith(f"/members/{fake.ids['mod']}")]


async def test_a_store_that_fails_is_apologised_for_and_nothing_is_deferred(
        dbot: Bot, monkeypatch: pytest.MonkeyPatch) -> None:
    async def broken(*_args: object) -> AcceptedWork:
        raise OSError("the database went away")

    monkeypatch.setattr(accepted, "accept", broken)
    token = await dbot.users.slash("mod", "peeradmin match-now", permissions=MOD_PERMS)
    [answer] = [await dbot.users.answer(token)]
    assert answer.type == 4 and answer.ephemeral and "Sorry" in answer.content
    assert await _rows(dbot) == []
