"""Console rendering: placeholders become local times and @names; Markdown is kept light."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from core.replies import Reply, TimeRef, UserRef, substitute
from core.text import relative_time


def _relative(when: datetime, now: datetime) -> str:
    return relative_time((when - now).total_seconds())


def render_text(text: str, zone: str, names: dict[str, str], now: datetime | None = None) -> str:
    """Text with times in ``zone`` and mentions as @name."""
    tz = ZoneInfo(zone or "UTC")
    ref = now or datetime.now(UTC)

    def time(t: TimeRef) -> str:
        when = datetime.fromtimestamp(t.unix, tz)
        if t.style == "R":
            return _relative(when, ref)
        return when.strftime("%a %d %b %Y %H:%M ") + (zone or "UTC")

    def user(u: UserRef) -> str:
        return "@" + names.get(u.user_id, u.user_id)

    return substitute(text, time, user).replace("**", "")


def render_reply(
    reply: Reply, zone: str, names: dict[str, str], now: datetime | None = None
) -> str:
    lines = [("" if reply.ok else "⚠️  ") + render_text(reply.text, zone, names, now)]
    for b in reply.buttons:
        args = " ".join(f"{k}={v}" for k, v in b.args.items())
        lines.append(f"   [{b.label}] → /{b.action}{(' ' + args) if args else ''}")
    return "\n".join(lines)
