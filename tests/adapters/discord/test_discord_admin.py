"""Moderator commands on Discord: the core's check holds whatever the server allows;
exports arrive as a .csv attachment, stats as a .png; slow work is deferred then followed up."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from adapters.discord import client as client_module
from core.replies import Reply
from core.services.dispatch import handle
from tests.adapters.discord.conftest import Bot
from tests.adapters.discord.fake_discord import ADMIN, LEARNER_PERMS, MANAGE_GUILD


async def test_a_learner_is_refused_on_peeradmin_even_if_the_server_allows_it(bot: Bot) -> None:
    # The server relaxed /peeradmin's default permission, so Discord lets alice run it.
    token = await bot.users.slash("alice", "peeradmin match-now",
                                  permissions=LEARNER_PERMS | MANAGE_GUILD)
    reply = await bot.users.answer(token)  # accepted (a slow command), then refused
    assert reply.ephemeral and "for moderators" in reply.content
    # One message: the deferral, edited into the refusal.
    assert [(s.kind, s.edits) for s in bot.fake.replies(token)] == [("callback", 1)]
    async with bot.storage.uow_factory() as uow:
        community = await uow.communities.by_external("discord", bot.fake.guild_id)
        # Refused: no round ran, and not even the first-contact rows were kept.
        assert community is None


async def test_administrators_and_the_owner_are_moderators(bot: Bot) -> None:
    users = bot.users
    admin = await users.answer(
        await users.slash("dave", "peeradmin queue", permissions=LEARNER_PERMS | ADMIN)
    )
    assert "Nobody is waiting" in admin.content
    owner = await users.answer(await users.slash("owner", "peeradmin queue"))
    assert "Nobody is waiting" in owner.content


async def test_export_arrives_as_a_csv_file_after_a_deferral(
    bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A core that takes its time: the interaction is deferred, the reply follows up.
    gate = asyncio.Event()

    async def slow_handle(services: Any, request: Any) -> Any:
        await gate.wait()
        return await handle(services, request)

    monkeypatch.setattr(client_module, "handle", slow_handle)
    bot.client.ack_budget = 0.01
    token = await bot.users.slash("mod", "peeradmin export", what="learners")
    [deferred] = await bot.fake.wait_for(lambda: bot.fake.replies(token))
    assert deferred.kind == "callback" and deferred.type == 5 and deferred.ephemeral
    gate.set()
    follow = await bot.users.answer(token)
    assert follow.kind == "followup" and follow.ephemeral and "learners export" in follow.content
    [(filename, content)] = follow.files
    # The export starts with the UTF-8 BOM Excel needs (issue 11), then the header.
    assert filename.endswith(".csv") and content.startswith(b"\xef\xbb\xbfuser_id,")


async def test_stats_come_with_a_png_chart(bot: Bot) -> None:
    reply = await bot.users.answer(await bot.users.slash("mod", "peeradmin stats"))
    [(filename, content)] = reply.files
    assert filename.endswith(".png") and content.startswith(b"\x89PNG")


async def test_pair_by_hand_takes_users_as_options(bot: Bot) -> None:
    from tests.adapters.discord.test_discord_flow import join

    await join(bot, "alice")
    await join(bot, "bob")
    reply = await bot.users.answer(
        await bot.users.slash("mod", "peeradmin pair", user_a="alice", user_b="bob")
    )
    assert reply.ephemeral and "match" in reply.content.lower()


async def test_a_public_reply_after_a_deferral_is_posted_for_everyone(
        bot: Bot, monkeypatch: pytest.MonkeyPatch) -> None:
    """The deferral is ephemeral; a reply meant for the channel must not inherit that."""
    gate = asyncio.Event()

    async def slow_public(_services: Any, _request: Any) -> Reply:
        await gate.wait()
        return Reply("📊 For everyone", ephemeral=False)

    monkeypatch.setattr(client_module, "handle", slow_public)
    bot.client.ack_budget = 0.01
    token = await bot.users.slash("mod", "peeradmin stats")
    await bot.fake.wait_for(lambda: bot.fake.replies(token))
    gate.set()
    public = await bot.users.answer(token)
    assert (
        public.kind == "followup" and not public.ephemeral and public.content == "📊 For everyone"
    )
    assert any(
        c.method == "DELETE" and c.path.endswith("/messages/@original") for c in bot.fake.calls
    )


async def test_a_failure_is_answered_politely(bot: Bot, monkeypatch: pytest.MonkeyPatch) -> None:
    async def broken(_services: Any, _request: Any) -> Reply:
        raise RuntimeError("database on fire")

    monkeypatch.setattr(client_module, "handle", broken)
    reply = await bot.users.answer(await bot.users.slash("alice", "peer status"))
    assert reply.ephemeral and reply.content.startswith("Sorry, something went wrong")
    assert "database" not in reply.content
