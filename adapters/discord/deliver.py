"""The Discord ``Deliverer``: carries out outbox rows (DMs, match spaces) for the dispatcher.

Discord's answers become ``DeliveryError``s the dispatcher understands: DMs closed
(403, code 50007) -> ``dm_closed`` (the person is mentioned in their match space instead);
429 -> ``retry_after`` from the response (discord.py itself sleeps through short waits and
raises ``RateLimited`` for long ones); a missing permission (403, 50001/50013) ->
``permanent`` with what a moderator has to grant, named ``missing_permission:<kind>`` so
the core reports it to the moderators once per kind (core/services/delivery_report.py: the
one report, by DM, with the fix). A 5xx (once discord.py has given up
retrying it), a dropped connection or a call that outlives ``timeout`` is ``unclear``: it may
have been carried out, so the next attempt looks before sending (once.py).

Exactly once (issue 10.1): every message goes with a nonce derived from the row's key and
step, and a marker to find it by later; each finished step (the space, each message) is
journaled and skipped on retries (adapters/steps.py, once.py).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiohttp
import discord

from adapters.discord import spaces
from adapters.discord.once import send_steps
from adapters.discord.render import render_text
from adapters.steps import Steps
from core.messages import (
    CloseSpace,
    DirectMessage,
    Message,
    OpenSpace,
    SpaceMessage,
    deliverable,
)
from core.model import OutboxMessage
from core.ports import DeliveryError, StepJournal

log = logging.getLogger(__name__)

DMS_CLOSED = 50007
GRANT: dict[type[Message], str] = {
    DirectMessage: ("nothing on the server: the member has to allow direct messages from "
                    "server members"),
    OpenSpace: ("Manage Channels and Manage Roles (to create private match channels in the "
                   "category), or Create Private Threads and Send Messages in Threads in the "
                   "match threads' parent channel"),
    SpaceMessage: "View Channel, Send Messages and Send Messages in Threads in the match spaces",
    CloseSpace: "Manage Channels and Manage Threads (to archive or delete match spaces)",
}


def retry_after_of(exc: discord.HTTPException) -> float | None:
    """Seconds to wait, as Discord said (header); None if it did not say."""
    headers = getattr(exc.response, "headers", None) or {}
    for name in ("Retry-After", "X-RateLimit-Reset-After"):
        value = headers.get(name)
        if value is not None:
            try:
                return float(value)
            except ValueError:
                continue
    return None


def as_delivery_error(kind: type[Message],
                      exc: discord.HTTPException | discord.RateLimited) -> DeliveryError:
    """A Discord failure as the dispatcher's error."""
    if isinstance(exc, discord.RateLimited):
        return DeliveryError(f"rate limited by Discord for {exc.retry_after:.0f} s",
                             retry_after=exc.retry_after)
    if isinstance(exc, discord.Forbidden) and exc.code == DMS_CLOSED:
        return DeliveryError("the member does not accept direct messages", dm_closed=True)
    if isinstance(exc, discord.Forbidden):
        grant = GRANT.get(kind, "the permissions it needs")
        return DeliveryError(f"PeerMatch is missing a Discord permission ({exc.text or exc.code}). "
                             f"A moderator should grant the bot's role: {grant}.", permanent=True,
                             problem=f"missing_permission:{kind.kind}")
    if exc.status == 429:
        return DeliveryError("rate limited by Discord", retry_after=retry_after_of(exc))
    if exc.status >= 500:  # discord.py retried it already; it may have been done
        return DeliveryError(f"Discord answered {exc.status}: {exc.text or exc.code}",
                             unclear=True)
    # Other 4xx will fail the same way again; 5xx are worth retrying.
    return DeliveryError(f"Discord answered {exc.status}: {exc.text or exc.code}",
                         permanent=400 <= exc.status < 500)


class DiscordDeliverer:
    """Delivers every outbox message type: DMs, opening, posting in and closing spaces.

    ``timeout`` bounds one delivery (discord.py itself waits up to five minutes for an
    answer): a hung call becomes an unclear failure instead of stalling the outbox.
    """

    def __init__(self, client: discord.Client, *, timeout: float = 60.0) -> None:
        self.client = client
        self.timeout = timeout

    async def deliver(self, message: OutboxMessage, community_external_id: str = "", *,
                      journal: StepJournal | None = None) -> dict[str, Any]:
        if not self.client.is_ready():
            raise DeliveryError("the Discord connection is not ready yet")
        # The dispatcher names the guild; closing a space needs only the space itself.
        guild_id = community_external_id
        if not guild_id.isdigit() and not isinstance(message.message, CloseSpace):
            raise DeliveryError("this outbox row names no Discord server", permanent=True)
        steps, msg = Steps(message, journal), deliverable(message.message)
        try:
            async with asyncio.timeout(self.timeout):
                return await self._deliver(msg, guild_id, steps)
        except (discord.HTTPException, discord.RateLimited) as exc:
            # A permanent one is reported to the moderators by the core, once per kind.
            raise as_delivery_error(type(msg), exc) from exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise DeliveryError(f"no answer from Discord ({type(exc).__name__}); it may have "
                                "been done", unclear=True) from exc

    async def _deliver(self, msg: Message, guild_id: str, steps: Steps) -> dict[str, Any]:
        assert self.client.user is not None  # ready, so logged in
        bot_id = self.client.user.id
        match msg:
            case DirectMessage():
                uid = int(msg.user_id)
                user = self.client.get_user(uid) or await self.client.fetch_user(uid)
                dm = user.dm_channel or await user.create_dm()  # its history is read by id
                await send_steps(dm, render_text(msg.text, msg.buttons, msg.attachments),
                                 guild_id, steps, bot_id)
                return {}
            case OpenSpace():
                return await spaces.open_space(self.client, await self._guild(guild_id), msg,
                                               steps)
            case SpaceMessage():
                channel = await self._channel(msg.space_id)
                await send_steps(channel, render_text(msg.text, msg.buttons, msg.attachments),
                                 guild_id, steps, bot_id)
                return {}
            case CloseSpace():
                return await spaces.close_space(self.client, msg)

    async def _guild(self, guild_id: str) -> discord.Guild:
        guild = self.client.get_guild(int(guild_id))
        return guild if guild is not None else await self.client.fetch_guild(int(guild_id))

    async def _channel(self, space_id: str) -> Any:
        if not space_id.isdigit():
            raise DeliveryError("the match has no space on Discord", permanent=True)
        channel = self.client.get_channel(int(space_id))
        return channel if channel is not None else await self.client.fetch_channel(int(space_id))
