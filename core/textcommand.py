"""The text grammar of commands, for platforms where a command is one line of text
(Slack's ``/peer <sub> ...`` and the console). Generated from the catalogue.

``join study-buddy`` · ``unpair we never met`` · ``pause 2`` · ``schedule when="2026-03-05 18:00"``
· ``join mode=study-group topic=Python availability:"Mon 18:00-20:00"``

Positional words fill the command's options in order; the last text option takes the rest
of the line. ``key=value`` or ``key:value`` (a known option or form field) sets one by name.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from core import catalogue
from core.catalogue import Kind

_TEXTY = (Kind.TEXT, Kind.PARAGRAPH, Kind.WHEN)


@dataclass(frozen=True)
class Parsed:
    key: str  # catalogue key, e.g. "peer unpair"
    args: dict[str, str]


class GrammarError(ValueError):
    """The line is not a command; the message says what would be."""


def _known_names(cmd: catalogue.Command) -> set[str]:
    names = {o.name for o in cmd.options}
    if cmd.key in ("peer join", "peer profile", "peer feedback"):
        for form in catalogue.FORMS.values():
            names.update(f.name for f in form.fields)
    return names


def _split(text: str) -> list[str]:
    try:
        return shlex.split(text)
    except ValueError:  # an unbalanced quote: fall back to plain words rather than failing
        return text.split()


def parse(group: str, text: str) -> Parsed:
    """Parse the text after ``/peer`` (group 'peer') or ``/peeradmin`` (group 'peeradmin')."""
    words = _split(text.strip())
    if not words:
        return Parsed(f"{group} help" if group == "peer" else "peer help", {})
    sub = words[0].lower()
    cmd = catalogue.command(f"{group} {sub}")
    if cmd is None:
        known = ", ".join(c.name for c in catalogue.COMMANDS if c.group == group)
        raise GrammarError(f"I don't know `{sub}`. Commands: {known}.")
    names = _known_names(cmd)
    args: dict[str, str] = {}
    positional: list[str] = []
    for word in words[1:]:
        for sep in ("=", ":"):
            name, found, value = word.partition(sep)
            if found and name.lower() in names:
                args[name.lower()] = value
                break
        else:
            positional.append(word)
    free = [o for o in cmd.options if o.name not in args]
    for i, option in enumerate(free):
        if not positional:
            break
        later = free[i + 1:]
        # A text option swallows the rest of the line unless a later option still needs words.
        takes_rest = option.kind in _TEXTY and not any(o.required or o.kind in _TEXTY for o in later)
        if takes_rest:
            args[option.name] = " ".join(positional)
            positional = []
        else:
            args[option.name] = positional.pop(0)
    if positional:
        raise GrammarError(f"I didn't understand `{' '.join(positional)}` for `{cmd.name}`. "
                           f"Usage: {usage(cmd)}")
    return Parsed(cmd.key, args)


def usage(cmd: catalogue.Command) -> str:
    parts = [f"<{o.name}>" if o.required else f"[{o.name}]" for o in cmd.options]
    return f"`/{cmd.group} {cmd.name}{' ' if parts else ''}{' '.join(parts)}`"
