"""Answering an interaction: within 3 s, first response or deferred follow-up.

Discord drops an interaction not acknowledged within 3 seconds, and a modal can only be
the *first* response. So the core gets a short budget: if it answers in time, the reply
(or the form it asks for) is the first response; otherwise we defer (ephemeral
"thinking") and send the reply as a follow-up when it is ready.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import discord

from adapters.discord.render import Rendered, render
from core.replies import Reply

log = logging.getLogger(__name__)

ACK_BUDGET = 2.0  # seconds the core may take before we defer (Discord allows 3)
SORRY = ("Sorry, something went wrong on my side and I couldn't finish that. "
         "Please try again in a moment.")

_NO_PINGS = discord.AllowedMentions.none()

# Shows a reply once the core has answered (the client's: it may open a form).
Present = Callable[[discord.Interaction, Reply], Awaitable[None]]


async def send_rendered(followup: discord.Webhook, rendered: Rendered, guild_id: str, *,
                        first: Callable[..., Awaitable[Any]] | None = None) -> None:
    """Send every chunk as a follow-up of the interaction (the first one through ``first``
    when given: the interaction's first response); the view and files go with the last."""
    for i, chunk in enumerate(rendered.chunks):
        kwargs: dict[str, Any] = {"ephemeral": rendered.ephemeral,
                                  "allowed_mentions": rendered.allowed_mentions()}
        if i == len(rendered.chunks) - 1:
            view = rendered.view(guild_id)
            if view is not None:
                kwargs["view"] = view
            if rendered.attachments:
                kwargs["files"] = rendered.files()
        # Discord refuses an empty message; a file or buttons alone are fine.
        content = chunk or (None if len(kwargs) > 2 else "\u200b")
        if first is not None and i == 0:
            await first(content=content, **kwargs)
        else:
            await followup.send(content=content or discord.utils.MISSING, **kwargs)


async def _send(interaction: discord.Interaction, rendered: Rendered, guild_id: str, *,
                first: bool) -> None:
    await send_rendered(interaction.followup, rendered, guild_id,
                        first=interaction.response.send_message if first else None)


async def show(interaction: discord.Interaction, reply: Reply, guild_id: str,
               extra: Sequence[discord.ui.Item[Any]] = ()) -> None:
    """Show a reply as the interaction's first response or as follow-ups; ``extra`` items
    (e.g. "Fix my answers") go under it."""
    first = not interaction.response.is_done()
    rendered = render(reply, extra)
    if not first and not rendered.ephemeral:
        # The deferred "thinking" message is ephemeral; a reply meant for the channel
        # replaces it with a public follow-up instead of inheriting its privacy.
        try:
            await interaction.delete_original_response()
        except discord.HTTPException:
            log.debug("could not delete the deferred response", exc_info=True)
    await _send(interaction, rendered, guild_id, first=first)


async def answer(interaction: discord.Interaction, work: Awaitable[Reply], present: Present, *,
                 budget: float = ACK_BUDGET) -> None:
    """Run the core call and present its reply, acknowledging within Discord's 3 s."""
    task: asyncio.Future[Reply] = asyncio.ensure_future(work)
    done, _ = await asyncio.wait({task}, timeout=budget)
    if not done and not interaction.response.is_done():
        try:
            await interaction.response.defer(ephemeral=True, thinking=True)
        except discord.HTTPException:  # the core's work still completes and is kept
            log.warning("could not defer an interaction in time", exc_info=True)
    try:
        reply = await task
    except Exception:
        log.exception("the core failed on an interaction")
        await apologise(interaction)
        return
    try:
        await present(interaction, reply)
    except discord.HTTPException:
        log.exception("could not show a reply on Discord")


async def apologise(interaction: discord.Interaction, text: str = SORRY) -> None:
    """A polite ephemeral message, whatever state the interaction is in."""
    try:
        if interaction.response.is_done():
            await interaction.followup.send(text, ephemeral=True, allowed_mentions=_NO_PINGS)
        else:
            await interaction.response.send_message(text, ephemeral=True,
                                                    allowed_mentions=_NO_PINGS)
    except discord.HTTPException:
        log.warning("could not even apologise on an interaction", exc_info=True)
