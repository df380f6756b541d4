"""Accepted work (core/accepted.py) on Discord: a slow command survives its first response.

A command in ``DURABLE_COMMANDS`` (a matching round) is stored *before* Discord hears
anything (``accept``), then deferred (the person sees "PeerMatch is thinking…"), then run
from the store by the runner, in this process or, after a crash, in the next one. The row
keeps what a reply needs later: who asked, the application id and the interaction token
(its follow-up webhook works for 15 minutes), the channel.

``DiscordWork`` is the runner's ``WorkPlatform`` for Discord rows:
- ``request_for`` resolves the member again (``GET /guilds/{id}/members/{user}``), so the
  core checks the moderator roles they hold *now*; one who left the server is nobody;
- ``reply`` answers through the interaction's webhook while the token is fresh (the
  deferral edited into the reply, so doing it again is harmless; more chunks, or a public
  reply, as follow-ups), else (or when Discord says the token is gone) by DM through the
  outbox, keyed by the row (core.accepted.reply_dm), so a crash around it never sends it
  twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING

import discord

from adapters.discord.render import render
from adapters.discord.respond import send_rendered
from core.accepted import AcceptedWork
from core.replies import Reply
from core.services import accepted
from core.services.context import Actor, CommandRequest, Services

if TYPE_CHECKING:  # discord.types is for type checkers (imported alone it is circular)
    from discord.types.webhook import Webhook as WebhookPayload

log = logging.getLogger(__name__)

PLATFORM = "discord"
TOKEN_LIFETIME = timedelta(minutes=15)  # Discord's, for an interaction's follow-ups
# A reply this close to the token's end goes by DM: a follow-up that starts in time can
# still arrive after it (chunks, files), and half a reply is worse than a DM.
TOKEN_MARGIN = timedelta(minutes=1)
READY_WAIT_SECONDS = 60.0  # after a restart the runner may start before the gateway is up
# Discord's word that the way back is gone: unknown webhook, unknown interaction (never
# acknowledged), invalid webhook token (expired).
GONE = frozenset({10015, 10062, 50027})


def actor_of(user: discord.User | discord.Member, administrator: bool) -> Actor:
    """Who is asking. Admins are members with Administrator and the owner; roles are given
    by id and by name, as the moderator-role setting accepts both."""
    if isinstance(user, discord.Member):
        roles = [r for r in user.roles if not r.is_default()]
        admin = administrator or user.guild.owner_id == user.id
        return Actor(str(user.id), user.display_name, admin,
                     tuple(str(r.id) for r in roles) + tuple(r.name for r in roles))
    return Actor(str(user.id), user.display_name)


def reply_to(interaction: discord.Interaction) -> dict[str, str]:
    """What a reply needs once the interaction object is gone (after a restart)."""
    return {"user_id": str(interaction.user.id), "user_name": interaction.user.display_name,
            "application_id": str(interaction.application_id), "token": interaction.token,
            "channel_id": str(interaction.channel_id or ""),
            "interaction_id": str(interaction.id)}


def who(actor: Actor) -> dict[str, str]:
    """The asker as the row records them (the runner resolves the member again)."""
    return {"user_id": actor.user_id, "name": actor.display_name}


def is_gone(exc: discord.HTTPException) -> bool:
    """Whether Discord refused because the interaction's token cannot be used any more."""
    return exc.code in GONE or exc.status in (401, 404)


class DiscordWork:
    """Rebuilds and answers Discord's accepted commands (core.services.accepted.WorkPlatform)."""

    def __init__(self, client: discord.Client, services: Services) -> None:
        self._client = client
        self._services = services
        self.ready = asyncio.Event()  # set by the client's on_ready

    async def _ready(self) -> None:
        """Wait (bounded) for the gateway: guilds and the HTTP session come with it."""
        if not self._client.is_ready():
            async with asyncio.timeout(READY_WAIT_SECONDS):
                await self.ready.wait()

    async def request_for(self, work: AcceptedWork) -> CommandRequest:
        await self._ready()
        guild_id = work.community_external_id
        guild = self._client.get_guild(int(guild_id)) if guild_id.isdigit() else None
        return CommandRequest(PLATFORM, guild_id, await self._actor(guild, work), work.command,
                              {str(k): str(v) for k, v in dict(work.payload["args"]).items()},
                              community_name=guild.name if guild else "")

    async def _actor(self, guild: discord.Guild | None, work: AcceptedWork) -> Actor:
        user_id = work.reply_to.get("user_id", "")
        nobody = Actor(user_id, work.reply_to.get("user_name", ""))
        if guild is None or not user_id.isdigit():
            return nobody  # no server to check roles in: no moderator rights
        try:
            member = await guild.fetch_member(int(user_id))
        except discord.NotFound:  # they left the server since
            return nobody
        return actor_of(member, member.guild_permissions.administrator)

    async def reply(self, work: AcceptedWork, reply: Reply) -> None:
        to = work.reply_to
        fresh = self._services.clock.now() - work.accepted_at < TOKEN_LIFETIME - TOKEN_MARGIN
        if fresh and to.get("token") and to.get("application_id", "").isdigit():
            await self._ready()
            try:
                await self._follow_up(work, reply)
                return
            except discord.HTTPException as exc:
                if not is_gone(exc):
                    raise  # unclear (a 5xx, a timeout): the runner tries again later
                log.info("accepted work #%s: Discord refused the interaction token (%s %s); "
                         "replying by DM", work.id, exc.status, exc.code)
        await accepted.reply_by_dm(self._services, work, to.get("user_id", ""), reply)

    async def _follow_up(self, work: AcceptedWork, reply: Reply) -> None:
        app_id, token = work.reply_to["application_id"], work.reply_to["token"]
        # The interaction's own follow-up webhook, built as discord.py builds
        # ``Interaction.followup`` (an application webhook on the client's state, so
        # ephemeral messages and buttons work); Webhook.partial would make an incoming one.
        payload: WebhookPayload = {"id": app_id, "type": 3, "token": token}
        webhook = discord.Webhook.from_state(payload, self._client._connection)
        rendered = render(reply)
        if rendered.ephemeral:
            # The first message edits the deferral ("thinking…" becomes the reply): an edit
            # done twice (a crash before the row was marked replied) is still one message.
            await send_rendered(webhook, rendered, work.community_external_id,
                                first=self._editor(app_id, token))
            return
        # The deferral was ephemeral; a reply meant for the channel replaces it with a
        # public follow-up instead of inheriting its privacy (as respond.show does).
        await self._delete_original(app_id, token)
        await send_rendered(webhook, rendered, work.community_external_id)

    def _editor(self, app_id: str, token: str) -> Callable[..., Awaitable[None]]:
        """Edit the interaction's original response (the deferral) into a message."""
        route = discord.http.Route("PATCH", "/webhooks/{application_id}/{interaction_token}"
                                   "/messages/@original", application_id=app_id,
                                   interaction_token=token)

        async def edit(*, content: str | None, ephemeral: bool,
                       allowed_mentions: discord.AllowedMentions,
                       view: discord.ui.View | None = None,
                       files: Sequence[discord.File] = ()) -> None:
            del ephemeral  # an edit keeps the deferral's privacy
            with discord.http.handle_message_parameters(
                    content=content, allowed_mentions=allowed_mentions,
                    view=view if view is not None else discord.utils.MISSING,
                    # As attachments: an edit replaces them, so a second edit adds none.
                    attachments=list(files) or discord.utils.MISSING) as params:
                if params.files:
                    await self._client.http.request(route, files=params.files,
                                                    form=params.multipart)
                else:
                    await self._client.http.request(route, json=params.payload)

        return edit

    async def _delete_original(self, app_id: str, token: str) -> None:
        route = discord.http.Route("DELETE", "/webhooks/{application_id}/{interaction_token}"
                                   "/messages/@original", application_id=app_id,
                                   interaction_token=token)
        try:
            await self._client.http.request(route)
        except discord.HTTPException:
            log.debug("could not delete the deferred response", exc_info=True)
