"""Typed settings of the Discord adapter; bot/config.py maps config.toml ``[discord]`` into it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DiscordSettings:
    """How to reach Discord and where to register the commands.

    ``api_base_url`` and ``gateway_url`` point at REST/gateway proxies that large bots run
    (and at the local fake in tests); an empty ``gateway_url`` keeps Discord's own.
    ``shard_count``: ``None`` lets Discord choose (auto-sharding), ``1`` (or ``0``) runs one
    plain connection, ``n > 1`` runs n shards. ``guild_ids``: register the commands in these guilds
    only (instant) instead of globally (may take a while to show up everywhere).
    """

    token: str
    api_base_url: str = "https://discord.com/api/v10"
    gateway_url: str = ""
    shard_count: int | None = None
    guild_ids: tuple[str, ...] = ()
    sync_commands: bool = True

    def __repr__(self) -> str:  # the token is a secret: never in logs
        return (f"DiscordSettings(token='***', api_base_url={self.api_base_url!r}, "
                f"gateway_url={self.gateway_url!r}, shard_count={self.shard_count!r}, "
                f"guild_ids={self.guild_ids!r}, sync_commands={self.sync_commands!r})")
