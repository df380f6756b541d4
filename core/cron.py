"""The one cron dialect of round schedules: standard 5-field lines, parsed here only.

``minute hour day-of-month month day-of-week``; each field is ``*``, a number, a name
(``jan``..``dec``, ``sun``..``sat``), a range ``a-b``, a step ``*/n``, ``a-b/n`` or ``a/n``
(from a to the end), or a comma list of these. Day of week counts 0 (and 7) as Sunday, as
cron does. When both day of month and day of week are restricted, a day must match both
(the scheduler's rule, kept so that the check, the scheduler and ``next_fire`` agree).
``off`` (or ``manual``, ``none``, empty) means rounds by hand only.

Fire times are wall-clock times in the community's zone: a time that does not exist (the
spring-forward gap) fires at the same offset after the gap, e.g. 02:30 -> 03:30; a time that
happens twice fires once, the first time. bot/scheduler.py turns a ``CronSpec`` into an
APScheduler trigger; a test holds both to the same fire times.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

NO_SCHEDULE = ("", "off", "manual", "none")
MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day of month", 1, 31), ("month", 1, 12),
           ("day of week", 0, 7))
_PART = re.compile(r"^(\*|[a-z0-9]+)(?:-([a-z0-9]+))?(?:/(\d+))?$")
_SEARCH_DAYS = 366 * 8  # long enough for 29 February on a given weekday


class CronError(ValueError):
    """A schedule that is not a valid cron line; the message says what is wrong."""


@dataclass(frozen=True)
class CronSpec:
    """A parsed cron line: the allowed values of each field (weekday 0 = Sunday)."""

    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]

    def matches_day(self, month: int, day: int, weekday: int) -> bool:
        """Whether a calendar day (weekday 0 = Sunday) may fire."""
        return month in self.months and day in self.days and weekday in self.weekdays


def _value(token: str, index: int) -> int | None:
    if token.isdigit():
        return int(token)
    names = MONTHS if index == 3 else WEEKDAYS if index == 4 else ()
    if token in names:
        return names.index(token) + (1 if index == 3 else 0)
    return None


def _field(text: str, index: int) -> frozenset[int]:
    name, lo, hi = _FIELDS[index]
    values: set[int] = set()
    for part in text.split(","):
        m = _PART.match(part)
        if m is None:
            raise CronError(f"'{part}' is not a valid {name}")
        first, last, step = m.groups()
        if step is not None and int(step) == 0:
            raise CronError(f"'{part}': a step of 0 never fires")
        bounds: list[int] = []
        for token in (first, last):
            if token is None or token == "*":
                continue
            value = _value(token, index)
            if value is None or not lo <= value <= hi:
                raise CronError(f"'{token}' is not a valid {name} ({lo}-{hi})")
            bounds.append(value)
        if first == "*":
            if last is not None:
                raise CronError(f"'{part}' is not a valid {name}")
            start, end = lo, (6 if index == 4 else hi)
        else:
            start = bounds[0]
            # "a/n" runs from a to the end of the field, as in most crons
            end = bounds[1] if last is not None else (hi if step is not None else start)
        if start > end:
            raise CronError(f"'{part}': a range must go from low to high")
        values.update(range(start, end + 1, int(step or 1)))
    if index == 4 and 7 in values:  # 7 is Sunday too
        values = (values - {7}) | {0}
    return frozenset(values)


def parse_cron(expr: str) -> CronSpec | None:
    """The parsed schedule, None for 'off', or CronError saying what is wrong."""
    text = expr.strip().lower()
    if text in NO_SCHEDULE:
        return None
    parts = text.split()
    if len(parts) != 5:
        raise CronError("a cron line has 5 fields (minute hour day month weekday), "
                        "e.g. '0 18 * * mon,thu', or 'off'")
    minutes, hours, days, months, weekdays = (_field(p, i) for i, p in enumerate(parts))
    return CronSpec(minutes, hours, days, months, weekdays)


def check_schedule(expr: str) -> str | None:
    """None if ``expr`` is a valid 5-field cron line (or 'off'), else what is wrong."""
    try:
        parse_cron(expr)
    except CronError as exc:
        return str(exc)
    return None


def _instant(day: datetime, hour: int, minute: int, zone: ZoneInfo) -> datetime:
    # A wall time read with fold=0 and normalised through its timestamp: a time in the gap
    # moves forward by the gap, a repeated time is its first occurrence.
    wall = datetime.combine(day.date(), time(hour, minute), tzinfo=zone)
    return datetime.fromtimestamp(wall.timestamp(), zone)


def next_fire(spec: CronSpec, after: datetime, zone: str = "UTC") -> datetime | None:
    """The first fire time strictly after ``after`` (aware), in ``zone``; None if the line
    never fires (e.g. 30 February)."""
    tz = ZoneInfo(zone or "UTC")
    # Instants are compared in UTC: within one zone Python compares wall times, fold aside.
    floor = after.astimezone(UTC)
    local = after.astimezone(tz)
    day = local.replace(hour=0, minute=0, second=0, microsecond=0)
    hours, minutes = sorted(spec.hours), sorted(spec.minutes)
    for _ in range(_SEARCH_DAYS):
        weekday = (day.weekday() + 1) % 7  # Python: Monday 0; cron: Sunday 0
        if spec.matches_day(day.month, day.day, weekday):
            for hour in hours:
                for minute in minutes:
                    when = _instant(day, hour, minute, tz)
                    if when.astimezone(UTC) > floor and when.date() >= day.date():
                        return when
        day = (day + timedelta(days=1)).replace(hour=0)
    return None


def fire_times(spec: CronSpec, since: datetime, until: datetime,
               zone: str = "UTC") -> list[datetime]:
    """Every fire time in (since, until], oldest first."""
    out: list[datetime] = []
    nxt = next_fire(spec, since, zone)
    while nxt is not None and nxt <= until:
        out.append(nxt)
        nxt = next_fire(spec, nxt, zone)
    return out
