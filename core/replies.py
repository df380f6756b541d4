"""Typed replies: what the core answers; each adapter renders them its own way.

Text uses a small Markdown subset (``**bold**``, ``*italic*``, ``- `` bullets, `` `code` ``).
Instants are embedded as ``{t:<unix>}`` (full date and time) or ``{t:<unix>:R}`` (relative)
placeholders; Discord renders them as ``<t:unix:F>``, Slack as ``<!date^unix^...|...>``, the
console in the reader's zone. Mentions are ``{u:<platform user id>}``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# The one tokenizer of placeholders; every renderer substitutes through ``substitute``.
# Styles are Discord's letters (t T d D f F R), which Slack and the console map to theirs.
_PLACEHOLDER = re.compile(r"\{t:(-?\d+)(?::([tTdDfFR]))?\}|\{u:([^{}\s]+)\}")


@dataclass(frozen=True)
class TimeRef:
    """``{t:<unix>[:<style>]}``: an instant, shown in each reader's local time."""

    unix: int
    style: str = "F"


@dataclass(frozen=True)
class UserRef:
    """``{u:<platform user id>}``: a mention."""

    user_id: str


Token = str | TimeRef | UserRef


def _token(m: re.Match[str]) -> TimeRef | UserRef:
    if m.group(3) is not None:
        return UserRef(m.group(3))
    return TimeRef(int(m.group(1)), m.group(2) or "F")


def tokens(text: str) -> list[Token]:
    """Text split into plain pieces and placeholders, in order (empty pieces left out)."""
    out: list[Token] = []
    last = 0
    for m in _PLACEHOLDER.finditer(text):
        if m.start() > last:
            out.append(text[last:m.start()])
        out.append(_token(m))
        last = m.end()
    if last < len(text):
        out.append(text[last:])
    return out


def substitute(text: str, time: Callable[[TimeRef], str], user: Callable[[UserRef], str]) -> str:
    """Text with every placeholder replaced by what the renderer makes of it."""
    def one(m: re.Match[str]) -> str:
        token = _token(m)
        return time(token) if isinstance(token, TimeRef) else user(token)

    return _PLACEHOLDER.sub(one, text)


def ts(instant: datetime, style: str = "F") -> str:
    """A time placeholder for an instant (rendered in each reader's local time)."""
    return f"{{t:{int(instant.timestamp())}:{style}}}"


def mention(user_id: str) -> str:
    """A mention placeholder for a platform user id."""
    return f"{{u:{user_id}}}"


@dataclass(frozen=True)
class Button:
    """A button: ``action`` is a catalogue command name, ``args`` its arguments."""

    label: str
    action: str
    args: dict[str, str] = field(default_factory=dict)
    style: str = "secondary"  # primary | secondary | danger


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    mime: str


@dataclass(frozen=True)
class FormRequest:
    """Ask the adapter to open a form (a catalogue form) pre-filled with ``values``."""

    form: str
    values: dict[str, str] = field(default_factory=dict)
    submit_command: str = ""
    context: dict[str, str] = field(default_factory=dict)  # carried back on submit


@dataclass(frozen=True)
class Reply:
    """The answer to one command."""

    text: str
    ephemeral: bool = True
    ok: bool = True
    buttons: tuple[Button, ...] = ()
    attachments: tuple[Attachment, ...] = ()
    form: FormRequest | None = None
    field_errors: dict[str, str] = field(default_factory=dict)  # form field -> message
    data: dict[str, Any] = field(default_factory=dict)  # structured result (e.g. JSON round)


def error(text: str, field_errors: dict[str, str] | None = None) -> Reply:
    """A polite refusal, shown only to the person who asked."""
    return Reply(text=text, ok=False, field_errors=field_errors or {})


def split_lines(text: str, limit: int) -> list[str]:
    """Split text into pieces of at most ``limit`` characters, at line breaks where possible
    (a single longer line is cut hard). Platforms cap message and block sizes."""
    out: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:
            if current:
                out.append(current)
                current = ""
            out.append(line[:limit])
            line = line[limit:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            out.append(current)
            current = line
        else:
            current = candidate
    if current or not out:
        out.append(current)
    return out
