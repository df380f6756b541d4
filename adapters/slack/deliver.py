"""Carrying out outbox messages on Slack (the ``Deliverer`` port of core/ports.py).

- ``dm``: ``chat.postMessage`` to the user id (it lands in the app's Messages tab);
  attachments are uploaded into the DM with ``files_upload_v2``.
- ``space_open``: a group DM (``conversations.open``, at most 8 people) by default, or a
  private channel (``conversations.create`` + ``conversations.invite``) when the community
  asks for channels or the group is too big for a group DM. Returns ``{"space_id"}``.
  Idempotent by name: a retry finds the channel it created before (``name_taken``) and
  reuses it; a group DM of the same people is the same conversation anyway.
- ``space_message``: ``chat.postMessage`` in the space.
- ``space_close``: a channel is archived (bots cannot delete channels: ``delete`` archives);
  a group DM cannot be archived, so it gets a closing message instead.

Slack errors become ``DeliveryError`` (see client.py): wait for ``Retry-After``, give up on
permanent ones, retry the rest.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.blocks import fallback_text, message_blocks
from adapters.slack.client import delivery_error
from core.messages import CloseSpace, DirectMessage, Message, OpenSpace, SpaceMessage
from core.model import OutboxMessage
from core.ports import DeliveryError, StepJournal
from core.replies import Attachment, Button

log = logging.getLogger(__name__)
GROUP_DM_MAX = 8  # conversations.open takes 1..8 users
CHANNEL_NAME_MAX = 80
CLOSING_TEXT = "This match has ended, so this conversation is closed. Thanks for learning together!"
_NAME_JUNK = re.compile(r"[^a-z0-9_-]+")

DeliveredHook = Callable[[Message], Awaitable[None]]


def channel_name(slug: str, suffix: int = 0) -> str:
    """A valid Slack channel name: lowercase, ``[a-z0-9_-]``, at most 80 characters."""
    base = _NAME_JUNK.sub("-", slug.casefold()).strip("-") or "peermatch"
    tail = f"-{suffix}" if suffix else ""
    return base[: CHANNEL_NAME_MAX - len(tail)].rstrip("-") + tail


class SlackDeliverer:
    """Delivers outbox rows with the bot's ``AsyncWebClient`` (see client.make_client).

    ``on_delivered`` (optional) runs after a row is delivered, e.g. to refresh the App Home
    of the people it concerned; its failures never fail the delivery.
    """

    def __init__(
        self, client: AsyncWebClient, *, on_delivered: DeliveredHook | None = None
    ) -> None:
        self.client = client
        self.on_delivered = on_delivered

    async def deliver(self, message: OutboxMessage,
                      community_external_id: str = "",  # noqa: ARG002 (Deliverer port)
                      *, journal: StepJournal | None = None,  # noqa: ARG002 (issue 10.1)
                      ) -> dict[str, Any]:
        facts: dict[str, Any] = {}
        match message.message:
            case DirectMessage() as dm:
                await self._dm(dm)
            case OpenSpace() as space:
                facts = await self._space_open(space)
            case SpaceMessage() as post:
                await self._space_message(post)
            case CloseSpace() as close:
                await self._space_close(close)
        if self.on_delivered is not None:
            try:
                await self.on_delivered(message.message)
            except Exception:  # a refresh must never undo (and so repeat) a delivery
                log.exception("after-delivery hook failed for outbox row %s", message.id)
        return facts

    async def _call(self, doing: str, method: Callable[..., Awaitable[Any]], **kwargs: Any) -> Any:
        try:
            return await method(**kwargs)
        except SlackApiError as exc:
            raise delivery_error(exc, doing) from exc

    async def _post(self, channel: str, text: str, buttons: tuple[Button, ...],
                    doing: str) -> str:
        response = await self._call(doing, self.client.chat_postMessage, channel=channel,
                                    text=fallback_text(text), blocks=message_blocks(text, buttons),
                                    unfurl_links=False)
        return str(response.get("channel") or channel)

    # ---- kinds ----------------------------------------------------------------------
    async def _dm(self, dm: DirectMessage) -> None:
        dm_channel = await self._post(dm.user_id, dm.text, dm.buttons, f"DM to {dm.user_id}")
        if dm.attachments:
            if not dm_channel.startswith("D"):
                opened = await self._call("opening the DM", self.client.conversations_open,
                                          users=dm.user_id)
                dm_channel = opened["channel"]["id"]
            await self._upload(dm_channel, dm.attachments)

    async def _upload(self, channel: str, files: tuple[Attachment, ...]) -> None:
        await self._call("uploading files", self.client.files_upload_v2, channel=channel,
                         file_uploads=[{"content": f.content, "filename": f.filename,
                                        "title": f.filename} for f in files])

    async def _space_open(self, space: OpenSpace) -> dict[str, Any]:
        members = list(space.members)
        if space.space_mode == "channel" or len(members) > GROUP_DM_MAX:
            space_id = await self._private_channel(space.name, members)
        else:  # auto, group_dm, and Discord's thread (Slack has none) all mean a group DM
            opened = await self._call("opening the group DM", self.client.conversations_open,
                                      users=",".join(members))
            space_id = opened["channel"]["id"]
        await self._post(space_id, space.intro, space.buttons, "posting the intro")
        return {"space_id": space_id}

    async def _private_channel(self, slug: str, members: list[str]) -> str:
        channel_id = ""
        for suffix in range(0, 20):
            name = channel_name(slug, suffix)
            try:
                created = await self.client.conversations_create(name=name, is_private=True)
                channel_id = created["channel"]["id"]
                break
            except SlackApiError as exc:
                if exc.response.get("error") != "name_taken":
                    raise delivery_error(exc, f"creating #{name}") from exc
            # Ours from an earlier attempt (a crash before the space id was stored)? Reuse it.
            channel_id = await self._own_channel(name)
            if channel_id:
                break
        if not channel_id:
            raise DeliveryError(f"no free channel name for '{slug}'", permanent=True)
        try:
            await self.client.conversations_invite(channel=channel_id, users=",".join(members))
        except SlackApiError as exc:
            if exc.response.get("error") not in ("already_in_channel", "cant_invite_self"):
                raise delivery_error(exc, "inviting the members") from exc
        return channel_id

    async def _own_channel(self, name: str) -> str:
        """The id of an open private channel called ``name`` the bot is in, or ''."""
        cursor = ""
        while True:
            page = await self._call("listing channels", self.client.conversations_list,
                                    types="private_channel", exclude_archived=True, limit=200,
                                    cursor=cursor or None)
            for channel in page.get("channels") or []:
                if channel.get("name") == name:
                    return str(channel["id"])
            cursor = (page.get("response_metadata") or {}).get("next_cursor") or ""
            if not cursor:
                return ""

    async def _space_message(self, post: SpaceMessage) -> None:
        space_id = post.space_id
        if not space_id:
            raise DeliveryError("the match's space does not exist yet")
        await self._post(space_id, post.text, post.buttons, f"posting in {space_id}")
        if post.attachments:  # e.g. the invite of a DM that fell back to the space
            await self._upload(space_id, post.attachments)

    async def _space_close(self, close: CloseSpace) -> None:
        space_id = close.space_id
        if not space_id:
            return  # the space was never made: nothing to close
        text = close.text or CLOSING_TEXT
        try:
            # Said first, so members of an archived channel (read-only) also see why.
            await self._post(space_id, text, (), f"closing {space_id}")
        except DeliveryError as exc:
            if "is_archived" in str(exc):
                return  # closed on an earlier attempt
            raise
        try:
            await self.client.conversations_archive(channel=space_id)
        except SlackApiError as exc:
            # A group DM cannot be archived: the closing message is all it gets.
            if exc.response.get("error") not in ("already_archived", "cant_archive_mpim",
                                                 "method_not_supported_for_channel_type"):
                raise delivery_error(exc, f"archiving {space_id}") from exc
