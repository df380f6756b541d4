"""Block Kit from the catalogue and from core replies: messages, buttons, modals.

Ids are stable across restarts so buttons in old messages keep working:
- a button's ``action_id`` is ``pm:<command key with dots>:<n>`` and its ``value`` the JSON
  ``{"c": command key, "a": args}``;
- a modal's ``callback_id`` is ``pmform:<form name>`` (catalogue forms) or
  ``pmcmd:<command key with dots>`` (a command's options), each input block's ``block_id``
  the catalogue field name (so the core's ``field_errors`` map straight onto it).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from adapters.slack.render import chunks, mrkdwn, plain
from core.catalogue import Field, Kind
from core.replies import Button
from core.settings import CommunitySettings

ACTION_PREFIX = "pm:"
FORM_CALLBACK = "pmform:"
COMMAND_CALLBACK = "pmcmd:"
NOTICE_CALLBACK = "pmnotice"
VALUE_ACTION = "v"  # the action_id of every input element (block_id says which field)
_MAX_OPTIONS = 100  # Slack's limit for static selects
_MAX_MESSAGE_BLOCKS = 50
_META_LIMIT = 3000


def dotted(command_key: str) -> str:
    return command_key.replace(" ", ".")


def undotted(value: str) -> str:
    return value.replace(".", " ")


def _text(value: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": plain(value, limit) or " ", "emoji": True}


# ---- buttons and messages ----------------------------------------------------------------
def button_element(button: Button, index: int) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "button",
        "text": _text(button.label, 75),
        "action_id": f"{ACTION_PREFIX}{dotted(button.action)}:{index}",
        "value": json.dumps({"c": button.action, "a": dict(button.args)}, separators=(",", ":")),
    }
    if button.style in ("primary", "danger"):  # Slack has no 'secondary' style: the default
        element["style"] = button.style
    return element


def decode_button(action: Mapping[str, Any]) -> tuple[str, dict[str, str]]:
    """(command key, args) of a clicked button; the action_id names the command if the
    value is unreadable (e.g. a message edited by hand)."""
    try:
        value = json.loads(action.get("value") or "{}")
        return str(value["c"]), {str(k): str(v) for k, v in dict(value.get("a", {})).items()}
    except (ValueError, KeyError, TypeError):
        parts = str(action.get("action_id", "")).split(":")
        return undotted(parts[1] if len(parts) > 1 else ""), {}


def actions_blocks(buttons: Iterable[Button]) -> list[dict[str, Any]]:
    elements = [button_element(b, i) for i, b in enumerate(buttons)]
    # An actions block holds at most 25 elements.
    return [
        {"type": "actions", "elements": elements[i : i + 25]} for i in range(0, len(elements), 25)
    ]


def text_blocks(text: str) -> list[dict[str, Any]]:
    return [{"type": "section", "text": {"type": "mrkdwn", "text": part}}
            for part in chunks(mrkdwn(text))]


def message_blocks(text: str, buttons: Iterable[Button] = ()) -> list[dict[str, Any]]:
    """A reply as a message: text sections, then its buttons."""
    actions = actions_blocks(buttons)
    sections = text_blocks(text)[: _MAX_MESSAGE_BLOCKS - len(actions)]
    return sections + actions


def fallback_text(text: str) -> str:
    """The ``text`` of a message with blocks: shown in notifications and old clients."""
    return mrkdwn(text)[:3000]


# ---- modals ----------------------------------------------------------------------------
def _option(value: str) -> dict[str, Any]:
    return {"text": _text(value, 75), "value": value[:150]}


def _select(f: Field, options: tuple[str, ...], value: str) -> dict[str, Any]:
    multi = f.kind is Kind.MULTI
    element: dict[str, Any] = {"type": "multi_static_select" if multi else "static_select",
                               "action_id": VALUE_ACTION,
                               "options": [_option(o) for o in options]}
    wanted = [
        v.strip().casefold() for v in (value.replace(";", ",").split(",") if multi else [value])
    ]
    chosen = [_option(o) for o in options if o.casefold() in wanted]
    if chosen:
        element["initial_options" if multi else "initial_option"] = chosen if multi else chosen[0]
    return element


def _number(f: Field, value: str) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "number_input", "action_id": VALUE_ACTION,
                               "is_decimal_allowed": False}
    if f.min_value is not None:
        element["min_value"] = str(f.min_value)
    if f.max_value is not None:
        element["max_value"] = str(f.max_value)
    try:
        number = int(value)
    except ValueError:
        return element
    # Slack rejects an initial value outside the bounds: leave it out instead.
    if (f.min_value is None or number >= f.min_value) and (
        f.max_value is None or number <= f.max_value
    ):
        element["initial_value"] = str(number)
    return element


def element_for(f: Field, value: str, settings: CommunitySettings) -> dict[str, Any]:
    """The Block Kit input element of one catalogue field, pre-filled with ``value``."""
    options = f.options(settings)
    if f.kind in (Kind.CHOICE, Kind.MULTI) and 0 < len(options) <= _MAX_OPTIONS:
        element = _select(f, options, value)
    elif f.kind is Kind.INT:
        element = _number(f, value)
    elif f.kind is Kind.BOOL:
        yes = {"text": _text("Yes", 75), "value": "yes"}
        element = {"type": "checkboxes", "action_id": VALUE_ACTION, "options": [yes]}
        if value.strip().casefold() in ("yes", "y", "true", "1", "on"):
            element["initial_options"] = [yes]
        return element
    elif f.kind is Kind.USER:
        element = {"type": "users_select", "action_id": VALUE_ACTION}
        if value:
            element["initial_user"] = value
    else:  # text, paragraph, time zone, availability, when; big choice lists as text
        limit = min(f.max_length, 3000)
        element = {"type": "plain_text_input", "action_id": VALUE_ACTION, "max_length": limit,
                   "multiline": f.kind is Kind.PARAGRAPH}
        if value:
            element["initial_value"] = value[:limit]
    placeholder = f.placeholder or (
        ", ".join(options[:5]) if options and "options" not in element else ""
    )
    if placeholder:
        element["placeholder"] = _text(placeholder, 150)
    return element


def input_block(f: Field, value: str, settings: CommunitySettings) -> dict[str, Any]:
    block: dict[str, Any] = {
        "type": "input", "block_id": f.name, "label": _text(f.label, 2000),
        "element": element_for(f, value, settings),
        # A yes/no box left unticked sends nothing, so it is always optional.
        "optional": not f.required or f.kind is Kind.BOOL,
    }
    if f.description:
        block["hint"] = _text(f.description, 2000)
    return block


def pack_meta(meta: Mapping[str, Any]) -> str:
    """``private_metadata`` (≤3000 chars): what the submission needs to carry on."""
    packed = json.dumps(dict(meta), separators=(",", ":"))
    if len(packed) > _META_LIMIT:  # a response_url is a convenience; the context is not
        packed = json.dumps({k: v for k, v in meta.items() if k != "ru"}, separators=(",", ":"))
    return packed[:_META_LIMIT]


def unpack_meta(raw: str | None) -> dict[str, Any]:
    try:
        value = json.loads(raw or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def modal(callback_id: str, title: str, fields: Iterable[Field], values: Mapping[str, str],
          settings: CommunitySettings, meta: Mapping[str, Any], intro: str = "") -> dict[str, Any]:
    """A modal asking for ``fields`` (pre-filled from ``values``)."""
    if (
        len(title) > 24 and ": " in title
    ):  # "Join: Accountability partner" → the part that says most
        title = title.split(": ", 1)[1]
    blocks = text_blocks(intro)[:3] if intro else []
    blocks += [input_block(f, str(values.get(f.name, "")), settings) for f in fields]
    return {"type": "modal", "callback_id": callback_id, "title": _text(title, 24),
            "submit": _text("Submit", 24), "close": _text("Cancel", 24),
            "private_metadata": pack_meta(meta), "blocks": blocks[:100]}


def notice_modal(title: str, text: str) -> dict[str, Any]:
    """A modal that only shows text (e.g. a refusal after a submission)."""
    return {"type": "modal", "callback_id": NOTICE_CALLBACK, "title": _text(title, 24),
            "close": _text("Close", 24), "blocks": text_blocks(text)[:100]}


def read_values(view: Mapping[str, Any]) -> dict[str, str]:
    """The submitted inputs of a modal as raw strings by field name."""
    out: dict[str, str] = {}
    state = view.get("state", {}).get("values", {})
    for block_id, actions in state.items():
        item: dict[str, Any] = actions.get(VALUE_ACTION) or next(iter(actions.values()), {})
        kind = item.get("type", "")
        if kind in ("static_select", "radio_buttons", "external_select"):
            out[block_id] = (item.get("selected_option") or {}).get("value", "")
        elif kind == "multi_static_select":
            out[block_id] = ", ".join(o["value"] for o in item.get("selected_options") or [])
        elif kind == "checkboxes":
            out[block_id] = "yes" if item.get("selected_options") else "no"
        elif kind == "users_select":
            out[block_id] = item.get("selected_user") or ""
        else:
            out[block_id] = item.get("value") or ""
    return out


def block_ids(view: Mapping[str, Any]) -> set[str]:
    return {b.get("block_id", "") for b in view.get("blocks", []) if b.get("type") == "input"}
