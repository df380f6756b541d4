"""Catalogue forms as Discord modals: ``ui.Label``-wrapped text inputs and selects.

A modal holds at most 5 components, so a longer form is shown page by page; between
pages the learner gets a "Next" button (a modal can't open another modal). Answers are
kept in memory per (guild, user, form) until the last page is submitted; when the core
answers with field errors, the draft is kept and "Fix my answers" reopens only the pages
with errors, with every value still filled in. A restart loses unfinished drafts only.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import discord

from core import catalogue
from core.catalogue import Command, Field, Form, Kind
from core.settings import CommunitySettings
from core.textcommand import missing_required

PAGE_SIZE = 5  # Discord: at most 5 top-level components in a modal
MAX_OPTIONS = 25  # Discord: at most 25 options in a select
DRAFT_TTL = 3600.0  # seconds an unfinished form is remembered
PREFIX = "pmf"


@dataclass
class Draft:
    """One person's answers to one form, while they fill it in."""

    form: Form
    values: dict[str, str]
    submit_command: str
    context: dict[str, str]
    settings: CommunitySettings
    todo: list[int] = field(default_factory=list)  # page numbers still to show
    errors: dict[str, str] = field(default_factory=dict)
    touched: float = 0.0

    @property
    def pages(self) -> list[tuple[Field, ...]]:
        fields = self.form.fields
        return [fields[i:i + PAGE_SIZE] for i in range(0, len(fields), PAGE_SIZE)]


class FormBook:
    """The drafts in progress, by (guild id, user id, form name)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._drafts: dict[tuple[str, str, str], Draft] = {}
        self._clock = clock

    def start(self, guild_id: str, user_id: str, form: Form, values: dict[str, str],
              submit_command: str, context: dict[str, str], settings: CommunitySettings) -> Draft:
        self._expire()
        draft = Draft(form, {k: v for k, v in values.items() if v}, submit_command, dict(context),
                      settings, touched=self._clock())
        draft.todo = list(range(len(draft.pages)))
        self._drafts[(guild_id, user_id, form.name)] = draft
        return draft

    def get(self, guild_id: str, user_id: str, form_name: str) -> Draft | None:
        self._expire()
        draft = self._drafts.get((guild_id, user_id, form_name))
        if draft is not None:
            draft.touched = self._clock()
        return draft

    def drop(self, guild_id: str, user_id: str, form_name: str) -> None:
        self._drafts.pop((guild_id, user_id, form_name), None)

    def _expire(self) -> None:
        cutoff = self._clock() - DRAFT_TTL
        for key in [k for k, d in self._drafts.items() if d.touched < cutoff]:
            del self._drafts[key]


def command_form(cmd: Command, args: dict[str, str]) -> Form | None:
    """A form asking for the required options a button did not carry (e.g. Unpair's reason)."""
    missing = missing_required(cmd, args)
    if not missing:
        return None
    return Form(f"cmd:{cmd.key.replace(' ', '.')}", f"/{cmd.key}", missing)


def catalogue_form(name: str) -> Form | None:
    return catalogue.FORMS.get(name)


def select_options(f: Field, settings: CommunitySettings) -> tuple[str, ...] | None:
    """The choices to offer as a select, or None for a text input (none, or too many)."""
    if f.kind in (Kind.CHOICE, Kind.MULTI):
        options = f.options(settings)
    elif f.kind is Kind.BOOL:
        options = ("yes", "no")
    elif f.kind is Kind.INT and f.min_value is not None and f.max_value is not None:
        options = tuple(str(i) for i in range(f.min_value, f.max_value + 1))
    else:
        return None
    return options if 0 < len(options) <= MAX_OPTIONS else None


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _input(f: Field, settings: CommunitySettings, value: str, error: str) -> discord.ui.Label[Any]:
    options = select_options(f, settings)
    item: discord.ui.Item[Any]
    if options is not None:
        picked = value.split(",") if f.kind is Kind.MULTI else [value]
        chosen = {v.strip().casefold() for v in picked}
        item = discord.ui.Select(
            custom_id=f.name, required=f.required, min_values=1 if f.required else 0,
            max_values=len(options) if f.kind is Kind.MULTI else 1,
            placeholder=_clip(f.placeholder, 150) or None,
            options=[discord.SelectOption(label=_clip(o, 100), value=o[:100],
                                          default=o.casefold() in chosen) for o in options])
    else:
        style = discord.TextStyle.paragraph if f.kind is Kind.PARAGRAPH else discord.TextStyle.short
        item = discord.ui.TextInput(custom_id=f.name, style=style, required=f.required,
                                    max_length=min(f.max_length, 4000), default=value or None,
                                    placeholder=_clip(f.placeholder, 100) or None)
    # The error (when fixing) shows right under the label, where the learner looks.
    note = f"⚠️ {error}" if error else f.description
    return discord.ui.Label(text=_clip(f.label, 45), description=_clip(note, 100) or None,
                            component=item)


def modal(draft: Draft, guild_id: str) -> discord.ui.Modal:
    """The modal for the next page the learner has to see."""
    page = draft.todo[0]
    pages = draft.pages
    title = draft.form.title + (f" ({page + 1}/{len(pages)})" if len(pages) > 1 else "")
    view = discord.ui.Modal(title=_clip(title, 45), timeout=DRAFT_TTL,
                            custom_id=f"{PREFIX}:m:{guild_id}:{page}:{draft.form.name}")
    for f in pages[page]:
        view.add_item(
            _input(f, draft.settings, draft.values.get(f.name, ""), draft.errors.get(f.name, ""))
        )
    return view


def open_button(guild_id: str, form_name: str, label: str) -> discord.ui.Button[Any]:
    """'Next' / 'Fix my answers': opens the draft's next page."""
    return discord.ui.Button(label=label, style=discord.ButtonStyle.primary,
                             custom_id=f"{PREFIX}:o:{guild_id}:{form_name}"[:100])


def parse_id(custom_id: str) -> tuple[str, str, int, str] | None:
    """(op, guild id, page, form name) from a modal or button custom id of this module."""
    if not custom_id.startswith(PREFIX + ":"):
        return None
    parts = custom_id.split(":", 2)
    if len(parts) < 3:
        return None
    op, rest = parts[1], parts[2]
    if op == "m":
        guild, page, name = (rest.split(":", 2) + ["", ""])[:3]
        return (op, guild, int(page), name) if page.isdigit() else None
    if op == "o":
        guild, _, name = rest.partition(":")
        return op, guild, 0, name
    return None


def read_submission(components: list[dict[str, Any]]) -> dict[str, str]:
    """Raw values by custom id from a modal submit payload (labels, rows, inputs, selects)."""
    out: dict[str, str] = {}
    for c in components:
        kind = c.get("type")
        if kind == 1:
            out.update(read_submission(c.get("components", [])))
        elif kind == 18 and "component" in c:
            out.update(read_submission([c["component"]]))
        elif "custom_id" in c:
            out[c["custom_id"]] = (
                ", ".join(c["values"]) if "values" in c else str(c.get("value") or "")
            )
    return out


def absorb(draft: Draft, page: int, submitted: dict[str, str]) -> None:
    """Keep one page's answers; an emptied optional field is forgotten."""
    for f in draft.pages[page] if page < len(draft.pages) else ():
        if f.name in submitted:
            draft.values[f.name] = submitted[f.name].strip()
        draft.errors.pop(f.name, None)
    if page in draft.todo:
        draft.todo.remove(page)


def submit_args(draft: Draft) -> dict[str, str]:
    """What the core receives: the context carried with the form, then every answer."""
    return {**draft.context, **{k: v for k, v in draft.values.items() if v}}


def keep_errors(draft: Draft, errors: dict[str, str]) -> bool:
    """Remember the core's field errors; True if they concern this form (so it can be fixed)."""
    names = {f.name for f in draft.form.fields}
    relevant = {k: v for k, v in errors.items() if k in names}
    if not relevant:
        return False
    draft.errors = relevant
    draft.todo = [i for i, page in enumerate(draft.pages) if any(f.name in relevant for f in page)]
    return True
