"""Core replies as Discord messages: text, buttons (as stable custom ids) and files.

The core's Markdown subset is Discord's own, so text passes through; only the time and
mention placeholders are converted. Button custom ids encode the command and its args so
a click still works after a restart (the client routes them in ``on_interaction``).
"""

from __future__ import annotations

import hashlib
import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

import discord

from core.replies import Attachment, Button, Reply, UserRef, split_lines, substitute, tokens

log = logging.getLogger(__name__)

MESSAGE_LIMIT = 2000  # Discord's limit on a message's content
MAX_CHUNKS = 5  # a reply longer than this many messages is shortened, not spammed
CUSTOM_ID_LIMIT = 100
BUTTON_PREFIX = "pm"

_STYLES = {"primary": discord.ButtonStyle.primary, "secondary": discord.ButtonStyle.secondary,
           "danger": discord.ButtonStyle.danger, "success": discord.ButtonStyle.success}
# Args too long for a custom id (rare: core buttons carry ids) are kept here instead; such
# a button works until the process restarts.
_LONG_ARGS: dict[str, dict[str, str]] = {}


def to_discord_text(text: str) -> str:
    """Placeholders to Discord markup: ``{t:unix:F}`` -> ``<t:unix:F>``, ``{u:id}`` -> ``<@id>``."""
    return substitute(text, lambda t: f"<t:{t.unix}:{t.style}>",
                      # Discord mentions are snowflakes; another id (console, tests) stays text
                      lambda u: f"<@{u.user_id}>" if u.user_id.isdigit() else u.user_id)


def mentioned(text: str) -> tuple[str, ...]:
    """The member ids the core mentions on purpose (its ``{u:id}`` placeholders); a
    ``<@id>`` typed by a learner is not among them, so it does not ping."""
    ids = (t.user_id for t in tokens(text) if isinstance(t, UserRef))
    return tuple(dict.fromkeys(i for i in ids if i.isdigit()))


def allowed_mentions(user_ids: Sequence[str]) -> discord.AllowedMentions:
    """Ping exactly these members: never @everyone/@here, a role or a replied-to author."""
    return discord.AllowedMentions(everyone=False, roles=False, replied_user=False,
                                   users=[discord.Object(int(u)) for u in user_ids])


def split_text(text: str, limit: int = MESSAGE_LIMIT, max_chunks: int = MAX_CHUNKS) -> list[str]:
    """Split at line breaks into messages of at most ``limit`` characters.

    Lines longer than a message are cut; beyond ``max_chunks`` messages the text is
    shortened with a note rather than flooding the channel.
    """
    chunks = split_lines(text, limit)
    if len(chunks) > max_chunks:
        note = "\n… (shortened: this was too long for Discord)"
        chunks = chunks[:max_chunks]
        chunks[-1] = chunks[-1][: limit - len(note)] + note
    return chunks


def button_id(guild_id: str, action: str, args: dict[str, str]) -> str:
    """``pm:<guild>:<group.name>:<args>``; the guild is there for clicks in DMs."""
    command = action.replace(" ", ".")
    encoded = urlencode(sorted(args.items()))
    custom_id = f"{BUTTON_PREFIX}:{guild_id}:{command}:{encoded}"
    if len(custom_id) <= CUSTOM_ID_LIMIT:
        return custom_id
    digest = hashlib.sha256(custom_id.encode()).hexdigest()[:16]
    _LONG_ARGS[digest] = dict(args)
    log.warning("button args for %s are too long for a custom id; kept in memory", action)
    return f"{BUTTON_PREFIX}:{guild_id}:{command}:#{digest}"


def parse_button_id(custom_id: str) -> tuple[str, str, dict[str, str]] | None:
    """(guild id, command key, args) from a custom id made by ``button_id``; None if foreign."""
    parts = custom_id.split(":", 3)
    if len(parts) != 4 or parts[0] != BUTTON_PREFIX:
        return None
    _, guild_id, command, encoded = parts
    if encoded.startswith("#"):
        args = _LONG_ARGS.get(encoded[1:])
        if args is None:
            return None
    else:
        args = dict(parse_qsl(encoded, keep_blank_values=True))
    return guild_id, command.replace(".", " "), args


def make_view(buttons: Sequence[Button], guild_id: str,
              extra: Sequence[discord.ui.Item[discord.ui.View]] = ()) -> discord.ui.View | None:
    """A view holding the buttons, or None when there are none.

    The view is stopped before it is sent: discord.py then does not keep it in memory, and
    ``on_interaction`` routes the clicks by custom id, which also works after a restart.
    """
    if not buttons and not extra:
        return None
    view = discord.ui.View(timeout=None)
    for b in list(buttons)[: 25 - len(extra)]:  # 5 rows of 5
        view.add_item(discord.ui.Button(label=b.label[:80], custom_id=button_id(guild_id, b.action, b.args),
                                        style=_STYLES.get(b.style, discord.ButtonStyle.secondary)))
    for item in extra:
        view.add_item(item)
    view.stop()
    return view


def to_files(attachments: Sequence[Attachment]) -> list[discord.File]:
    return [discord.File(io.BytesIO(a.content), filename=a.filename) for a in attachments]


@dataclass
class Rendered:
    """A reply ready to send: one or more messages; the view and files go on the last."""

    chunks: list[str]
    ephemeral: bool = True
    buttons: tuple[Button, ...] = ()
    attachments: tuple[Attachment, ...] = ()
    extra: list[discord.ui.Item[discord.ui.View]] = field(default_factory=list)
    mentions: tuple[str, ...] = ()  # member ids this message is meant to ping

    def allowed_mentions(self) -> discord.AllowedMentions:
        return allowed_mentions(self.mentions)

    def view(self, guild_id: str) -> discord.ui.View | None:
        return make_view(self.buttons, guild_id, self.extra)

    def files(self) -> list[discord.File]:
        # Fresh File objects each time: discord.py closes them after sending.
        return to_files(self.attachments)


def render(reply: Reply, extra: Sequence[discord.ui.Item[discord.ui.View]] = ()) -> Rendered:
    """A core reply as Discord messages."""
    text = to_discord_text(reply.text)
    return Rendered(split_text(text), reply.ephemeral, reply.buttons, reply.attachments,
                    list(extra), mentioned(reply.text))


def render_text(text: str, buttons: Sequence[Button] = (),
                attachments: Sequence[Attachment] = ()) -> Rendered:
    """Outbox text (DMs, space messages) as Discord messages."""
    return Rendered(split_text(to_discord_text(text)), False, tuple(buttons), tuple(attachments),
                    mentions=mentioned(text))


async def send_to(channel: discord.abc.Messageable, rendered: Rendered, guild_id: str) -> discord.Message:
    """Post a rendered message in a channel/DM/thread; returns the last message sent."""
    last: discord.Message | None = None
    for i, chunk in enumerate(rendered.chunks):
        final = i == len(rendered.chunks) - 1
        kwargs: dict[str, Any] = {}
        mentions = rendered.allowed_mentions()
        if final:
            view = rendered.view(guild_id)
            if view is not None:
                kwargs["view"] = view
            if rendered.attachments:
                kwargs["files"] = rendered.files()
        # Discord refuses an empty message; a file or buttons alone are fine.
        last = await channel.send(content=chunk or (None if kwargs else "\u200b"),
                                  allowed_mentions=mentions, **kwargs)
    assert last is not None
    return last
