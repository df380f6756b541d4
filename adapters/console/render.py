"""Console rendering: placeholders become local times and @names; Markdown is kept light."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from core.replies import Reply, TimeRef, UserRef, substitute


def _relative(when: datetime, now: datetime) -> str:
    seconds = (when - now).total_seconds()
    minutes = abs(seconds) / 60
    amount = (f"{minutes:.0f} minutes" if minutes < 90 else
              f"{minutes / 60:.0f} hours" if minutes < 48 * 60 else f"{minutes / 1440:.0f} days")
    return f"in {amount}" if seconds >= 0 else f"{amount} ago"


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


def render_reply(reply: Reply, zone: str, names: dict[str, str], now: datetime | None = None) -> str:
    lines = [("" if reply.ok else "⚠️  ") + render_text(reply.text, zone, names, now)]
    for b in reply.buttons:
        args = " ".join(f"{k}={v}" for k, v in b.args.items())
        lines.append(f"   [{b.label}] → /{b.action}{(' ' + args) if args else ''}")
    return "\n".join(lines)
