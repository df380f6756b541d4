"""Weekly availability: parsing, conversion to UTC for a given week, overlap.

Accepted text (case-insensitive), windows separated by commas or semicolons::

    Mon-Fri 18:00-21:00, Sat 10:00-14:00
    Tue/Thu 7pm-9:30pm; weekends 10-12
    Fri 22:00-02:00          (overnight: ends on Saturday)
    Flexible                 (overlaps everything)

Times are in the learner's IANA zone; conversion to UTC happens per concrete week so that
daylight saving is right (a London 18:00 is 17:00 UTC in July and 18:00 UTC in January).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_ALIASES = {
    "monday": 0, "tuesday": 1, "tues": 1, "wednesday": 2, "thursday": 3, "thur": 3,
    "thurs": 3, "friday": 4, "saturday": 5, "sunday": 6,
}
_GROUPS = {
    "weekdays": (0, 1, 2, 3, 4), "weekday": (0, 1, 2, 3, 4),
    "weekends": (5, 6), "weekend": (5, 6),
    "daily": tuple(range(7)), "everyday": tuple(range(7)), "every day": tuple(range(7)),
}
_FLEXIBLE = {"flexible", "flex", "anytime", "any time"}
MAX_TEXT = 300
WEEK = timedelta(days=7)
_TIME = re.compile(r"^(\d{1,2})(?::(\d{2}))?\s*(am|pm)?$")
_WINDOW = re.compile(r"^(?P<days>.+?)\s+(?P<start>[\d:]+\s*(?:am|pm)?)\s*-\s*(?P<end>[\d:]+\s*(?:am|pm)?)$")


class AvailabilityError(ValueError):
    """The availability text could not be understood; the message names the bad part."""


class TimeZoneError(ValueError):
    """Not an IANA time zone name."""


@dataclass(frozen=True)
class Window:
    """A weekly window in local time. ``end`` may exceed 24*60 for overnight windows."""

    day: int  # 0 = Monday
    start: int  # minutes after local midnight
    end: int  # minutes after local midnight of ``day``; > start


@dataclass(frozen=True)
class Availability:
    flexible: bool
    windows: tuple[Window, ...] = ()

    def weekly_hours(self) -> float:
        """Hours per week in local time (168 when flexible)."""
        if self.flexible:
            return 168.0
        return sum(w.end - w.start for w in self.windows) / 60


def check_timezone(name: str) -> ZoneInfo:
    """Return the zone, or raise TimeZoneError with a hint."""
    cleaned = name.strip()
    if not cleaned or cleaned.lower() in {"local", "localtime"}:
        raise TimeZoneError(f"'{name}' is not a time zone; use an IANA name like Europe/London.")
    try:
        return ZoneInfo(cleaned)
    except (ZoneInfoNotFoundError, ValueError, IsADirectoryError):
        hint = suggest_timezones(cleaned, 3)
        extra = f" Did you mean {', '.join(hint)}?" if hint else ""
        raise TimeZoneError(
            f"Unknown time zone '{name}'. Use an IANA name like Europe/London or America/Lima.{extra}"
        ) from None


_ZONES: list[str] = []


def suggest_timezones(fragment: str, limit: int = 25) -> list[str]:
    """Time zone names containing the fragment (case-insensitive), for autocomplete."""
    if not _ZONES:
        _ZONES.extend(sorted(z for z in available_timezones() if "/" in z or z == "UTC"))
    needle = fragment.strip().lower().replace(" ", "_")
    hits = [z for z in _ZONES if needle in z.lower()]
    return hits[:limit]


def _parse_time(token: str, whole: str) -> int:
    m = _TIME.match(token.strip().lower())
    if not m:
        raise AvailabilityError(f"'{token.strip()}' in '{whole}' is not a time; write it like 18:00 or 6pm.")
    hour, minute, ampm = int(m.group(1)), int(m.group(2) or 0), m.group(3)
    if ampm:
        if not 1 <= hour <= 12:
            raise AvailabilityError(f"'{token.strip()}' in '{whole}' is not a valid 12-hour time.")
        hour = hour % 12 + (12 if ampm == "pm" else 0)
    if hour == 24 and minute == 0:
        return 24 * 60
    if hour > 23 or minute > 59:
        raise AvailabilityError(f"'{token.strip()}' in '{whole}' is not a valid time of day.")
    return hour * 60 + minute


def _day_index(token: str, whole: str) -> int:
    t = token.strip().lower().rstrip(".")
    if t in _DAY_ALIASES:
        return _DAY_ALIASES[t]
    if t[:3] in DAYS and len(t) <= 3:
        return DAYS.index(t[:3])
    raise AvailabilityError(f"'{token.strip()}' in '{whole}' is not a day; use Mon, Tue, ... Sun.")


def _parse_days(spec: str, whole: str) -> tuple[int, ...]:
    s = spec.strip().lower()
    if s in _GROUPS:
        return _GROUPS[s]
    days: list[int] = []
    for part in re.split(r"[/&+]|\band\b", s):
        part = part.strip()
        if not part:
            continue
        if part in _GROUPS:
            days.extend(_GROUPS[part])
        elif "-" in part:
            a, b = part.split("-", 1)
            i, j = _day_index(a, whole), _day_index(b, whole)
            days.extend((i + k) % 7 for k in range((j - i) % 7 + 1))
        else:
            days.append(_day_index(part, whole))
    if not days:
        raise AvailabilityError(f"'{whole}' names no day.")
    return tuple(dict.fromkeys(days))


def parse_availability(text: str) -> Availability:
    """Parse availability text; raise AvailabilityError naming the bad token."""
    cleaned = " ".join(text.split())
    if not cleaned:
        raise AvailabilityError("Availability is empty; write e.g. 'Mon-Fri 18:00-21:00' or 'Flexible'.")
    if len(cleaned) > MAX_TEXT:
        raise AvailabilityError(f"Availability is too long ({len(cleaned)} characters, at most {MAX_TEXT}).")
    if cleaned.lower() in _FLEXIBLE:
        return Availability(flexible=True)
    windows: list[Window] = []
    for raw in re.split(r"[,;\n]", cleaned):
        chunk = raw.strip()
        if not chunk:
            continue
        if chunk.lower() in _FLEXIBLE:
            return Availability(flexible=True)
        m = _WINDOW.match(chunk.replace("–", "-").replace("—", "-"))
        if not m:
            raise AvailabilityError(
                f"'{chunk}' is not a window; write days then hours, like 'Mon-Fri 18:00-21:00'."
            )
        start = _parse_time(m.group("start"), chunk)
        end = _parse_time(m.group("end"), chunk)
        if start == end:
            raise AvailabilityError(f"'{chunk}' starts and ends at the same time.")
        if start == 24 * 60:
            raise AvailabilityError(f"'{chunk}' cannot start at 24:00.")
        if end < start:  # overnight: runs into the next day
            end += 24 * 60
        for day in _parse_days(m.group("days"), chunk):
            windows.append(Window(day, start, end))
    if not windows:
        raise AvailabilityError("Availability names no window; write e.g. 'Sat 10:00-14:00'.")
    return Availability(flexible=False, windows=tuple(sorted(set(windows), key=lambda w: (w.day, w.start))))


def week_start(instant: datetime) -> datetime:
    """The UTC instant that starts the coming-week horizon used for overlap: ``instant``
    truncated to the hour. Overlap is computed over [start, start + 7 days)."""
    return instant.replace(minute=0, second=0, microsecond=0)


Interval = tuple[datetime, datetime]


def utc_intervals(avail: Availability, tz: str, start: datetime) -> list[Interval]:
    """The availability as UTC intervals inside [start, start + 7 days), merged and sorted."""
    end = start + WEEK
    if avail.flexible:
        return [(start, end)]
    zone = check_timezone(tz)
    first_local: date = start.astimezone(zone).date() - timedelta(days=1)
    out: list[Interval] = []
    for offset in range(9):  # one day either side covers overnight windows and offsets
        day = first_local + timedelta(days=offset)
        for w in avail.windows:
            if w.day != day.weekday():
                continue
            # Wall-clock arithmetic: add minutes to the local date, then localise, so a
            # window on a DST-change day keeps its wall-clock hours.
            a = _local(day, w.start, zone)
            b = _local(day, w.end, zone)
            a_utc, b_utc = max(a, start), min(b, end)
            if a_utc < b_utc:
                out.append((a_utc, b_utc))
    return merge(out)


def _local(day: date, minutes: int, zone: ZoneInfo) -> datetime:
    extra_days, rem = divmod(minutes, 24 * 60)
    d = day + timedelta(days=extra_days)
    local = datetime.combine(d, time(rem // 60, rem % 60), tzinfo=zone)
    return local.astimezone(UTC)


def merge(intervals: list[Interval]) -> list[Interval]:
    """Sort and merge overlapping or touching intervals."""
    out: list[Interval] = []
    for a, b in sorted(intervals):
        if out and a <= out[-1][1]:
            if b > out[-1][1]:
                out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out


def intersect(a: list[Interval], b: list[Interval]) -> list[Interval]:
    """Intersection of two sorted, merged interval lists."""
    i = j = 0
    out: list[Interval] = []
    while i < len(a) and j < len(b):
        lo, hi = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if lo < hi:
            out.append((lo, hi))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def hours(intervals: list[Interval]) -> float:
    return sum((b - a).total_seconds() for a, b in intervals) / 3600


def common_intervals(members: list[tuple[Availability, str]], start: datetime) -> list[Interval]:
    """UTC intervals in the week from ``start`` when every member is available."""
    common: list[Interval] | None = None
    for avail, tz in members:
        iv = utc_intervals(avail, tz, start)
        common = iv if common is None else intersect(common, iv)
    return common or []


def overlap_hours(members: list[tuple[Availability, str]], start: datetime) -> float:
    """Weekly hours every member shares, over the week from ``start``."""
    return hours(common_intervals(members, start))


def format_window_hint() -> str:
    return "e.g. 'Mon-Fri 18:00-21:00, Sat 10:00-14:00' or 'Flexible'"
