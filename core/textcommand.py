"""The text grammar of commands, for platforms where a command is one line of text
(Slack's ``/peer <sub> ...`` and the console). Generated from the catalogue.

``join study-buddy`` · ``unpair we never met`` · ``pause 2`` · ``schedule 2026-03-05 18:00``
· ``join mode=study-group topic=Python availability:"Mon 18:00-20:00"``

Positional words fill the command's options in order; the last free-text option takes the
rest of the line (keeping the writer's own spacing). ``key=value`` or ``key:value`` (a known
option, or a form field of a command that opens a form) sets one by name; ``"quoted values"``
may hold spaces. Nothing is validated here: the core validates the raw strings.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from core import catalogue
from core.catalogue import Command, Field, Kind

# Kinds whose values may contain spaces: the last of them takes the rest of the line.
_GREEDY = (Kind.TEXT, Kind.PARAGRAPH)
# A ``when`` is one word (a suggested time's number) or a date and a time: two words, so
# ``schedule 2026-12-12 13:00 19`` leaves ``19`` for the next option (the match).
_DATE = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}$")
_KEYWORD = re.compile(r"^([A-Za-z][\w-]*)[:=](.*)$", re.S)
_FORM_COMMANDS = ("peer join", "peer profile", "peer feedback")


@dataclass(frozen=True)
class Parsed:
    key: str  # catalogue key, e.g. "peer unpair"
    args: dict[str, str]


class GrammarError(ValueError):
    """The line names no command; the message says which exist."""


def lookup(group: str, word: str) -> Command | None:
    """The command of ``group`` typed as ``word`` (any case; ``_`` for ``-`` is fine)."""
    return catalogue.command(f"{group} {word.casefold().replace('_', '-')}")


def _keyword_names(cmd: Command) -> dict[str, str]:
    """Names accepted as ``key=value`` (casefolded, ``-`` as ``_``) -> field name."""
    names = {o.name.casefold(): o.name for o in cmd.options}
    if cmd.key in _FORM_COMMANDS:
        for form in catalogue.FORMS.values():
            names.update({f.name.casefold(): f.name for f in form.fields})
    return names


def _tokens(text: str) -> list[tuple[str, int]]:
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


def _fill(cmd: Command, args: dict[str, str], positional: list[tuple[str, int]],
          tokens: list[tuple[str, int]], text: str) -> None:
    """Positional words into the options not named by keyword, in order."""
    free = [o for o in cmd.options if o.name not in args]
    greedy = next((o for o in reversed(free) if o.kind in _GREEDY), None)
    for opt in free:
        if not positional:
            break
        if opt is greedy:
            # Keep the writer's own spacing and line breaks when no keyword follows the text.
            if tokens[-len(positional):] == positional:
                args[opt.name] = text[positional[0][1]:].strip()
            else:
                args[opt.name] = " ".join(w for w, _ in positional)
            positional = []
            break
        if opt.kind is Kind.WHEN and len(positional) > 1 and _DATE.match(positional[0][0]):
            args[opt.name] = f"{positional.pop(0)[0]} {positional.pop(0)[0]}"
            continue
        args[opt.name] = positional.pop(0)[0]
    if positional and cmd.options:
        # More words than options: keep them on the last option so nothing is silently lost
        # (the core then refuses politely, e.g. "'3 4' is not a whole number").
        last = cmd.options[-1].name
        args[last] = " ".join(filter(None, [args.get(last, ""), *(w for w, _ in positional)]))


def parse_args(cmd: Command, text: str, user: Callable[[str], str] | None = None) -> dict[str, str]:
    """Raw arguments of ``cmd`` from the text after its name. ``user`` turns a platform's
    mention syntax into a user id (Slack's ``<@U123|name>``)."""
    tokens = _tokens(text)
    names = _keyword_names(cmd)
    flags = {o.name.casefold(): o.name for o in cmd.options if o.kind is Kind.BOOL}
    args: dict[str, str] = {}
    positional: list[tuple[str, int]] = []
    i = 0
    while i < len(tokens):
        word, start = tokens[i]
        kw = _KEYWORD.match(word)
        name = names.get(kw.group(1).casefold().replace("-", "_")) if kw else None
        if kw and name is not None:
            args[name], i = _keyword_value(tokens, i, kw.group(2))
            continue
        flag = flags.get(word.casefold().replace("-", "_"))
        if flag is not None and flag not in args:  # `match-now dry_run`: the flag's name = yes
            args[flag] = "yes"
        else:
            positional.append((word, start))
        i += 1
    _fill(cmd, args, positional, tokens, text)
    if user is not None:
        for opt in cmd.options:
            if opt.kind is Kind.USER and opt.name in args:
                args[opt.name] = user(args[opt.name])
    return args


def parse(group: str, text: str, user: Callable[[str], str] | None = None) -> Parsed:
    """Parse the text after ``/peer`` (group 'peer') or ``/peeradmin`` (group 'peeradmin')."""
    words = text.strip().split(maxsplit=1)
    if not words:
        return Parsed("peer help", {})
    cmd = lookup(group, words[0])
    if cmd is None:
        known = ", ".join(c.name for c in catalogue.COMMANDS if c.group == group)
        raise GrammarError(f"I don't know `{words[0]}`. Commands: {known}.")
    return Parsed(cmd.key, parse_args(cmd, words[1] if len(words) > 1 else "", user))


def missing_required(cmd: Command, args: Mapping[str, str]) -> tuple[Field, ...]:
    """Required options not given (a yes/no option is never required: absent means no)."""
    return tuple(
        o
        for o in cmd.options
        if o.required and o.kind is not Kind.BOOL and not str(args.get(o.name, "")).strip()
    )


def usage(cmd: Command, slash: str = "") -> str:
    """``/peer unpair <reason> [match]``; ``slash`` is how the platform spells the command."""
    parts = [f"<{o.name}>" if o.required else f"[{o.name}]" for o in cmd.options]
    return " ".join([slash or f"/{cmd.group} {cmd.name}", *parts])
