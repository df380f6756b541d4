"""Per-user command rate limit: a sliding window kept in memory per process.

A limit per process is enough to stop a runaway client or a user hammering a command;
it is not a security boundary (several processes each allow the full rate).
"""

from __future__ import annotations

from collections import deque
from datetime import datetime, timedelta

WINDOW = timedelta(minutes=1)


class RateLimiter:
    """Allows ``limit`` commands per user per minute."""

    def __init__(self) -> None:
        self._seen: dict[tuple[str, str], deque[datetime]] = {}

    def check(self, key: tuple[str, str], limit: int, now: datetime) -> datetime | None:
        """Record a command; return None if allowed, else when the user may try again."""
        if limit <= 0:
            return None
        times = self._seen.setdefault(key, deque())
        while times and now - times[0] >= WINDOW:
            times.popleft()
        if len(times) >= limit:
            return times[0] + WINDOW
        times.append(now)
        return None
