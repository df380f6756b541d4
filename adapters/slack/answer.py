"""Showing a core ``Reply`` to the person who asked, wherever they asked from.

- a slash command or a button in a message carries a ``response_url``: the reply goes there
  (ephemeral unless the core says otherwise), even in channels the bot is not in;
- otherwise (App Home buttons, modals opened from there) it is posted to the person's DM
  with the app (the Messages tab);
- files (CSV exports, PNG charts) are uploaded with ``files_upload_v2``: into the DM when
  the reply is private, into the channel when it is public (the DM if that fails).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.blocks import fallback_text, message_blocks
from core.replies import Reply

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Origin:
    """Where an interaction came from, and how to answer it."""

    team_id: str
    user_id: str
    user_name: str = ""
    channel_id: str = ""
    response_url: str = ""
    trigger_id: str = ""

    def without_trigger(self) -> Origin:
        return replace(self, trigger_id="")


class Answerer:
    """Posts replies, opens modals and uploads files with the bot's web client.

    response_url replies share one HTTP session (one connection pool) for the process's
    life: a new session per reply costs a TCP (and TLS) handshake each time, which at a
    few hundred replies a second is most of a reply's cost. ``close`` ends it."""

    def __init__(self, client: AsyncWebClient, *, timeout_seconds: float = 10.0) -> None:
        self.client = client
        self._timeout = timeout_seconds
        self._session: aiohttp.ClientSession | None = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            # Made lazily: a session belongs to the running event loop.
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self._timeout))
        return self._session

    def share_session(self) -> None:
        """Let the web client use the same session: without one, slack_sdk opens a new
        session (a new connection) for every Web API call (it passes its own timeout per
        request). Called from inside the event loop, before the client is used."""
        if self.client.session is None or self.client.session.closed:
            self.client.session = self._http()

    async def close(self) -> None:
        """Close the shared response_url session (at shutdown)."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def open_modal(self, origin: Origin, view: dict[str, Any]) -> bool:
        """``views.open``; False when Slack refused (e.g. the 3 s trigger expired)."""
        if not origin.trigger_id:
            return False
        try:
            await self.client.views_open(trigger_id=origin.trigger_id, view=view)
            return True
        except SlackApiError as exc:
            log.warning("views.open failed: %s %s", exc.response.get("error"),
                        exc.response.get("response_metadata") or "")
            return False

    async def post(self, origin: Origin, reply: Reply, note: str = "") -> None:
        """Show the reply's text and buttons, then upload its files."""
        text = f"{note}\n\n{reply.text}" if note else reply.text
        blocks = message_blocks(text, reply.buttons)
        sent = False
        if origin.response_url:
            sent = await self._via_response_url(origin.response_url, text, blocks, reply.ephemeral)
        if not sent:
            await self.dm(origin.user_id, text, blocks)
        if reply.attachments:
            await self.upload(origin, reply)

    async def _via_response_url(self, url: str, text: str, blocks: list[dict[str, Any]],
                                ephemeral: bool) -> bool:
        # A plain JSON POST on the shared session: what slack_sdk's webhook client sends,
        # without a client object, its per-call setup and its retry handlers built per reply
        # (about a twentieth of the bot's CPU per Slack request under load).
        payload = {"text": fallback_text(text), "blocks": blocks, "replace_original": False,
                   "response_type": "ephemeral" if ephemeral else "in_channel"}
        try:
            async with self._http().post(url, json=payload) as response:
                status, body = response.status, await response.text()
        except Exception as exc:  # a dead URL must not lose the reply: the DM is the fallback
            log.warning("response_url failed: %s", exc)
            return False
        if status != 200:
            # response_urls expire after 30 minutes / 5 uses.
            log.info("response_url answered %s %s; replying by DM", status, body[:200])
            return False
        return True

    async def dm(self, user_id: str, text: str, blocks: list[dict[str, Any]]) -> None:
        try:
            await self.client.chat_postMessage(
                channel=user_id, text=fallback_text(text), blocks=blocks, unfurl_links=False
            )
        except SlackApiError as exc:
            log.warning("could not DM %s: %s", user_id, exc.response.get("error"))

    async def upload(self, origin: Origin, reply: Reply) -> None:
        files = [{"content": a.content, "filename": a.filename, "title": a.filename}
                 for a in reply.attachments]
        targets = [] if reply.ephemeral or not origin.channel_id else [origin.channel_id]
        for target in [*targets, ""]:
            try:
                channel = target or await self._dm_channel(origin.user_id)
                await self.client.files_upload_v2(channel=channel, file_uploads=files)
                return
            except SlackApiError as exc:
                log.warning(
                    "file upload to %s failed: %s", target or "the DM", exc.response.get("error")
                )

    async def _dm_channel(self, user_id: str) -> str:
        opened = await self.client.conversations_open(users=user_id)
        return str(opened["channel"]["id"])
