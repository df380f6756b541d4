"""Is an INTERACTION_CREATE payload well formed enough for discord.py and our handlers?

discord.py builds an ``Interaction`` straight from the gateway payload: a missing ``data``
on a button click is a ``KeyError`` inside the gateway reader, a guild interaction without
``member`` leaves ``interaction.user`` unset, options that are not a list fail in a task
nobody awaits. ``problem`` names the first field that is missing or of the wrong type
(a short phrase, never the payload's content), or returns ``None``. Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_SNOWFLAKE = re.compile(r"[0-9]{1,20}")
_TOKEN = re.compile(r"[A-Za-z0-9_.\-]{1,500}")
KNOWN_TYPES = (2, 3, 4, 5)  # slash command, component, autocomplete, modal submit
_OPTION_VALUE = (str, int, float, bool)
_MAX_DEPTH = 4  # sub-command group > sub-command > option


def is_snowflake(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return (isinstance(value, int) and 0 <= value < 1 << 64) or (
        isinstance(value, str) and _SNOWFLAKE.fullmatch(value) is not None)


def answerable(payload: Any) -> tuple[str, str] | None:
    """(interaction id, token) when the payload carries enough to answer it at all."""
    if not isinstance(payload, Mapping):
        return None
    iid, token = payload.get("id"), payload.get("token")
    if is_snowflake(iid) and isinstance(token, str) and _TOKEN.fullmatch(token):
        return str(iid), token
    return None


def _user(payload: Mapping[str, Any]) -> str | None:
    if payload.get("guild_id") is not None:
        if not is_snowflake(payload["guild_id"]):
            return "guild_id malformed"
        member = payload.get("member")
        if not isinstance(member, Mapping):
            return "member missing"
        if not isinstance(member.get("roles", []), list) or not all(
                is_snowflake(r) for r in member.get("roles", [])):
            return "member.roles malformed"
        user = member.get("user")
    else:
        user = payload.get("user")
    if not isinstance(user, Mapping) or not is_snowflake(user.get("id")):
        return "user missing"
    if not isinstance(user.get("username", ""), str):
        return "user.username malformed"
    return None


def _options(options: Any, depth: int = 0) -> str | None:
    if options is None:
        return None
    if depth > _MAX_DEPTH or not isinstance(options, list):
        return "options malformed"
    for option in options:
        if not isinstance(option, Mapping) or not isinstance(option.get("name"), str):
            return "option without name"
        if not isinstance(option.get("type"), int) or isinstance(option.get("type"), bool):
            return "option without type"
        if "value" in option and not isinstance(option["value"], _OPTION_VALUE):
            return "option value malformed"
        if found := _options(option.get("options"), depth + 1):
            return found
    return None


def _resolved(data: Mapping[str, Any]) -> str | None:
    resolved = data.get("resolved", {})
    if not isinstance(resolved, Mapping):
        return "resolved malformed"
    for kind in ("users", "members", "roles", "channels", "messages", "attachments"):
        items = resolved.get(kind, {})
        if not isinstance(items, Mapping) or not all(
                is_snowflake(k) and isinstance(v, Mapping) for k, v in items.items()):
            return f"resolved.{kind} malformed"
    return None


def _components(components: Any, depth: int = 0) -> str | None:
    if depth > _MAX_DEPTH or not isinstance(components, list):
        return "components malformed"
    for c in components:
        if not isinstance(c, Mapping) or not isinstance(c.get("type", 0), int):
            return "component malformed"
        if "components" in c and (found := _components(c["components"], depth + 1)):
            return found
        if "component" in c and (found := _components([c["component"]], depth + 1)):
            return found
        if "custom_id" in c and not isinstance(c["custom_id"], str):
            return "component custom_id malformed"
        if "value" in c and c["value"] is not None and not isinstance(c["value"], str):
            return "component value malformed"
        values = c.get("values", [])
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            return "component values malformed"
    return None


def _data(kind: int, data: Any) -> str | None:
    if not isinstance(data, Mapping):
        return "data missing"
    if kind in (2, 4):
        if not isinstance(data.get("name"), str):
            return "data.name missing"
        if data.get("guild_id") is not None and not is_snowflake(data["guild_id"]):
            return "data.guild_id malformed"
        return _options(data.get("options")) or _resolved(data)
    if not isinstance(data.get("custom_id"), str):
        return "data.custom_id missing"
    if kind == 3:
        component_type = data.get("component_type")
        if not isinstance(component_type, int) or isinstance(component_type, bool):
            return "data.component_type missing"
        values = data.get("values", [])
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            return "data.values malformed"
        return _resolved(data)
    return _components(data.get("components")) or _resolved(data)


def problem(payload: Any) -> str | None:
    """What is wrong with an INTERACTION_CREATE payload, or None."""
    if answerable(payload) is None:
        return "id or token missing"
    assert isinstance(payload, Mapping)
    kind = payload.get("type")
    if not isinstance(kind, int) or isinstance(kind, bool) or kind not in KNOWN_TYPES:
        return "unknown interaction type"
    if not is_snowflake(payload.get("application_id")):
        return "application_id missing"
    for name in ("version", "attachment_size_limit"):
        if not isinstance(payload.get(name), int):
            return f"{name} missing"
    channel = payload.get("channel", {})
    if not isinstance(channel, Mapping) or ("id" in channel and not is_snowflake(channel["id"])):
        return "channel malformed"
    if not isinstance(channel.get("type", 0), int):
        return "channel.type malformed"
    message = payload.get("message")
    if message is not None and not isinstance(message, Mapping):
        return "message malformed"
    return _user(payload) or _data(kind, payload.get("data"))
