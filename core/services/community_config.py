"""`/peeradmin config [key] [value]`: see or change one community's settings.

Every value goes through the setting's declared Spec (core/settings.py), exactly as the
config file and the environment do, so a value is refused here with the same message the
config file gives. Lists are comma separated; nothing changes on a refusal. Settings
declared ``chat=False`` (matching weights, topic families, worker processes) are file-only.
"""

from __future__ import annotations

from typing import Any

from core.model import AuditEntry
from core.replies import Reply
from core.services.context import Ctx
from core.services.errors import Refusal
from core.settings import COMMUNITY, CommunitySettings
from core.settings_schema import SettingError, Spec

EDITABLE: tuple[Spec, ...] = tuple(s for s in COMMUNITY if s.chat)
_BY_NAME = {s.name: s for s in EDITABLE}


def _show(value: Any) -> str:
    if isinstance(value, tuple):
        return ", ".join(str(v) for v in value) or "(none)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value) if value != "" else "(none)"


def refusal_text(key: str, message: str) -> str:
    """How chat words a refused value (the message is the Spec's, shared by every source)."""
    return f"`{key}` can't be set to that: {message}" + ("" if message.endswith(".") else ".")


def describe(spec: Spec, settings: CommunitySettings) -> str:
    """One help line: the key, its value here, what it means and what it accepts."""
    return (f"`{spec.name}` = {_show(getattr(settings, spec.name))} — {spec.help} "
            f"({spec.allowed()})")


async def config(ctx: Ctx, args: dict[str, Any]) -> Reply:
    """List the settings, show one, or change one (moderators)."""
    key = str(args.get("key", "")).strip().replace("-", "_")
    if not key:
        lines = [f"- `{s.name}` = {_show(getattr(ctx.settings, s.name))}" for s in EDITABLE]
        return Reply(text="**Settings of this community:**\n" + "\n".join(lines)
                     + "\nSee what one means with `/peeradmin config <key>`, change it with "
                     "`/peeradmin config <key> <value>`.")
    spec = _BY_NAME.get(key)
    if spec is None:
        raise Refusal(f"There is no setting `{key}`. Run `/peeradmin config` to list them.")
    if "value" not in args or not str(args["value"]).strip():
        return Reply(text=describe(spec, ctx.settings))
    try:
        value = spec.parse(str(args["value"]))
    except SettingError as exc:
        raise Refusal(refusal_text(key, exc.message)) from None
    new_overrides = {**ctx.community.settings, key: spec.stored(value)}
    updated = ctx.services.defaults.with_overrides(new_overrides, skip_invalid=True)
    if problem := updated.problem():
        raise Refusal(f"`{key}` can't be set to that: {problem}.")
    ctx.community.settings = new_overrides
    await ctx.uow.communities.update(ctx.community)
    assert ctx.community.id is not None
    await ctx.uow.audit.add(AuditEntry(ctx.community.id, ctx.actor.user_id, "config",
                                       f"{key} = {_show(value)}", ctx.now))
    return Reply(text=f"Saved: `{key}` = {_show(getattr(updated, key))}")
