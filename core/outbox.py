"""Outbox messages: the durable side effects use cases write in their transaction.

Kinds and payloads (every Deliverer handles all of them):

- ``dm``: target = platform user id. payload: ``text``, ``buttons``, ``attachments``,
  ``match_id`` (optional: where to mention the person if their DMs are closed).
- ``space_open``: target = match id. payload: ``match_id``, ``name`` (a slug), ``members``
  (platform user ids), ``intro`` text, ``buttons``, and the community's space settings:
  ``space_mode`` (auto | channel | thread | group_dm; auto = discord channel, slack group DM;
  a mode the platform lacks falls back to its auto), ``space_parent``
  (Discord category id for channels, channel id for threads), ``moderator_roles``. The deliverer returns
  ``{"space_id": ...}``, stored on the match. Must be idempotent by ``name``.
- ``space_message``: target = match id. payload: ``match_id``, ``space_id`` (filled in by the
  dispatcher once the space exists), ``text``, ``buttons``.
- ``space_close``: target = match id. payload: ``match_id``, ``space_id``, ``action``
  (archive | delete), ``text`` (a closing line to post first, where the platform keeps the
  space, e.g. a Slack group DM).

The dispatcher adds ``community_external_id`` (the guild or workspace id) to every payload
it hands a deliverer. Buttons are ``{"label", "action", "args", "style"}``; attachments
``{"filename", "mime", "content_b64"}``. Text uses the placeholders of core/replies.py.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

from core import keys
from core.model import OutboxMessage
from core.replies import Attachment, Button


def buttons_payload(buttons: tuple[Button, ...] | list[Button]) -> list[dict[str, Any]]:
    return [{"label": b.label, "action": b.action, "args": dict(b.args), "style": b.style}
            for b in buttons]


def buttons_from_payload(raw: list[dict[str, Any]] | None) -> tuple[Button, ...]:
    return tuple(Button(b["label"], b["action"], dict(b.get("args", {})), b.get("style", "secondary"))
                 for b in raw or [])


def attachments_payload(files: tuple[Attachment, ...] | list[Attachment]) -> list[dict[str, Any]]:
    return [{"filename": f.filename, "mime": f.mime,
             "content_b64": base64.b64encode(f.content).decode()} for f in files]


def attachments_from_payload(raw: list[dict[str, Any]] | None) -> tuple[Attachment, ...]:
    return tuple(Attachment(a["filename"], base64.b64decode(a["content_b64"]), a["mime"])
                 for a in raw or [])


def dm(community_id: int, user_id: str, text: str, key: str, due_at: datetime, *,
       buttons: tuple[Button, ...] = (), attachments: tuple[Attachment, ...] = (),
       match_id: int | None = None) -> OutboxMessage:
    """A direct message to one person."""
    return OutboxMessage(
        kind="dm", community_id=community_id, target=user_id, due_at=due_at,
        idempotency_key=key,
        payload={"text": text, "buttons": buttons_payload(buttons),
                 "attachments": attachments_payload(attachments), "match_id": match_id},
    )


def space_open(community_id: int, match_id: int, name: str, members: list[str], intro: str,
               due_at: datetime, buttons: tuple[Button, ...] = (), *, space_mode: str = "",
               space_parent: str = "", moderator_roles: tuple[str, ...] = ()) -> OutboxMessage:
    """Create the private space of a match and post its intro."""
    return OutboxMessage(
        kind="space_open", community_id=community_id, target=str(match_id), due_at=due_at,
        idempotency_key=keys.space_open(match_id),
        payload={"match_id": match_id, "name": name, "members": members, "intro": intro,
                 "buttons": buttons_payload(buttons), "space_mode": space_mode,
                 "space_parent": space_parent, "moderator_roles": list(moderator_roles)},
    )


def space_message(community_id: int, match_id: int, text: str, key: str, due_at: datetime,
                  buttons: tuple[Button, ...] = ()) -> OutboxMessage:
    """A message posted in a match's space (once it exists)."""
    return OutboxMessage(
        kind="space_message", community_id=community_id, target=str(match_id), due_at=due_at,
        idempotency_key=key,
        payload={"match_id": match_id, "text": text, "buttons": buttons_payload(buttons),
                 "space_id": ""},
    )


def space_close(community_id: int, match_id: int, space_id: str, action: str,
                due_at: datetime, text: str = "") -> OutboxMessage:
    """Archive or delete a match's space when the match ends."""
    return OutboxMessage(
        kind="space_close", community_id=community_id, target=str(match_id), due_at=due_at,
        idempotency_key=keys.space_close(match_id),
        payload={"match_id": match_id, "space_id": space_id, "action": action, "text": text},
    )
