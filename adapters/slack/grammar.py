"""The ``/peer`` sub-command grammar, generated from the core catalogue.

Slack apps get one slash command per word, so the catalogue's two groups share ``/peer``:
``/peer <sub> [args]`` for learners (group ``peer``) and ``/peer admin <sub> [args]`` for
moderators (group ``peeradmin``). Arguments are positional in the command's option order
(the last free-text option takes the rest of the line, so ``/peer unpair we never met``
works) or ``key:value`` / ``key=value`` anywhere (``match:2``, ``reason:"too busy"``).
User options accept Slack's escaped mentions ``<@U123|name>``. The argument grammar itself
is the core's (core/textcommand.py, shared with the console); this module adds only Slack's
spelling: one ``/peer`` command, ``admin`` for moderators, escaped mentions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from core.catalogue import Command
from core.textcommand import lookup, missing_required, parse_args
from core.textcommand import usage as text_usage

SLASH = "/peer"
ADMIN_WORD = "admin"
HELP = "peer help"
_MENTION = re.compile(r"^<@([A-Z0-9]+)(?:\|[^>]*)?>$")

__all__ = ["ADMIN_WORD", "HELP", "SLASH", "Parsed", "missing_required", "parse", "slash_name",
           "usage", "user_id"]


@dataclass(frozen=True)
class Parsed:
    """A parsed ``/peer`` line: the catalogue command key and its raw arguments.

    ``unknown`` holds what the user typed when it named no command (they get help).
    """

    command: str
    args: dict[str, str] = field(default_factory=dict)
    unknown: str = ""


def slash_name(cmd: Command) -> str:
    """How a catalogue command is typed on Slack, e.g. ``/peer admin queue``."""
    return f"{SLASH} {ADMIN_WORD} {cmd.name}" if cmd.group == "peeradmin" else f"{SLASH} {cmd.name}"


def user_id(raw: str) -> str:
    """``<@U123|name>`` or ``<@U123>`` → ``U123``; anything else unchanged."""
    match = _MENTION.match(raw.strip())
    return match.group(1) if match else raw.strip()


def parse(text: str) -> Parsed:
    """Parse the text of ``/peer <text>``. Empty or unknown sub-commands give help."""
    words = text.strip().split(maxsplit=1)
    if not words:
        return Parsed(HELP)
    head, rest = words[0], (words[1] if len(words) > 1 else "")
    group = "peer"
    if head.casefold() == ADMIN_WORD:
        group = "peeradmin"
        words = rest.split(maxsplit=1)
        if not words:
            return Parsed(HELP)
        head, rest = words[0], (words[1] if len(words) > 1 else "")
        if head.casefold() == "help":
            return Parsed(HELP)
    cmd = lookup(group, head)
    if cmd is None:
        typed = f"{ADMIN_WORD} {head}" if group == "peeradmin" else head
        return Parsed(HELP, unknown=typed)
    return Parsed(cmd.key, parse_args(cmd, rest, user_id))


def usage(cmd: Command) -> str:
    """``/peer unpair <reason> [match]``: the Slack spelling of a command's usage."""
    return text_usage(cmd, slash_name(cmd))
