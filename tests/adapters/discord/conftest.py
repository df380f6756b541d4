"""Fixtures: the fake Discord, and the real PeerMatch client connected to it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import discord
import pytest
from discord.gateway import DiscordWebSocket

from adapters.discord.client import PeerMatchDiscord, create_client
from adapters.discord.deliver import DiscordDeliverer
from adapters.discord.settings import DiscordSettings
from core.services.context import Services
from core.services.delivery import TickResult, dispatch_due
from core.settings import CommunitySettings
from tests.adapters.discord.fake_discord import FakeDiscord
from tests.adapters.discord.interactions import Users
from tests.fakes import FakeClock, InMemoryStorage


@dataclass
class Bot:
    """The client under test with what drives it."""

    fake: FakeDiscord
    client: PeerMatchDiscord
    services: Services
    storage: InMemoryStorage
    clock: FakeClock
    users: Users
    deliverer: DiscordDeliverer

    async def deliver(self) -> TickResult:
        """One outbox tick, delivered through the Discord deliverer (with the community
        defaults, as the scheduler passes them: who the moderators are)."""
        return await dispatch_due(self.storage.uow_factory, self.clock, {"discord": self.deliverer},
                                  defaults=self.services.defaults)


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    server = FakeDiscord()
    await server.start()
    yield server
    await server.close()


@contextlib.asynccontextmanager
async def running(fake: FakeDiscord, storage: InMemoryStorage, clock: FakeClock,
                  community: CommunitySettings, settings: DiscordSettings) -> AsyncIterator[Bot]:
    base, gateway = discord.http.Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY
    services = Services(storage.uow_factory, clock, community, seed_source=lambda: 1234)
    # A short guild_ready_timeout: discord.py otherwise waits 2 s for more guilds.
    client = create_client(services, settings, guild_ready_timeout=0.05)
    task = asyncio.create_task(client.start(settings.token))
    try:
        await fake.wait_for(lambda: client.is_ready() or task.done())
        if task.done():
            task.result()  # raise the start-up error
        yield Bot(fake, client, services, storage, clock, Users(fake),
                  DiscordDeliverer(client))
    finally:
        await client.close()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await asyncio.wait_for(task, 5)
        discord.http.Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = base, gateway


def community_settings(fake: FakeDiscord, **overrides: object) -> CommunitySettings:
    """Moderators are the 'Moderators' role (by name); spaces go under the category."""
    values: dict[str, object] = {
        "moderator_roles": ("Moderators",),
        "space_parent": fake.category["id"],
    }
    values.update(overrides)
    return CommunitySettings(**values)  # type: ignore[arg-type]


def discord_settings(fake: FakeDiscord, **overrides: object) -> DiscordSettings:
    values: dict[str, object] = {"token": "test-token", "api_base_url": fake.api_url,
                                 "gateway_url": fake.gateway_url, "shard_count": 1,
                                 "guild_ids": (fake.guild_id,)}
    values.update(overrides)
    return DiscordSettings(**values)  # type: ignore[arg-type]


@pytest.fixture
async def bot(
    fake: FakeDiscord, memory_storage: InMemoryStorage, clock: FakeClock
) -> AsyncIterator[Bot]:
    async with running(
        fake, memory_storage, clock, community_settings(fake), discord_settings(fake)
    ) as b:
        yield b
