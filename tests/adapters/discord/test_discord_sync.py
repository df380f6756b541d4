"""The command tree Discord receives is the catalogue's, registered where configured."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.discord.client import PeerMatchShardedDiscord
from core import catalogue
from core.catalogue import Command, Kind
from tests.adapters.discord.conftest import Bot, community_settings, discord_settings, running
from tests.adapters.discord.fake_discord import FakeDiscord
from tests.fakes import FakeClock, InMemoryStorage

OPTION_TYPES = {Kind.INT: 4, Kind.BOOL: 5, Kind.USER: 6}  # everything else is a string (3)


def synced_options(synced: list[dict[str, Any]], cmd: Command) -> dict[str, dict[str, Any]]:
    group = next(c for c in synced if c["name"] == cmd.group)
    sub = next(o for o in group["options"] if o["name"] == cmd.name)
    assert sub["type"] == 1 and sub["description"] == cmd.description[:100]
    return {o["name"]: o for o in sub.get("options", [])}


async def test_the_synced_commands_are_the_catalogue(bot: Bot) -> None:
    synced = bot.fake.commands[bot.fake.guild_id]
    assert [c["name"] for c in synced] == ["peer", "peeradmin"]
    for group in synced:
        assert group["contexts"] == [0]  # servers only: a command needs a community
        assert len(group["options"]) == sum(
            1 for c in catalogue.COMMANDS if c.group == group["name"]
        )
    peeradmin = next(c for c in synced if c["name"] == "peeradmin")
    assert int(peeradmin["default_member_permissions"]) == 1 << 5  # Manage Server
    assert next(c for c in synced if c["name"] == "peer")["default_member_permissions"] is None

    for cmd in catalogue.COMMANDS:
        options = synced_options(synced, cmd)
        assert list(options) == [f.name for f in sorted(cmd.options, key=lambda f: not f.required)]
        for f in cmd.options:
            option = options[f.name]
            assert option["type"] == OPTION_TYPES.get(f.kind, 3)
            assert option["required"] == f.required
            assert 1 <= len(option["description"]) <= 100
            if f.kind is Kind.CHOICE and f.choices:
                assert [c["value"] for c in option["choices"]] == list(f.choices)
            if f.kind is Kind.INT and f.min_value is not None:
                assert option["min_value"] == f.min_value
            if f.kind is Kind.INT and f.max_value is not None:
                assert option["max_value"] == f.max_value


async def test_commands_are_synced_globally_without_guild_ids(
        fake: FakeDiscord, memory_storage: InMemoryStorage, clock: FakeClock) -> None:
    async with running(fake, memory_storage, clock, community_settings(fake),
                       discord_settings(fake, guild_ids=())):
        assert [c["name"] for c in fake.commands["global"]] == ["peer", "peeradmin"]
        assert fake.guild_id not in fake.commands


async def test_auto_sharding_asks_discord_for_the_shard_count(
        fake: FakeDiscord, memory_storage: InMemoryStorage, clock: FakeClock) -> None:
    async with running(fake, memory_storage, clock, community_settings(fake),
                       discord_settings(fake, shard_count=None)) as bot:
        assert isinstance(bot.client, PeerMatchShardedDiscord)
        assert any(c.path == "/gateway/bot" for c in fake.calls)
        assert fake.identified[0]["shard"] == [0, 1]
        reply = await bot.users.answer(await bot.users.slash("alice", "peer status"))
        assert "not in the queue" in reply.content


async def test_topics_and_time_zones_are_autocompleted(
        fake: FakeDiscord, memory_storage: InMemoryStorage, clock: FakeClock,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """No catalogue command takes a topic today; one that did would get the community's
    topics as suggestions, and time zones from the core's list. (The probe sits in
    /peeradmin: /peer already has all the 25 subcommands Discord allows.)"""
    probe = Command("peeradmin", "probe", "A probe", (catalogue.TOPIC, catalogue.TIMEZONE))
    monkeypatch.setattr(catalogue, "COMMANDS", (*catalogue.COMMANDS, probe))
    community = community_settings(fake, topics=("Calculus I", "Calculus II", "Biology"))
    async with running(fake, memory_storage, clock, community, discord_settings(fake)) as bot:
        options = synced_options(fake.commands[fake.guild_id], probe)
        assert options["topic"]["autocomplete"] and options["timezone"]["autocomplete"]
        topics = await bot.users.answer(
            await bot.users.autocomplete("alice", "peeradmin probe", "topic", topic="calc")
        )
        assert topics.type == 8
        assert [c["value"] for c in topics.body["choices"]] == ["Calculus I", "Calculus II"]
        zones = await bot.users.answer(
            await bot.users.autocomplete(
                "alice", "peeradmin probe", "timezone", topic="Biology", timezone="lond"
            )
        )
        assert [c["value"] for c in zones.body["choices"]] == ["Europe/London"]
