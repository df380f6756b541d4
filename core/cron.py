"""Checking a community's round schedule (standard 5-field cron) before it is saved.

The scheduler (bot/scheduler.py) runs it; this only makes sure a moderator's typo is refused
with a reason instead of silently turning automatic rounds off.
"""

from __future__ import annotations

import re

NO_SCHEDULE = ("", "off", "manual", "none")
_NAMES = {
    3: ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
    4: ("sun", "mon", "tue", "wed", "thu", "fri", "sat"),
}
_FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day of month", 1, 31), ("month", 1, 12),
           ("day of week", 0, 7))
_PART = re.compile(r"^(\*|[a-z0-9]+)(?:-([a-z0-9]+))?(?:/(\d+))?$")


def _value(token: str, index: int) -> int | None:
    if token.isdigit():
        return int(token)
    names = _NAMES.get(index, ())
    if token in names:
        return names.index(token) + (1 if index == 3 else 0)
    return None


def check_schedule(expr: str) -> str | None:
    """None if ``expr`` is a valid 5-field cron line (or 'off'), else what is wrong."""
    text = expr.strip().lower()
    if text in NO_SCHEDULE:
        return None
    fields = text.split()
    if len(fields) != 5:
        return "a cron line has 5 fields (minute hour day month weekday), e.g. '0 18 * * mon,thu', or 'off'"
    for index, (field, (name, lo, hi)) in enumerate(zip(fields, _FIELDS, strict=True)):
        for part in field.split(","):
            m = _PART.match(part)
            if m is None:
                return f"'{part}' is not a valid {name}"
            first, last, step = m.groups()
            if step is not None and int(step) == 0:
                return f"'{part}': a step of 0 never fires"
            for token in (first, last):
                if token is None or token == "*":
                    continue
                value = _value(token, index)
                if value is None or not lo <= value <= hi:
                    return f"'{token}' is not a valid {name} ({lo}-{hi})"
    return None
