"""``/peer`` and ``/peeradmin`` as app command groups, generated from the core catalogue.

Nothing here is declared by hand: each catalogue command becomes a sub-command whose
options carry the field's type, description, range, static choices (≤25) or an
autocomplete (community choices such as topics, time zones, long lists). The callbacks
only turn the options back into raw strings for the core, which validates them.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

import discord
from discord import app_commands

from core import catalogue
from core.availability import suggest_timezones
from core.catalogue import Command, Field, Kind
from core.settings import CommunitySettings

Runner = Callable[[discord.Interaction, str, dict[str, str]], Awaitable[None]]
SettingsFor = Callable[[str], Awaitable[CommunitySettings]]

MAX_CHOICES = 25  # Discord's limit on static choices and autocomplete results
GROUP_DESCRIPTIONS = {
    "peer": "PeerMatch: find a study buddy, group, accountability partner or support",
    "peeradmin": "PeerMatch moderator commands",
}


def _clip(text: str, limit: int = 100) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def uses_autocomplete(f: Field) -> bool:
    """Community-specific or long lists can't be static choices: they are autocompleted."""
    if f.kind in (Kind.TIMEZONE, Kind.MULTI):
        return True
    return f.kind is Kind.CHOICE and (bool(f.choices_from) or len(f.choices) > MAX_CHOICES)


def annotation(f: Field) -> Any:
    """The Python annotation discord.py turns into the option's type and limits."""
    if f.kind is Kind.INT:
        if f.min_value is None and f.max_value is None:
            return int
        return app_commands.Range[int, f.min_value, f.max_value]
    if f.kind is Kind.BOOL:
        return bool
    if f.kind is Kind.USER:
        return discord.User
    if f.kind is Kind.CHOICE and f.choices and not uses_autocomplete(f):
        return str  # choices carry their own values
    return app_commands.Range[str, None, min(f.max_length, 6000)]


def to_raw(value: Any) -> str:
    """An option value as the raw string the core validates."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, discord.abc.User):
        return str(value.id)
    return str(value)


Choices = list[app_commands.Choice[str]]


def _autocomplete(f: Field, settings_for: SettingsFor) -> Callable[..., Awaitable[Choices]]:
    """Suggestions for a field: time zones, or the community's/long choice list."""

    async def suggest(interaction: discord.Interaction, current: str) -> Choices:
        if f.kind is Kind.TIMEZONE:
            names = suggest_timezones(current, MAX_CHOICES)
            return [app_commands.Choice(name=n, value=n) for n in names]
        settings = await settings_for(str(interaction.guild_id or ""))
        options = f.options(settings)
        done, _, fragment = current.rpartition(",") if f.kind is Kind.MULTI else ("", "", current)
        prefix = f"{done.strip()}, " if done.strip() else ""
        needle = fragment.strip().casefold()
        hits = [o for o in options if needle in o.casefold()][:MAX_CHOICES]
        return [app_commands.Choice(name=_clip(prefix + o), value=(prefix + o)[:100]) for o in hits]

    return suggest


def build_command(cmd: Command, group: app_commands.Group, run: Runner,
                  settings_for: SettingsFor) -> app_commands.Command[Any, Any, None]:
    """One catalogue command as a sub-command of ``group``."""

    async def callback(interaction: discord.Interaction, **values: Any) -> None:
        args = {name: to_raw(v) for name, v in values.items() if v is not None}
        await run(interaction, cmd.key, args)

    params = [inspect.Parameter("interaction", inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                annotation=discord.Interaction)]
    descriptions: dict[str, str] = {}
    choices: dict[str, list[app_commands.Choice[str]]] = {}
    completers: dict[str, Any] = {}
    for f in cmd.options:
        default = inspect.Parameter.empty if f.required else None
        params.append(inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY,
                                        annotation=annotation(f), default=default))
        descriptions[f.name] = _clip(f.description or f.label)
        if uses_autocomplete(f):
            completers[f.name] = _autocomplete(f, settings_for)
        elif f.kind is Kind.CHOICE and f.choices:
            choices[f.name] = [app_commands.Choice(name=c, value=c) for c in f.choices]
    # discord.py reads the options from the callback's signature: give it the catalogue's.
    callback.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    callback.__name__ = callback.__qualname__ = cmd.name.replace("-", "_")
    func: Any = callback
    if descriptions:
        func = app_commands.describe(**descriptions)(func)
    if choices:
        func = app_commands.choices(**choices)(func)
    if completers:
        func = app_commands.autocomplete(**completers)(func)
    return app_commands.Command(name=cmd.name, description=_clip(cmd.description),
                                callback=func, parent=group)


def build_groups(run: Runner, settings_for: SettingsFor) -> list[app_commands.Group]:
    """The command groups, in catalogue order. ``/peeradmin`` needs Manage Server by default;
    the core still checks the moderator role, so a server that relaxes it lets no one in."""
    groups: dict[str, app_commands.Group] = {}
    for cmd in catalogue.COMMANDS:
        group = groups.get(cmd.group)
        if group is None:
            admin = cmd.group == "peeradmin"
            group = app_commands.Group(
                name=cmd.group, description=GROUP_DESCRIPTIONS.get(cmd.group, "PeerMatch"),
                guild_only=True,  # a command needs a community: a server
                allowed_contexts=app_commands.AppCommandContext(guild=True),
                default_permissions=discord.Permissions(manage_guild=True) if admin else None,
            )
            groups[cmd.group] = group
        group.add_command(build_command(cmd, group, run, settings_for))
    return list(groups.values())
