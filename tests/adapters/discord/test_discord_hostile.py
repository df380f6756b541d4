"""Malformed or unknown interactions through the fake gateway to the real client: each is
answered politely (ephemeral) when it can be answered at all, or ignored; never a
traceback, never a stored row; the client keeps serving. Every message the bot sends
pings exactly the members it means to (``allowed_mentions``), never @everyone or a role."""

from __future__ import annotations

import asyncio
import copy
import logging
from collections.abc import Callable
from typing import Any

import pytest

from adapters.discord.client import UNKNOWN, UNREADABLE
from core.messages import DirectMessage
from core.model import OutboxMessage
from tests.adapters.discord import payloads as p
from tests.adapters.discord.conftest import Bot
from tests.adapters.discord.interactions import COMPONENT, MODAL_SUBMIT, SLASH
from tests.adapters.discord.test_discord_delivery import community_id, put


def interaction(bot: Bot, kind: int, data: dict[str, Any], who: str = "alice") -> dict[str, Any]:
    f = bot.fake
    iid = p.snowflake()
    token = f"tok{iid}"
    f.tokens[token] = f.general["id"]
    return {"id": iid, "application_id": f.app_id, "type": kind, "data": data, "token": token,
            "version": 1, "locale": "en-US", "entitlements": [], "attachment_size_limit": 10 << 20,
            "app_permissions": "0", "guild_id": f.guild_id, "guild_locale": "en-US",
            "channel": f.general, "channel_id": f.general["id"], "member": f.member(f.ids[who]),
            "context": 0}


def slash_data(bot: Bot, **sub: Any) -> dict[str, Any]:
    top = next(c for c in bot.fake.commands[bot.fake.guild_id] if c["name"] == "peer")
    return {"id": top["id"], "name": "peer", "type": 1, "guild_id": bot.fake.guild_id,
            "options": [{"name": "status", "type": 1, **sub}]}


Mutate = Callable[[Bot, dict[str, Any]], None]


def _drop(*path: str) -> Mutate:
    def mutate(_: Bot, payload: dict[str, Any]) -> None:
        target = payload
        for key in path[:-1]:
            target = target[key]
        target.pop(path[-1], None)
    return mutate


def _set(value: Any, *path: str) -> Mutate:
    def mutate(_: Bot, payload: dict[str, Any]) -> None:
        target = payload
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return mutate


CLICK = (COMPONENT, {"custom_id": "pm:0:peer.status:", "component_type": 2})
SUBMIT = (MODAL_SUBMIT, {"custom_id": "pmf:m:0:0:join", "components": []})
# (interaction, how it is broken) -> answered politely
POLITE: dict[str, tuple[tuple[int, dict[str, Any]], Mutate]] = {
    "click without data": (CLICK, _drop("data")),
    "click without custom_id": (CLICK, _drop("data", "custom_id")),
    "click custom_id a number": (CLICK, _set(12, "data", "custom_id")),
    "click without member": (CLICK, _drop("member")),
    "click member without user": (CLICK, _drop("member", "user")),
    "click roles a string": (CLICK, _set("admin", "member", "roles")),
    "click message a list": (CLICK, _set(["x"], "message")),
    "click values of numbers": (CLICK, _set([1, 2], "data", "values")),
    "click broken message": (CLICK, _set({"id": "x"}, "message")),
    "submit components a dict": (SUBMIT, _set({"a": 1}, "data", "components")),
    "submit value a list": (SUBMIT, _set([{"type": 4, "custom_id": "goal", "value": ["x"]}],
                                         "data", "components")),
    "guild_id not a snowflake": (CLICK, _set("guild", "guild_id")),
    "channel a list": (CLICK, _set([], "channel")),
    "no attachment limit": (CLICK, _drop("attachment_size_limit")),
    "integration owners junk": (CLICK, _set({"x": "y"}, "authorizing_integration_owners")),
}


@pytest.mark.parametrize("case", list(POLITE))
async def test_malformed_interactions_get_a_polite_ephemeral(
        bot: Bot, caplog: pytest.LogCaptureFixture, case: str) -> None:
    (kind, data), mutate = POLITE[case]
    payload = interaction(bot, kind, copy.deepcopy(data))
    mutate(bot, payload)
    await bot.fake.dispatch("INTERACTION_CREATE", payload)
    answer = await bot.users.answer(payload["token"])
    assert answer.ephemeral and answer.content == UNREADABLE
    assert answer.body["allowed_mentions"]["parse"] == []
    async with bot.storage.uow_factory() as uow:  # nothing was stored for it
        assert await uow.communities.list() == []
    await _still_serving(bot)
    assert "Traceback" not in caplog.text


async def test_slash_options_of_the_wrong_shape_are_answered(
        bot: Bot, caplog: pytest.LogCaptureFixture) -> None:
    for sub in ({"options": "mode"}, {"options": [{"name": "x", "type": "3", "value": 1}]},
                {"options": [{"name": "x", "type": 3, "value": {"a": 1}}]}):
        payload = interaction(bot, SLASH, slash_data(bot, **sub))
        await bot.fake.dispatch("INTERACTION_CREATE", payload)
        answer = await bot.users.answer(payload["token"])
        assert answer.ephemeral and answer.content == UNREADABLE
    # Well-formed but not what the command takes: discord.py's own error, still an answer.
    join = next(c for c in bot.fake.commands[bot.fake.guild_id] if c["name"] == "peer")
    data = {"id": join["id"], "name": "peer", "type": 1, "guild_id": bot.fake.guild_id,
            "options": [{"name": "no-such-command", "type": 1, "options": []}]}
    payload = interaction(bot, SLASH, data)
    await bot.fake.dispatch("INTERACTION_CREATE", payload)
    assert (await bot.users.answer(payload["token"])).ephemeral
    assert "Traceback" not in caplog.text and "never retrieved" not in caplog.text
    await _still_serving(bot)


@pytest.mark.parametrize("kind, data", [
    (COMPONENT, {"custom_id": "someone-elses-button", "component_type": 2}),
    (COMPONENT, {"custom_id": "pm:garbage", "component_type": 2}),
    (MODAL_SUBMIT, {"custom_id": "not-ours", "components": []}),
    (MODAL_SUBMIT, {"custom_id": "pmf:m:0:0:no-such-form", "components": []}),
])
async def test_unknown_custom_ids_are_answered(bot: Bot, caplog: pytest.LogCaptureFixture,
                                               kind: int, data: dict[str, Any]) -> None:
    payload = interaction(bot, kind, data)
    await bot.fake.dispatch("INTERACTION_CREATE", payload)
    answer = await bot.users.answer(payload["token"])
    assert answer.ephemeral
    assert answer.content in (UNKNOWN, UNREADABLE) or "expired" in answer.content
    assert "Traceback" not in caplog.text


@pytest.mark.parametrize("how", ["unknown type", "no token", "no id", "not an object"])
async def test_unanswerable_interactions_are_ignored(bot: Bot, caplog: pytest.LogCaptureFixture,
                                                     how: str) -> None:
    caplog.set_level(logging.INFO)
    payload: Any = interaction(bot, *CLICK)
    if how == "unknown type":
        payload["type"] = 99
    elif how == "no token":
        payload.pop("token")
    elif how == "no id":
        payload["id"] = "x"
    else:
        payload = ["junk"]
    await bot.fake.dispatch("INTERACTION_CREATE", payload)
    await _still_serving(bot)
    token = payload.get("token") if isinstance(payload, dict) else None
    assert [s for s in bot.fake.sent if token and s.token == token] == []
    assert "Traceback" not in caplog.text


async def test_a_malformed_interaction_changes_nothing(bot: Bot) -> None:
    payload = interaction(bot, *CLICK)
    payload["member"].pop("user")
    await bot.fake.dispatch("INTERACTION_CREATE", payload)
    await bot.users.answer(payload["token"])
    async with bot.storage.uow_factory() as uow:
        assert await uow.communities.list() == []


async def _still_serving(bot: Bot) -> None:
    await asyncio.sleep(0.05)
    token = await bot.users.slash("bob", "peer status")
    assert (await bot.users.answer(token)).content


# ---- mentions ------------------------------------------------------------------------------
async def test_replies_ping_no_one_even_when_text_carries_mentions(bot: Bot) -> None:
    f = bot.fake
    goal = f"<@{f.ids['bob']}> @everyone <@&{f.mod_role}> @here"
    token = await bot.users.slash("alice", "peer status")
    await bot.users.answer(token)
    await put(bot, OutboxMessage(DirectMessage(f.ids["alice"], goal, "hostile:1"),
                                 await community_id(bot), bot.clock.now()))
    await bot.deliver()
    sent = [s for s in f.sent if s.content]
    assert len(sent) >= 2
    for s in sent:
        assert s.body["allowed_mentions"]["parse"] == []
        assert s.body["allowed_mentions"].get("users", []) == []


async def test_intended_members_and_only_they_are_pinged(bot: Bot) -> None:
    f = bot.fake
    alice, bob = f.ids["alice"], f.ids["bob"]
    text = f"Meet {{u:{alice}}} and {{u:{bob}}} (typed by someone: <@{f.ids['carol']}> @everyone)"
    await put(bot, OutboxMessage(DirectMessage(alice, text, "hostile:2"), await community_id(bot),
                                 bot.clock.now()))
    await bot.deliver()
    message = next(s for s in f.sent if s.kind == "message" and "Meet" in s.content)
    mentions = message.body["allowed_mentions"]
    assert mentions["parse"] == [] and sorted(map(str, mentions["users"])) == sorted([alice, bob])
    assert not mentions.get("replied_user")
