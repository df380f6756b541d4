"""Typed replies: what the core answers; each adapter renders them its own way.

Text uses a small Markdown subset (``**bold**``, ``*italic*``, ``- `` bullets, `` `code` ``).
Instants are embedded as ``{t:<unix>}`` (full date and time) or ``{t:<unix>:R}`` (relative)
placeholders; Discord renders them as ``<t:unix:F>``, Slack as ``<!date^unix^...|...>``, the
console in the reader's zone. Mentions are ``{u:<platform user id>}``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


def ts(instant: datetime, style: str = "F") -> str:
    """A time placeholder for an instant (rendered in each reader's local time)."""
    return f"{{t:{int(instant.timestamp())}:{style}}}"


def mention(user_id: str) -> str:
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
