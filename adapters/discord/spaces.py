"""Private match spaces on Discord: a private text channel or a private thread, and (with
the community's ``voice_channel``) a private voice channel beside it with the same members,
found again by name and deleted when the space is closed.

Channel mode: a text channel under the configured category, hidden from @everyone, open
to the members, the bot and the moderator roles. Thread mode (or when the guild is at its
500-channel cap, error 30013): a private thread in the configured channel (or the system
channel); moderators with Manage Threads see private threads anyway. Opening is
idempotent by name, so a retried outbox row reuses the space it already made; the create
itself is one request that is never repeated blindly (once.post_once: discord.py would
re-send it on a 500 and make a second channel). Steps: ``space`` (its id), then the intro
(``intro0``, ...; once.send_steps).
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

import discord
from discord.http import Route

from adapters.discord.once import post_once, send_steps
from adapters.discord.render import render_text
from adapters.steps import Steps, step_nonce
from core.messages import CloseSpace, OpenSpace
from core.ports import DeliveryError

log = logging.getLogger(__name__)

MAX_CHANNELS_REACHED = 30013  # Discord: the guild has 500 channels
ARCHIVED_PREFIX = "archived-"
Space = discord.TextChannel | discord.Thread
# Who a permission overwrite applies to (what discord.py's ``overwrites`` mappings key on).
Target = discord.Role | discord.Member | discord.Object


def _roles(guild: discord.Guild, wanted: list[str]) -> list[discord.Role]:
    """Moderator roles by id or by name (the config accepts both)."""
    found: list[discord.Role] = []
    for ref in wanted:
        role = guild.get_role(int(ref)) if ref.isdigit() else None
        role = role or discord.utils.get(guild.roles, name=ref)
        if role is not None and role not in found:
            found.append(role)
    return found


def overwrites_for(guild: discord.Guild, bot_id: int, members: list[str],
                   moderator_roles: list[str]) -> dict[Target, discord.PermissionOverwrite]:
    """@everyone denied; each member view+send; the bot view+send+manage; moderators view."""
    everyone = guild.default_role
    if everyone is None:  # roles not cached: refusing beats opening a public channel
        raise DeliveryError("the server's roles are not known yet")
    talk = {"view_channel": True, "send_messages": True, "read_message_history": True}
    ow: dict[Target, discord.PermissionOverwrite] = {
        everyone: discord.PermissionOverwrite(view_channel=False),
        discord.Object(bot_id): discord.PermissionOverwrite(manage_channels=True, **talk),
    }
    for user_id in members:
        ow[discord.Object(int(user_id))] = discord.PermissionOverwrite(**talk)
    for role in _roles(guild, moderator_roles):
        ow[role] = discord.PermissionOverwrite(view_channel=True, read_message_history=True)
    return ow


async def find_space(guild: discord.Guild, name: str) -> Space | None:
    """An open space with this name (from an earlier attempt), asking Discord, not the cache."""
    for channel in await guild.fetch_channels():
        if isinstance(channel, discord.TextChannel) and channel.name == name:
            return channel
    for thread in await guild.active_threads():
        if thread.name == name:
            return thread
    return None


async def _thread_parent(guild: discord.Guild, parent_id: str) -> discord.TextChannel | None:
    """Where a private thread goes: the configured channel (or the first text channel of a
    configured category), else the system channel, else the first text channel."""
    if parent_id.isdigit():
        parent: discord.abc.GuildChannel | discord.Thread | None = guild.get_channel(int(parent_id))
        if parent is None:
            try:
                parent = await guild.fetch_channel(int(parent_id))
            except discord.NotFound:
                parent = None
        if isinstance(parent, discord.TextChannel):
            return parent
        if isinstance(parent, discord.CategoryChannel) and parent.text_channels:
            return parent.text_channels[0]
    return guild.system_channel or (guild.text_channels[0] if guild.text_channels else None)


async def _open_thread(client: discord.Client, guild: discord.Guild,
                       space: OpenSpace) -> discord.Thread:
    parent = await _thread_parent(guild, space.space_parent)
    if parent is None:
        raise DeliveryError("there is no text channel to open a private thread in: set the "
                            "community's space_parent to a channel id", permanent=True)
    # What discord.py's TextChannel.create_thread sends, but in one request (post_once).
    created = await post_once(
        client, Route("POST", "/channels/{channel_id}/threads", channel_id=parent.id),
        {"name": space.name[:100], "type": discord.ChannelType.private_thread.value,
         "invitable": False, "auto_archive_duration": parent.default_auto_archive_duration},
        reason=f"PeerMatch: match #{space.match_id}")
    thread = await client.fetch_channel(int(created["id"]))
    assert isinstance(thread, discord.Thread)
    await _add_members(thread, space)
    return thread


async def _add_members(thread: discord.Thread, space: OpenSpace) -> None:
    for user_id in space.members:  # a PUT: adding someone twice is harmless
        await thread.add_user(discord.Object(int(user_id)))


def overwrites_payload(ow: dict[Target, discord.PermissionOverwrite]) -> list[dict[str, Any]]:
    """Permission overwrites as Discord's API takes them (as discord.py builds them)."""
    payload = []
    for target, perm in ow.items():
        allow, deny = perm.pair()
        payload.append({"id": str(target.id), "type": 0 if isinstance(target, discord.Role) else 1,
                        "allow": str(allow.value), "deny": str(deny.value)})
    return payload


async def _open_channel(client: discord.Client, guild: discord.Guild, bot_id: int,
                        space: OpenSpace) -> discord.TextChannel:
    overwrites = overwrites_for(guild, bot_id, list(space.members), list(space.moderator_roles))
    body: dict[str, Any] = {"name": space.name[:100], "type": discord.ChannelType.text.value,
                            "permission_overwrites": overwrites_payload(overwrites)}
    if space.space_parent.isdigit():
        body["parent_id"] = space.space_parent
    created = await post_once(
        client, Route("POST", "/guilds/{guild_id}/channels", guild_id=guild.id), body,
        reason=f"PeerMatch: match #{space.match_id}")
    channel = await client.fetch_channel(int(created["id"]))
    assert isinstance(channel, discord.TextChannel)
    return channel


async def _make_space(client: discord.Client, guild: discord.Guild, bot_id: int,
                      wanted: OpenSpace) -> Space:
    if wanted.space_mode == "thread":
        return await _open_thread(client, guild, wanted)
    try:  # auto, channel, and group_dm (which Discord lacks) make a channel
        return await _open_channel(client, guild, bot_id, wanted)
    except discord.HTTPException as exc:
        if exc.code != MAX_CHANNELS_REACHED:
            raise
    log.warning("guild %s is at its channel cap: using a private thread", guild.id)
    return await _open_thread(client, guild, wanted)


async def _space_of(client: discord.Client, space_id: str) -> Space:
    space = client.get_channel(int(space_id)) or await client.fetch_channel(int(space_id))
    if not isinstance(space, discord.TextChannel | discord.Thread):
        raise DeliveryError(f"the match's space {space_id} is not a text channel or thread",
                            permanent=True)
    return space


async def open_space(client: discord.Client, guild: discord.Guild, wanted: OpenSpace,
                     steps: Steps) -> dict[str, Any]:
    """Create (or find) the match's space, post the intro once, return ``{"space_id"}``."""
    assert client.user is not None
    bot_id = client.user.id
    made = steps.get("space")
    space = await _space_of(client, made) if made else await find_space(guild, wanted.name[:100])
    if space is None:
        space = await _make_space(client, guild, bot_id, wanted)
    elif not made:
        # Made by an attempt whose outcome was lost: its intro may be there too.
        steps.reconciling = True
    if not made:
        await steps.finish("space", str(space.id))
    if wanted.voice:
        await open_voice(client, guild, bot_id, wanted, steps)
    await send_steps(space, render_text(wanted.intro, wanted.buttons), str(guild.id), steps,
                     bot_id, step="intro")
    return {"space_id": str(space.id)}


def voice_overwrites(guild: discord.Guild, bot_id: int, members: list[str],
                     moderator_roles: list[str]) -> dict[Target, discord.PermissionOverwrite]:
    """The text space's overwrites, members and the bot also allowed to connect and speak
    (moderators may see it, as they see the text space)."""
    ow = overwrites_for(guild, bot_id, members, moderator_roles)
    for perm in ow.values():
        if perm.send_messages:
            perm.update(connect=True, speak=True)
    return ow


async def _find_voice(guild: discord.Guild, name: str) -> discord.VoiceChannel | None:
    """The match's voice channel by name, asking Discord (an earlier attempt may have made
    it and lost the answer)."""
    return next((c for c in await guild.fetch_channels()
                 if isinstance(c, discord.VoiceChannel) and c.name == name), None)


async def open_voice(client: discord.Client, guild: discord.Guild, bot_id: int,
                     wanted: OpenSpace, steps: Steps) -> None:
    """The step ``voice``: a private voice channel named like the space (found again by
    name, created in one request). At the channel cap it is left out, not retried."""
    if steps.get("voice") is not None:
        return
    name = wanted.name[:100]
    found = await _find_voice(guild, name)
    if found is None:
        body: dict[str, Any] = {
            "name": name, "type": discord.ChannelType.voice.value,
            "permission_overwrites": overwrites_payload(voice_overwrites(
                guild, bot_id, list(wanted.members), list(wanted.moderator_roles)))}
        if wanted.space_parent.isdigit() and wanted.space_mode != "thread":
            body["parent_id"] = wanted.space_parent  # a category (threads name a channel)
        try:
            created = await post_once(
                client, Route("POST", "/guilds/{guild_id}/channels", guild_id=guild.id), body,
                reason=f"PeerMatch: match #{wanted.match_id}")
        except discord.HTTPException as exc:
            if exc.code != MAX_CHANNELS_REACHED:
                raise
            log.warning("guild %s is at its channel cap: no voice channel for match %s",
                        guild.id, wanted.match_id)
            await steps.finish("voice", "")
            return
        await steps.finish("voice", str(created["id"]))
        return
    await steps.finish("voice", str(found.id))


async def remove_voice(space: Space, reason: str) -> None:
    """Delete the voice channel named like the match's space (its archived name too)."""
    name = space.name.removeprefix(ARCHIVED_PREFIX)
    voice = await _find_voice(space.guild, name)
    if voice is not None:
        with contextlib.suppress(discord.NotFound):  # deleted meanwhile: what was wanted
            await voice.delete(reason=reason)


def _is_member_target(target: Target) -> bool:
    if isinstance(target, discord.Role):
        return False
    return not (isinstance(target, discord.Object) and target.type is discord.Role)


async def close_space(client: discord.Client, close: CloseSpace) -> dict[str, Any]:
    """Archive (lock and rename; members keep reading but can't post) or delete a space."""
    space_id = close.space_id
    if not space_id.isdigit():
        return {}  # the space was never made (e.g. an anonymous match)
    try:
        space = client.get_channel(int(space_id)) or await client.fetch_channel(int(space_id))
        await _close(client, space, close)
    except discord.NotFound:
        pass  # already gone (a moderator deleted it, or an earlier attempt did): nothing to close
    return {}


async def _close(client: discord.Client, space: Any, close: CloseSpace) -> None:
    reason = f"PeerMatch: match #{close.match_id} ended"
    if close.voice and isinstance(space, discord.TextChannel | discord.Thread):
        await remove_voice(space, reason)
    if close.action == "delete":
        await space.delete(reason=reason)
        return
    if close.text:
        # Said first, so the members of an archived (read-only) space also see why; the
        # nonce makes a retry after a failed archive answer with the same message.
        await space.send(close.text, nonce=step_nonce(close.key, "closing"))
    if isinstance(space, discord.Thread):
        await space.edit(archived=True, locked=True, reason=reason)
    elif isinstance(space, discord.TextChannel):
        bot_id = client.user.id if client.user else 0
        overwrites = dict(space.overwrites)
        for target, ow in overwrites.items():
            if _is_member_target(target) and target.id != bot_id:
                ow.update(send_messages=False)
        name = (
            space.name
            if space.name.startswith(ARCHIVED_PREFIX)
            else f"{ARCHIVED_PREFIX}{space.name}"
        )
        await space.edit(name=name[:100], overwrites=overwrites, reason=reason)
