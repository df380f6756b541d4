"""Sending on Discord exactly once (issue 10.1): nonces, markers, and one-shot creates.

Messages: each message the outbox sends (each chunk of a long one is its own step) goes
with a ``nonce`` derived from the row's idempotency key and the step (adapters/steps.py).
discord.py 2.7 sends ``enforce_nonce: true`` with every nonce, and Discord then answers a
second create with the same nonce, from the same author within a few minutes, with the
message it already made. That covers discord.py's own retries of a 5xx (it repeats a POST
up to five times, http.py) and a quick retry by the dispatcher. Discord shows the nonce
only in the answer to the create, never in the channel's history, so for a retry after
that window (a long outage, a restart much later) every message also carries its nonce in
a small embed footer ("PeerMatch · ref pm…"), which a retry of an unclear row looks for
among the channel's recent messages before sending again.

Creates that are not messages (a private channel, a private thread) have no nonce, and
discord.py would repeat them blindly on a 500: they go through ``post_once``, one HTTP
request and no retry; an unclear outcome is then found again by name (spaces.find_space).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import aiohttp
import discord
from discord.http import Route, json_or_text

from adapters.discord.render import Rendered
from adapters.steps import Steps
from core.ports import DeliveryError

MARK = "PeerMatch · ref "
# How far back a retry looks for its marker. A retry comes within minutes of the attempt
# it checks; a match's space or a DM rarely gets 50 messages in between.
HISTORY_LIMIT = 50
POST_TIMEOUT = aiohttp.ClientTimeout(total=30.0)  # the deliverer's own bound may be shorter


def marker(nonce: str) -> discord.Embed:
    """The footer that lets a later attempt recognise this message in the history."""
    return discord.Embed().set_footer(text=MARK + nonce)


def nonce_of(message: discord.Message) -> str:
    """The nonce a message of ours carries in its marker ('' if none)."""
    for embed in message.embeds:
        text = embed.footer.text or ""
        if text.startswith(MARK):
            return text.removeprefix(MARK)
    return ""


async def marked(channel: discord.abc.Messageable, bot_id: int) -> dict[str, str]:
    """The nonces of the bot's recent messages in ``channel`` -> their message ids."""
    found: dict[str, str] = {}
    async for message in channel.history(limit=HISTORY_LIMIT):
        nonce = nonce_of(message) if message.author.id == bot_id else ""
        if nonce:
            found.setdefault(nonce, str(message.id))
    return found


async def send_steps(channel: discord.abc.Messageable, rendered: Rendered, guild_id: str,
                     steps: Steps, bot_id: int, *, step: str = "text") -> None:
    """Send each chunk of ``rendered`` once: step ``{step}{i}``, answered "channel/message".

    Chunks already in the steps are skipped; when reconciling, a chunk found in the
    history (by its marker) is recorded instead of sent again.
    """
    seen: dict[str, str] | None = None
    for i, chunk in enumerate(rendered.chunks):
        name = f"{step}{i}"
        if steps.get(name) is not None:
            continue
        nonce = steps.nonce(name)
        if steps.reconciling:
            seen = seen if seen is not None else await marked(channel, bot_id)
            if nonce in seen:
                await steps.finish(name, f"{_channel_id(channel)}/{seen[nonce]}")
                continue
        kwargs: dict[str, Any] = {}
        if i == len(rendered.chunks) - 1:  # the buttons and files go on the last message
            view = rendered.view(guild_id)
            if view is not None:
                kwargs["view"] = view
            if rendered.attachments:
                kwargs["files"] = rendered.files()
        sent = await channel.send(content=chunk or None, nonce=nonce, embed=marker(nonce),
                                  allowed_mentions=rendered.allowed_mentions(), **kwargs)
        await steps.finish(name, f"{sent.channel.id}/{sent.id}")


def _channel_id(channel: discord.abc.Messageable) -> str:
    return str(getattr(channel, "id", ""))


async def post_once(client: discord.Client, route: Route, payload: dict[str, Any], *,
                    reason: str = "") -> dict[str, Any]:
    """One POST to Discord, never repeated: the JSON answer of a 2xx; else a
    ``discord.HTTPException`` (4xx, so the caller can read its code) or ``DeliveryError``
    (429: retry after; 5xx, timeout, dropped connection: unclear, it may have been done)."""
    http = client.http
    headers = {"Authorization": f"Bot {http.token}", "User-Agent": http.user_agent,
               "Content-Type": "application/json"}
    if reason:
        headers["X-Audit-Log-Reason"] = quote(reason, safe="/ ")
    try:
        async with aiohttp.ClientSession(timeout=POST_TIMEOUT) as s, \
                s.post(route.url, data=json.dumps(payload), headers=headers,
                       proxy=http.proxy) as response:
            data = await json_or_text(response)
    except (TimeoutError, aiohttp.ClientError) as exc:
        raise DeliveryError(f"{route.method} {route.path}: no answer from Discord "
                            f"({type(exc).__name__}); it may have been done",
                            unclear=True) from exc
    if 200 <= response.status < 300 and isinstance(data, dict):
        return data
    if response.status == 429:
        body = data if isinstance(data, dict) else {}
        wait = body.get("retry_after") or response.headers.get("Retry-After") or 5
        raise DeliveryError("rate limited by Discord", retry_after=float(wait))
    if response.status >= 500:
        raise DeliveryError(f"Discord answered {response.status} to {route.path}; it may "
                            "have been done", unclear=True)
    if response.status == 403:
        raise discord.Forbidden(response, data)
    if response.status == 404:
        raise discord.NotFound(response, data)
    raise discord.HTTPException(response, data)
