"""`/peeradmin config [key] [value]`: see or change one community's settings.

Values are typed by the setting they change (lists are comma separated); a bad value is
refused with the reason and nothing changes. Matching weights are file-only (config.toml).
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from core.availability import TimeZoneError, check_timezone
from core.cron import check_schedule
from core.model import AuditEntry, Mode
from core.replies import Reply
from core.services.context import Ctx
from core.services.errors import Refusal
from core.settings import CommunitySettings

_CHOICES = {"space_mode": ("auto", "channel", "thread", "group_dm"), "space_on_end": ("archive", "delete")}
_EDITABLE = [f.name for f in fields(CommunitySettings) if f.name not in ("weights", "topic_families", "matching_workers")]


def _show(value: Any) -> str:
    if isinstance(value, tuple):
        return ", ".join(str(v) for v in value) or "(none)"
    return str(value) if value != "" else "(none)"


def parse_setting(key: str, raw: str, current: CommunitySettings) -> Any:
    """Turn the raw text into the setting's type; raise ValueError with a polite reason."""
    old = getattr(current, key)
    text = raw.strip()
    if isinstance(old, bool):
        if text.lower() not in ("yes", "no", "true", "false", "on", "off"):
            raise ValueError("use yes or no")
        return text.lower() in ("yes", "true", "on")
    if isinstance(old, int) and not isinstance(old, bool):
        if not text.lstrip("-").isdigit():
            raise ValueError("use a whole number")
        value: Any = int(text)
        if value < 0:
            raise ValueError("must not be negative")
        return value
    if isinstance(old, float):
        try:
            return float(text)
        except ValueError:
            raise ValueError("use a number") from None
    if isinstance(old, tuple):
        items = [v.strip() for v in text.split(",") if v.strip()]
        if key == "modes":
            try:
                return [Mode(v).value for v in items]
            except ValueError:
                raise ValueError("modes are " + ", ".join(m.value for m in Mode)) from None
        if key == "reminder_offsets_minutes":
            if not all(v.isdigit() for v in items):
                raise ValueError("use minutes, e.g. 1440, 60")
            return [int(v) for v in items]
        return items
    if key in _CHOICES and text not in _CHOICES[key]:
        raise ValueError("one of " + ", ".join(_CHOICES[key]))
    if key == "timezone":
        try:
            return check_timezone(text).key
        except TimeZoneError as exc:
            raise ValueError(str(exc)) from None
    if key == "schedule" and (problem := check_schedule(text)):
        raise ValueError(problem)
    return text


async def config(ctx: Ctx, args: dict[str, Any]) -> Reply:
    key = str(args.get("key", "")).strip().replace("-", "_")
    if not key:
        lines = [f"`{k}` = {_show(getattr(ctx.settings, k))}" for k in _EDITABLE]
        return Reply(text="**Settings of this community:**\n" + "\n".join(lines)
                     + "\nChange one with `/peeradmin config <key> <value>`.")
    if key not in _EDITABLE:
        raise Refusal(f"There is no setting `{key}`. Run `/peeradmin config` to list them.")
    if "value" not in args or not str(args["value"]).strip():
        return Reply(text=f"`{key}` = {_show(getattr(ctx.settings, key))}")
    try:
        value = parse_setting(key, str(args["value"]), ctx.settings)
    except ValueError as exc:
        raise Refusal(f"`{key}` can't be set to that: {exc}.") from None
    new_overrides = {**ctx.community.settings, key: value}
    updated = ctx.services.defaults.with_overrides(new_overrides)
    if updated.group_min > updated.group_max or updated.group_min < 2:
        raise Refusal("Group sizes must satisfy 2 ≤ group_min ≤ group_max.")
    ctx.community.settings = new_overrides
    await ctx.uow.communities.update(ctx.community)
    assert ctx.community.id is not None
    await ctx.uow.audit.add(AuditEntry(ctx.community.id, ctx.actor.user_id, "config",
                                       f"{key} = {value}", ctx.now))
    return Reply(text=f"Saved: `{key}` = {_show(getattr(updated, key))}")
