"""The ``/peer`` sub-command grammar, generated from the core catalogue.

Slack apps get one slash command per word, so the catalogue's two groups share ``/peer``:
``/peer <sub> [args]`` for learners (group ``peer``) and ``/peer admin <sub> [args]`` for
moderators (group ``peeradmin``). Arguments are positional in the command's option order
(the last free-text option takes the rest of the line, so ``/peer unpair we never met``
works) or ``key:value`` / ``key=value`` anywhere (``match:2``, ``reason:"too busy"``).
User options accept Slack's escaped mentions ``<@U123|name>``. Nothing is validated here:
the core validates the raw strings and answers politely.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from core import catalogue
from core.catalogue import Command, Field, Kind

SLASH = "/peer"
ADMIN_WORD = "admin"
HELP = "peer help"
# Kinds whose values may contain spaces: the last of them takes the rest of the line.
_GREEDY = (Kind.TEXT, Kind.PARAGRAPH, Kind.WHEN)
_MENTION = re.compile(r"^<@([A-Z0-9]+)(?:\|[^>]*)?>$")
_KEYWORD = re.compile(r"^([A-Za-z][\w-]*)[:=](.*)$", re.S)


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


def _lookup(group: str, word: str) -> Command | None:
    name = word.casefold().replace("_", "-")
    return catalogue.command(f"{group} {name}")


def user_id(raw: str) -> str:
    """``<@U123|name>`` or ``<@U123>`` → ``U123``; anything else unchanged."""
    match = _MENTION.match(raw.strip())
    return match.group(1) if match else raw.strip()


def _option(cmd: Command, key: str) -> Field | None:
    wanted = key.casefold().replace("-", "_")
    return next((o for o in cmd.options if o.name.casefold() == wanted), None)


def _split(text: str) -> list[tuple[str, int]]:
    """Whitespace tokens with their start offsets (kept to preserve the rest of a line)."""
    return [(m.group(0), m.start()) for m in re.finditer(r"\S+", text)]


def _keyword_value(tokens: list[tuple[str, int]], i: int, first: str) -> tuple[str, int]:
    """A keyword's value; ``"quoted values"`` may span tokens. Returns (value, next index)."""
    if not first.startswith('"'):
        return first, i + 1
    parts = [first[1:]]
    j = i + 1
    while not parts[-1].endswith('"') and j < len(tokens):
        parts.append(tokens[j][0])
        j += 1
    return " ".join(parts).removesuffix('"'), j


def parse_args(cmd: Command, text: str) -> dict[str, str]:
    """Raw arguments of ``cmd`` from the text after its name."""
    tokens = _split(text)
    args: dict[str, str] = {}
    positional: list[tuple[str, int]] = []
    i = 0
    while i < len(tokens):
        word, start = tokens[i]
        kw = _KEYWORD.match(word)
        opt = _option(cmd, kw.group(1)) if kw else None
        if kw and opt is not None:
            value, i = _keyword_value(tokens, i, kw.group(2))
            args[opt.name] = value
            continue
        positional.append((word, start))
        i += 1
    free = [o for o in cmd.options if o.name not in args]
    greedy = next((o for o in reversed(free) if o.kind in _GREEDY), None)
    for opt in free:
        if not positional:
            break
        if opt is greedy:
            # Keep the user's own spacing and line breaks when no keyword follows the text.
            if _all_after(positional, tokens):
                args[opt.name] = text[positional[0][1]:].strip()
            else:
                args[opt.name] = " ".join(w for w, _ in positional)
            positional = []
            break
        args[opt.name] = positional.pop(0)[0]
    if positional:
        # More words than options: keep them on the last option so nothing is silently lost
        # (the core then refuses politely, e.g. "'3 4' is not a whole number").
        last = cmd.options[-1].name if cmd.options else ""
        if last:
            args[last] = " ".join(filter(None, [args.get(last, ""), *(w for w, _ in positional)]))
    for opt in cmd.options:
        if opt.kind is Kind.USER and opt.name in args:
            args[opt.name] = user_id(args[opt.name])
    return args


def _all_after(positional: list[tuple[str, int]], tokens: list[tuple[str, int]]) -> bool:
    """True when the remaining positional words are the last tokens of the line."""
    return tokens[-len(positional):] == positional


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
    cmd = _lookup(group, head)
    if cmd is None:
        typed = f"{ADMIN_WORD} {head}" if group == "peeradmin" else head
        return Parsed(HELP, unknown=typed)
    return Parsed(cmd.key, parse_args(cmd, rest))


def missing_required(cmd: Command, args: Mapping[str, str]) -> tuple[Field, ...]:
    """Required options not given (a yes/no option is never required: absent means no)."""
    return tuple(o for o in cmd.options
                 if o.required and o.kind is not Kind.BOOL and not str(args.get(o.name, "")).strip())


def usage(cmd: Command) -> str:
    """``/peer unpair <reason> [match]``: the Slack spelling of a command's usage."""
    parts = [f"<{o.name}>" if o.required else f"[{o.name}]" for o in cmd.options]
    return " ".join([slash_name(cmd), *parts])
