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
permanent ones, retry the rest; a 5xx, a timeout or a dropped connection is ``unclear``.

Exactly once (issue 10.1): every message posted carries its outbox key and step in message
metadata (reconcile.py). Each step (``text`` then ``files``; ``space`` then ``intro``;
``text`` then ``archive``) is recorded with the step journal as soon as it is done and
skipped on a retry, so a failed upload never posts the text twice; when the row is unclear,
a step not recorded is first looked for in the conversation's history.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack import reconcile
from adapters.slack.blocks import fallback_text, message_blocks
from adapters.slack.client import delivery_error, transport_error
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
from core.replies import Attachment, Button

log = logging.getLogger(__name__)
GROUP_DM_MAX = 8  # conversations.open takes 1..8 users
CHANNEL_NAME_MAX = 80
CLOSING_TEXT = "This match has ended, so this conversation is closed. Thanks for learning together!"
_NAME_JUNK = re.compile(r"[^a-z0-9_-]+")

DeliveredHook = Callable[[Message], Awaitable[None]]
# An unclear attempt younger than this may still land (Slack can carry out a call after the
# client gave up waiting, 30 s): not finding it yet is no proof, so look again later.
SETTLE_SECONDS = 60.0


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
        self, client: AsyncWebClient, *, on_delivered: DeliveredHook | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        settle_seconds: float = SETTLE_SECONDS,
    ) -> None:
        self.client = client
        self.on_delivered = on_delivered
        self._now = now  # the time the dispatcher stamps attempts with (tests inject theirs)
        self.settle_seconds = settle_seconds
        self._bot_user = ""

    async def deliver(self, message: OutboxMessage,
                      community_external_id: str = "",  # noqa: ARG002 (Deliverer port)
                      *, journal: StepJournal | None = None) -> dict[str, Any]:
        facts: dict[str, Any] = {}
        steps, msg = Steps(message, journal), deliverable(message.message)
        match msg:
            case DirectMessage() as dm:
                await self._dm(dm, steps)
            case OpenSpace() as space:
                facts = await self._space_open(space, steps)
            case SpaceMessage() as post:
                await self._space_message(post, steps)
            case CloseSpace() as close:
                await self._space_close(close, steps)
        if self.on_delivered is not None:
            try:
                await self.on_delivered(msg)
            except Exception:  # a refresh must never undo (and so repeat) a delivery
                log.exception("after-delivery hook failed for outbox row %s", message.id)
        return facts

    async def _call(self, doing: str, method: Callable[..., Awaitable[Any]], **kwargs: Any) -> Any:
        try:
            return await method(**kwargs)
        except SlackApiError as exc:
            raise delivery_error(exc, doing) from exc
        except Exception as exc:
            error = transport_error(exc, doing)
            if error is None:
                raise
            raise error from exc

    # ---- one message: its text, then its files ----------------------------------------
    async def _message(self, channel: str, text: str, buttons: tuple[Button, ...],
                       files: tuple[Attachment, ...], steps: Steps, doing: str, *,
                       step: str = "text") -> None:
        """Post ``text`` (step ``step``, answered "channel/ts") then upload ``files`` (step
        ``files``) in ``channel``, skipping what is done. When reconciling, ``channel``
        must be a conversation id (history is read per conversation, not per user)."""
        answer = steps.get(step)
        if answer is None and steps.reconciling:
            found = reconcile.posted(await self._history(channel), steps.key, step)
            answer = await steps.finish(step, f"{channel}/{found}") if found else None
            if answer is None:
                self._not_too_early(steps, doing)
        if answer is None:
            response = await self._call(
                doing, self.client.chat_postMessage, channel=channel, text=fallback_text(text),
                blocks=message_blocks(text, buttons), unfurl_links=False,
                metadata=reconcile.metadata(steps.key, step))
            answer = await steps.finish(
                step, f"{response.get('channel') or channel}/{response.get('ts')}")
        if files and steps.get("files") is None:
            posted_in, _, ts = answer.partition("/")
            await self._upload(posted_in, ts, files, steps)

    async def _upload(self, channel: str, after_ts: str, files: tuple[Attachment, ...],
                      steps: Steps) -> None:
        if steps.reconciling:
            found = reconcile.uploaded(await self._history(channel), await self._bot(),
                                       [f.filename for f in files], after_ts)
            if found:
                await steps.finish("files", found)
                return
            self._not_too_early(steps, "uploading files")
        response = await self._call(
            "uploading files", self.client.files_upload_v2, channel=channel,
            file_uploads=[{"content": f.content, "filename": f.filename, "title": f.filename}
                          for f in files])
        await steps.finish("files", ",".join(str(f.get("id")) for f in
                                             response.get("files") or []))

    def _not_too_early(self, steps: Steps, doing: str) -> None:
        """Wait (a ``retry_after``, no attempt used, still unclear) rather than send when the
        unclear attempt is so recent that its effect may not show in the history yet."""
        if steps.unclear_since is None:
            return
        age = (self._now() - steps.unclear_since).total_seconds()
        if 0 <= age < self.settle_seconds:
            raise DeliveryError(f"{doing}: an attempt {age:.0f} s ago may still land; "
                                "looking again before sending", unclear=True,
                                retry_after=self.settle_seconds - age)

    async def _history(self, channel: str) -> list[dict[str, Any]]:
        page = await self._call(f"reading the history of {channel}",
                                self.client.conversations_history, channel=channel,
                                limit=reconcile.HISTORY_LIMIT, include_all_metadata=True)
        return list(page.get("messages") or [])

    async def _bot(self) -> str:
        """The bot's own user id (to tell its file shares from others')."""
        if not self._bot_user:
            me = await self._call("asking who the bot is", self.client.auth_test)
            self._bot_user = str(me.get("user_id") or "")
        return self._bot_user

    async def _dm_channel(self, user_id: str) -> str:
        opened = await self._call("opening the DM", self.client.conversations_open,
                                  users=user_id)
        return str(opened["channel"]["id"])

    # ---- kinds ----------------------------------------------------------------------
    async def _dm(self, dm: DirectMessage, steps: Steps) -> None:
        channel = dm.user_id  # chat.postMessage to a user id lands in the app's DM
        if steps.get("text") is None and (steps.reconciling or dm.attachments):
            channel = await self._dm_channel(dm.user_id)  # history and uploads need its id
        await self._message(channel, dm.text, dm.buttons, dm.attachments, steps,
                            f"DM to {dm.user_id}")

    async def _space_open(self, space: OpenSpace, steps: Steps) -> dict[str, Any]:
        # Opening is idempotent by itself (same people, same group DM; a channel is found
        # again by name), so the space step needs no history check.
        space_id = steps.get("space")
        if space_id is None:
            members = list(space.members)
            if space.space_mode == "channel" or len(members) > GROUP_DM_MAX:
                space_id = await self._private_channel(space.name, members)
            else:  # auto, group_dm, and Discord's thread (Slack has none): a group DM
                space_id = await self._dm_channel(",".join(members))
            await steps.finish("space", space_id)
        await self._message(space_id, space.intro, space.buttons, (), steps,
                            "posting the intro", step="intro")
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

    async def _space_message(self, post: SpaceMessage, steps: Steps) -> None:
        if not post.space_id:
            raise DeliveryError("the match's space does not exist yet")
        # Attachments too: e.g. the invite or CANCEL file of a DM that fell back to the space.
        await self._message(post.space_id, post.text, post.buttons, post.attachments, steps,
                            f"posting in {post.space_id}")

    async def _space_close(self, close: CloseSpace, steps: Steps) -> None:
        space_id = close.space_id
        if not space_id:
            return  # the space was never made: nothing to close
        try:
            # Said first, so members of an archived channel (read-only) also see why.
            await self._message(space_id, close.text or CLOSING_TEXT, (), (), steps,
                                f"closing {space_id}")
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
