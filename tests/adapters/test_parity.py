"""Discord and Slack expose the same commands and fields: the catalogue's
(docs/architecture.md, "Layers" and "Testing offline").

- Discord: the command tree the real client syncs (the fake Discord records the PUT of the
  application commands), and every catalogue form as the adapter's paginated modals
  (≤5 components each), read back the way the adapter reads a submission.
- Slack: every catalogue command reachable through ``/peer ...`` / ``/peer admin ...``
  (adapters/slack/grammar.py) with each option settable by name, every command's options
  and every catalogue form as ONE Block Kit modal with one input block per field
  (``block_id`` = field name), read back the way the adapter reads a view_submission.

A spec maps each command (or form) to {field name: required}. A yes/no field is never
required (absent means no, core/textcommand.missing_required), each platform shows it its
own way, so it is compared by name only (``None``).
"""

from __future__ import annotations

import math
from typing import Any

from adapters.discord import forms as discord_forms
from adapters.slack import blocks, grammar
from adapters.slack.answer import Origin
from adapters.slack.app import build_app, flow_of
from core import catalogue
from core.catalogue import Field, Kind
from core.replies import FormRequest
from core.services.context import Services
from core.settings import CommunitySettings
from tests.adapters.discord.conftest import community_settings, discord_settings, running
from tests.adapters.discord.fake_discord import FakeDiscord
from tests.adapters.slack.blockkit import view_problems
from tests.adapters.slack.conftest import make_settings
from tests.adapters.slack.driver import _state as submitted_state
from tests.adapters.slack.fake_slack import FakeSlack
from tests.fakes import FakeClock, InMemoryStorage

Spec = dict[str, dict[str, bool | None]]
DISCORD_BOOLEAN, SLACK_CHECKBOXES = 5, "checkboxes"
GUILD = "1"


def required(f: Field) -> bool | None:
    return None if f.kind is Kind.BOOL else f.required


def catalogue_commands() -> Spec:
    return {c.key: {o.name: required(o) for o in c.options} for c in catalogue.COMMANDS}


def catalogue_forms() -> Spec:
    return {name: {f.name: required(f) for f in form.fields}
            for name, form in catalogue.FORMS.items()}


# ---- Discord ------------------------------------------------------------------------------
async def discord_synced(storage: InMemoryStorage, clock: FakeClock) -> list[dict[str, Any]]:
    """The application commands the real client PUTs to (the fake) Discord at start-up."""
    fake = FakeDiscord()
    await fake.start()
    try:
        async with running(fake, storage, clock, community_settings(fake), discord_settings(fake)):
            [put] = [c for c in fake.calls if c.method == "PUT" and c.path.endswith("/commands")]
            return list(put.json)
    finally:
        await fake.close()


def discord_commands(synced: list[dict[str, Any]]) -> Spec:
    spec: Spec = {}
    for group in synced:
        for sub in group["options"]:
            assert sub["type"] == 1  # a sub-command of /peer or /peeradmin
            spec[f"{group['name']} {sub['name']}"] = {
                o["name"]: None if o["type"] == DISCORD_BOOLEAN else bool(o.get("required"))
                for o in sub.get("options", [])}
    return spec


def discord_form(form: catalogue.Form) -> tuple[dict[str, bool | None], int]:
    """The form's fields over the modal pages the adapter shows in turn, and the page count."""
    draft = discord_forms.FormBook().start(GUILD, "2", form, {}, "peer join", {},
                                           CommunitySettings())
    fields: dict[str, bool | None] = {}
    pages = 0
    while draft.todo:
        modal = discord_forms.modal(draft, GUILD).to_dict()
        _, _, page, name = discord_forms.parse_id(modal["custom_id"]) or ("", "", -1, "")
        assert name == form.name and len(modal["components"]) <= discord_forms.PAGE_SIZE
        for label in modal["components"]:
            inner = label["component"]
            boolean = [o["value"] for o in inner.get("options", [])] == ["yes", "no"]
            fields[inner["custom_id"]] = None if boolean else inner["required"]
        submitted = discord_forms.read_submission(modal["components"])
        assert list(submitted) == [c["component"]["custom_id"] for c in modal["components"]]
        discord_forms.absorb(draft, page, submitted)  # the next page, as the client does
        pages += 1
    return fields, pages


# ---- Slack --------------------------------------------------------------------------------
def slack_typed(cmd: catalogue.Command) -> dict[str, str]:
    """The args of ``/peer [admin] <name> opt:value ...`` with every option set by name."""
    typed = grammar.slash_name(cmd).removeprefix(grammar.SLASH).strip()
    keywords = [f'{o.name}:"v {i}"' for i, o in enumerate(cmd.options)]
    parsed = grammar.parse(" ".join([typed, *keywords]))
    assert (parsed.command, parsed.unknown) == (cmd.key, "")
    return parsed.args


def slack_fields(view: dict[str, Any]) -> dict[str, bool | None]:
    """Input blocks by block_id, checked against what a view_submission reads back."""
    assert view["type"] == "modal" and view_problems(view) == []
    inputs = [b for b in view["blocks"] if b["type"] == "input"]
    assert {b["element"]["action_id"] for b in inputs} <= {blocks.VALUE_ACTION}
    read = blocks.read_values({"state": {"values": submitted_state(view, {})}})
    assert list(read) == [b["block_id"] for b in inputs]
    return {b["block_id"]: None if b["element"]["type"] == SLACK_CHECKBOXES else not b["optional"]
            for b in inputs}


async def slack_views(storage: InMemoryStorage, clock: FakeClock) -> tuple[Spec, Spec]:
    """Every command's options modal and every form modal, as the real app builds them."""
    fake = await FakeSlack().start()
    try:
        app = build_app(Services(storage.uow_factory, clock), make_settings(fake))
        flow, origin = flow_of(app), Origin(fake.team_id, "U1")
        commands = {cmd.key: slack_fields(await flow.command_view(origin, cmd, {}))
                    for cmd in catalogue.COMMANDS if cmd.options}
        forms = {}
        for name in catalogue.FORMS:
            view = await flow.form_view(origin, FormRequest(name, {}, "peer join"), "")
            assert view["callback_id"] == blocks.FORM_CALLBACK + name
            forms[name] = slack_fields(view)
        return commands, forms
    finally:
        await fake.stop()


# ---- the tests ----------------------------------------------------------------------------
async def test_both_platforms_expose_the_catalogue_commands_and_options(
        memory_storage: InMemoryStorage, clock: FakeClock) -> None:
    expected = catalogue_commands()
    discord = discord_commands(await discord_synced(memory_storage, clock))
    slack_modals, _ = await slack_views(memory_storage, clock)
    slack = {c.key: {**{name: None for name in slack_typed(c)}, **slack_modals.get(c.key, {})}
             for c in catalogue.COMMANDS}

    assert set(discord) == set(slack) == set(expected)
    for key, fields in expected.items():
        assert set(discord[key]) == set(slack[key]) == set(fields), key
        assert set(slack_typed(catalogue.COMMANDS_BY_KEY[key])) == set(fields), key
    assert discord == slack == expected  # names and required-ness


async def test_moderator_commands_are_the_same_on_both(memory_storage: InMemoryStorage,
                                                       clock: FakeClock) -> None:
    synced = await discord_synced(memory_storage, clock)
    on_discord = {f"{g['name']} {s['name']}" for g in synced if g["name"] == "peeradmin"
                  for s in g["options"]}
    on_slack = {c.key for c in catalogue.COMMANDS
                if grammar.slash_name(c).startswith("/peer admin ")}
    assert on_discord == on_slack == {c.key for c in catalogue.COMMANDS if c.moderator}
    [admin] = [g for g in synced if g["name"] == "peeradmin"]
    assert int(admin["default_member_permissions"]) == 1 << 5  # Manage Server


async def test_both_platforms_render_every_form_with_the_same_fields(
        memory_storage: InMemoryStorage, clock: FakeClock) -> None:
    _, slack = await slack_views(memory_storage, clock)
    discord: Spec = {}
    for name, form in catalogue.FORMS.items():
        discord[name], pages = discord_form(form)
        assert pages == math.ceil(len(form.fields) / discord_forms.PAGE_SIZE), name
        # Same order too: page after page on Discord, top to bottom in the one Slack modal.
        assert list(discord[name]) == list(slack[name]) == [f.name for f in form.fields], name
    assert discord == slack == catalogue_forms()
