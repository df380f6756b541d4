"""Outbox messages: the durable side effects use cases write in their transaction.

Each message is a frozen dataclass that owns its idempotency key (core/keys.py) and its
stored form: ``kind`` (a column), ``target`` (a column) and ``to_payload()`` (a JSON column).
The stored kinds and payload keys are the ones written since the first release, so rows
written before still load (``from_row``):

- ``dm`` (:class:`DirectMessage`): target = platform user id. payload: ``text``,
  ``buttons``, ``attachments``, ``match_id`` (optional: where to mention the person if their
  DMs are closed), ``expires_at`` (optional ISO instant: no longer worth sending after).
- ``space_open`` (:class:`OpenSpace`): target = match id. payload: ``match_id``, ``name``
  (a slug), ``members`` (platform user ids), ``intro``, ``buttons``, and the community's
  space settings: ``space_mode`` (auto | channel | thread | group_dm; auto = Discord
  channel, Slack group DM; a mode the platform lacks falls back to its auto),
  ``space_parent`` (Discord category id for channels, channel id for threads),
  ``moderator_roles``. Delivering it returns ``{"space_id": ...}``, stored on the match;
  it must be idempotent by ``name``.
- ``space_message`` (:class:`SpaceMessage`): target = match id. payload: ``match_id``,
  ``space_id`` (filled in by the dispatcher once the space exists), ``text``, ``buttons``,
  ``attachments`` (only when there are some: a DM that fell back to the space keeps them).
- ``space_close`` (:class:`CloseSpace`): target = match id. payload: ``match_id``,
  ``space_id``, ``action`` (archive | delete), ``text`` (a closing line to post first,
  where the platform keeps the space, e.g. a Slack group DM).

- ``match_made`` (:class:`AnnounceMatch`): target = match id. payload: ``match_id``. Not
  delivered to a platform: the dispatcher expands it, in one transaction, into the match's
  intro DMs, space, check-ins and nudges (core/services/announce.py), and marks it sent.

Buttons are stored as ``{"label", "action", "args", "style"}``; attachments as
``{"filename", "mime", "content_b64"}``. Text uses the placeholders of core/replies.py.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

from core import keys
from core.replies import Attachment, Button


def buttons_payload(buttons: tuple[Button, ...]) -> list[dict[str, Any]]:
    """Buttons as stored in a payload."""
    return [{"label": b.label, "action": b.action, "args": dict(b.args), "style": b.style}
            for b in buttons]


def buttons_from_payload(raw: list[dict[str, Any]] | None) -> tuple[Button, ...]:
    """Buttons from a stored payload."""
    return tuple(Button(b["label"], b["action"], dict(b.get("args", {})),
                        b.get("style", "secondary")) for b in raw or [])


def attachments_payload(files: tuple[Attachment, ...]) -> list[dict[str, Any]]:
    """Files as stored in a payload (base64: the payload is JSON)."""
    return [{"filename": f.filename, "mime": f.mime,
             "content_b64": base64.b64encode(f.content).decode()} for f in files]


def attachments_from_payload(raw: list[dict[str, Any]] | None) -> tuple[Attachment, ...]:
    """Files from a stored payload."""
    return tuple(Attachment(a["filename"], base64.b64decode(a["content_b64"]), a["mime"])
                 for a in raw or [])


def _instant(raw: Any) -> datetime | None:
    """An ISO instant from a payload; a malformed value (a row edited by hand) is None, so
    the message never expires rather than never being sent."""
    if not raw:
        return None
    try:
        when = datetime.fromisoformat(str(raw))
    except ValueError:
        return None
    # Written by hand without a zone: the core's instants are UTC.
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


@dataclass(frozen=True)
class DirectMessage:
    """A direct message to one person."""

    kind: ClassVar[str] = "dm"
    user_id: str
    text: str
    key: str
    buttons: tuple[Button, ...] = ()
    attachments: tuple[Attachment, ...] = ()
    match_id: int | None = None  # the space to fall back to when DMs are closed
    expires_at: datetime | None = None

    @property
    def target(self) -> str:
        return self.user_id

    def to_payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "text": self.text, "buttons": buttons_payload(self.buttons),
            "attachments": attachments_payload(self.attachments), "match_id": self.match_id}
        if self.expires_at is not None:
            payload["expires_at"] = self.expires_at.isoformat()
        return payload

    @classmethod
    def from_payload(cls, target: str, key: str, p: dict[str, Any]) -> DirectMessage:
        mid = p.get("match_id")
        return cls(target, str(p.get("text", "")), key, buttons_from_payload(p.get("buttons")),
                   attachments_from_payload(p.get("attachments")),
                   int(mid) if mid is not None else None, _instant(p.get("expires_at")))


@dataclass(frozen=True)
class OpenSpace:
    """Create the private space of a match and post its intro."""

    kind: ClassVar[str] = "space_open"
    match_id: int
    name: str
    members: tuple[str, ...]
    intro: str
    buttons: tuple[Button, ...] = ()
    space_mode: str = ""
    space_parent: str = ""
    moderator_roles: tuple[str, ...] = ()
    voice: bool = False  # Discord: a private voice channel beside it (``voice_channel``)

    @property
    def target(self) -> str:
        return str(self.match_id)

    @property
    def key(self) -> str:
        return keys.space_open(self.match_id)

    def to_payload(self) -> dict[str, Any]:
        return {"match_id": self.match_id, "name": self.name, "members": list(self.members),
                "intro": self.intro, "buttons": buttons_payload(self.buttons),
                "space_mode": self.space_mode, "space_parent": self.space_parent,
                "moderator_roles": list(self.moderator_roles),
                **({"voice": True} if self.voice else {})}  # old rows: no key, no voice

    @classmethod
    def from_payload(cls, target: str, key: str,  # noqa: ARG003 (one signature for all)
                     p: dict[str, Any]) -> OpenSpace:
        return cls(int(p.get("match_id", target)), str(p.get("name", "")),
                   tuple(str(m) for m in p.get("members", [])), str(p.get("intro", "")),
                   buttons_from_payload(p.get("buttons")), str(p.get("space_mode") or ""),
                   str(p.get("space_parent") or ""),
                   tuple(str(r) for r in p.get("moderator_roles", [])), bool(p.get("voice")))


@dataclass(frozen=True)
class SpaceMessage:
    """A message posted in a match's space (once it exists)."""

    kind: ClassVar[str] = "space_message"
    match_id: int
    text: str
    key: str
    buttons: tuple[Button, ...] = ()
    attachments: tuple[Attachment, ...] = ()
    space_id: str = ""  # filled in by the dispatcher once the space exists

    @property
    def target(self) -> str:
        return str(self.match_id)

    def to_payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {"match_id": self.match_id, "text": self.text,
                                   "buttons": buttons_payload(self.buttons),
                                   "space_id": self.space_id}
        if self.attachments:  # rows without files keep the payload they always had
            payload["attachments"] = attachments_payload(self.attachments)
        return payload

    @classmethod
    def from_payload(cls, target: str, key: str, p: dict[str, Any]) -> SpaceMessage:
        return cls(int(p.get("match_id", target)), str(p.get("text", "")), key,
                   buttons_from_payload(p.get("buttons")),
                   attachments_from_payload(p.get("attachments")), str(p.get("space_id") or ""))


@dataclass(frozen=True)
class CloseSpace:
    """Archive or delete a match's space when the match ends."""

    kind: ClassVar[str] = "space_close"
    match_id: int
    space_id: str
    action: str  # archive | delete
    text: str = ""  # said first where the platform keeps the space
    voice: bool = False  # Discord: also remove the match's voice channel

    @property
    def target(self) -> str:
        return str(self.match_id)

    @property
    def key(self) -> str:
        return keys.space_close(self.match_id)

    def to_payload(self) -> dict[str, Any]:
        return {"match_id": self.match_id, "space_id": self.space_id, "action": self.action,
                "text": self.text, **({"voice": True} if self.voice else {})}

    @classmethod
    def from_payload(cls, target: str, key: str,  # noqa: ARG003 (one signature for all)
                     p: dict[str, Any]) -> CloseSpace:
        return cls(int(p.get("match_id", target)), str(p.get("space_id") or ""),
                   str(p.get("action") or "archive"), str(p.get("text") or ""),
                   bool(p.get("voice")))


@dataclass(frozen=True)
class AnnounceMatch:
    """A new match, to be announced: the one row a round (or a pairing) stores per match.
    The dispatcher turns it into the match's real messages (core/services/announce.py);
    no deliverer ever sees it (``claim_due`` leaves it out)."""

    kind: ClassVar[str] = "match_made"
    match_id: int

    @property
    def target(self) -> str:
        return str(self.match_id)

    @property
    def key(self) -> str:
        return keys.match_made(self.match_id)

    def to_payload(self) -> dict[str, Any]:
        return {"match_id": self.match_id}

    @classmethod
    def from_payload(cls, target: str, key: str,  # noqa: ARG003 (one signature for all)
                     p: dict[str, Any]) -> AnnounceMatch:
        return cls(int(p.get("match_id", target)))


Message = DirectMessage | OpenSpace | SpaceMessage | CloseSpace
"""Every side effect a deliverer carries out; deliverers ``match`` on it once."""

Stored = Message | AnnounceMatch
"""Every message an outbox row holds."""



def deliverable(message: Stored) -> Message:
    """The message as a deliverer sees it. ``claim_due`` never hands out an
    ``AnnounceMatch`` (the dispatcher expands it itself), so meeting one here is a bug."""
    if isinstance(message, AnnounceMatch):
        raise TypeError(f"{message.key} is expanded by the dispatcher, never delivered")
    return message


_BY_KIND: dict[str, type[Stored]] = {
    cls.kind: cls for cls in (DirectMessage, OpenSpace, SpaceMessage, CloseSpace, AnnounceMatch)}


def from_row(kind: str, target: str, key: str, payload: dict[str, Any]) -> Stored:
    """The message a stored row holds (``kind``, ``target``, ``idempotency_key``,
    ``payload``). An unknown kind is a ValueError: a newer bot wrote it."""
    cls = _BY_KIND.get(kind)
    if cls is None:
        raise ValueError(f"unknown outbox kind {kind!r}")
    return cls.from_payload(target, key, payload)
