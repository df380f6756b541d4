"""Is a parsed Slack payload well formed enough to hand to the Bolt app?

Slack's payloads are signed, but a signature only proves who sent the bytes, not that they
have the fields our listeners read. A slash command without ``user_id`` used to run as user
"None" in community ""; a ``state.values`` that is a list crashed the submission listener.
``problem`` looks at the fields the listeners (app.py, flow.py, blocks.py) and Bolt's own
request parsing rely on and names the first one that is missing or of the wrong type. It
returns ``None`` for a payload the app may dispatch. Pure: no I/O, no logging.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from adapters.slack import grammar

# Slack ids are upper-case letters and digits (U123, W0A1, T0..., C0..., D0..., E0...).
_ID = re.compile(r"[A-Z0-9]{1,40}")
_TEXT_LIMIT = 4000  # Slack caps slash command text well below this


def _is_id(value: Any) -> bool:
    return isinstance(value, str) and _ID.fullmatch(value) is not None


def _optional_str(body: Mapping[str, Any], *names: str) -> str | None:
    for name in names:
        if name in body and body[name] is not None and not isinstance(body[name], str):
            return f"{name} is not text"
    return None


def _id_of(body: Mapping[str, Any], name: str) -> str | None:
    """``body[name]["id"]`` must be a Slack id."""
    value = body.get(name)
    if not isinstance(value, Mapping) or not _is_id(value.get("id")):
        return f"{name}.id missing or malformed"
    return None


def _slash(body: Mapping[str, Any]) -> str | None:
    if body.get("command") != grammar.SLASH:
        return "unknown slash command"
    for name in ("team_id", "user_id", "channel_id"):
        if not _is_id(body.get(name)):
            return f"{name} missing or malformed"
    if len(str(body.get("text") or "")) > _TEXT_LIMIT:
        return "text too long"
    return _optional_str(body, "user_name", "response_url", "trigger_id", "enterprise_id")


def _block_actions(body: Mapping[str, Any]) -> str | None:
    for name in ("user", "team"):
        if found := _id_of(body, name):
            return found
    actions = body.get("actions")
    if not isinstance(actions, list) or not actions:
        return "actions missing"
    for action in actions:
        if not isinstance(action, Mapping) or not isinstance(action.get("action_id"), str):
            return "action without action_id"
        if found := _optional_str(action, "value", "block_id"):
            return found
    if "channel" in body and body["channel"] is not None and _id_of(body, "channel"):
        return "channel.id malformed"
    return _optional_str(body, "response_url", "trigger_id")


def _state_values(view: Mapping[str, Any]) -> str | None:
    state = view.get("state", {})
    values = state.get("values", {}) if isinstance(state, Mapping) else None
    if not isinstance(values, Mapping):
        return "view.state.values malformed"
    for actions in values.values():
        if not isinstance(actions, Mapping) or not all(isinstance(a, Mapping)
                                                        for a in actions.values()):
            return "view.state.values malformed"
        for item in actions.values():
            selected = item.get("selected_options")
            if selected is not None and not (isinstance(selected, list) and all(
                    isinstance(o, Mapping) and isinstance(o.get("value"), str) for o in selected)):
                return "selected_options malformed"
            option = item.get("selected_option")
            if option is not None and not (isinstance(option, Mapping)
                                           and isinstance(option.get("value", ""), str)):
                return "selected_option malformed"
            if found := _optional_str(item, "type", "value", "selected_user"):
                return found
    return None


def _view_submission(body: Mapping[str, Any]) -> str | None:
    for name in ("user", "team"):
        if found := _id_of(body, name):
            return found
    view = body.get("view")
    if not isinstance(view, Mapping) or not isinstance(view.get("callback_id"), str):
        return "view.callback_id missing"
    if not isinstance(view.get("type"), str):  # Bolt reads it (workflow steps)
        return "view.type missing"
    blocks = view.get("blocks", [])
    if not isinstance(blocks, list) or not all(isinstance(b, Mapping) for b in blocks):
        return "view.blocks malformed"
    for block in blocks:
        label = block.get("label")
        if label is not None and not isinstance(label, Mapping):
            return "view.blocks label malformed"
        if found := _optional_str(block, "block_id", "type"):
            return found
    return (_optional_str(view, "private_metadata") or _metadata(view.get("private_metadata"))
            or _state_values(view) or _optional_str(body, "trigger_id"))


def _metadata(raw: str | None) -> str | None:
    """Our own ``private_metadata`` (blocks.pack_meta), echoed back by Slack: its context
    must still be a mapping of text."""
    try:
        meta = json.loads(raw or "{}")
    except RecursionError:
        return "private_metadata malformed"
    except ValueError:
        return None  # unreadable metadata is read as none (blocks.unpack_meta)
    context = meta.get("x") if isinstance(meta, dict) else None
    if context is not None and not isinstance(context, Mapping):
        return "private_metadata malformed"
    return None


def _event_callback(body: Mapping[str, Any]) -> str | None:
    if not _is_id(body.get("team_id")):
        return "team_id missing or malformed"
    event = body.get("event")
    if not isinstance(event, Mapping) or not isinstance(event.get("type"), str):
        return "event.type missing"
    if event["type"] == "app_home_opened" and not _is_id(event.get("user")):
        return "event.user missing or malformed"
    return _optional_str(event, "tab")


def _bolt_context(body: Mapping[str, Any]) -> str | None:
    """Fields Bolt itself reads while building a request's context (request/internals.py)."""
    authorizations = body.get("authorizations")
    if authorizations is not None and not (isinstance(authorizations, list) and all(
            isinstance(a, Mapping) for a in authorizations)):
        return "authorizations malformed"
    for name in ("enterprise", "team", "user", "channel", "container", "event"):
        value = body.get(name)
        if value is not None and not isinstance(value, (str, Mapping)):
            return f"{name} malformed"
    return None


_BY_TYPE = {"block_actions": _block_actions, "view_submission": _view_submission,
            "event_callback": _event_callback}


def problem(body: Any) -> str | None:
    """What is wrong with a parsed payload (a short phrase without its content), or None."""
    if not isinstance(body, Mapping):
        return "not an object"
    if body.get("ssl_check") is not None:  # Slack's certificate probe; Bolt answers it
        return None
    if body.get("type") == "url_verification":
        return None if isinstance(body.get("challenge"), str) else "challenge missing"
    if found := _bolt_context(body):
        return found
    if "command" in body:
        return _slash(body)
    check = _BY_TYPE.get(str(body.get("type")))
    return check(body) if check else "unknown payload type"
