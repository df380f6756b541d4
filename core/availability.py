"""Weekly availability in time: conversion to UTC for a given week, and overlap.

The text grammar (``parse_availability``, ``describe``) is in ``core.availability_text`` and
time zone names in ``core.timezones``; both are re-exported here for the callers that
import them from this module.

Times are in the learner's IANA zone; conversion to UTC happens per concrete week so that
daylight saving is right (a London 18:00 is 17:00 UTC in July and 18:00 UTC in January).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from core.availability_text import (
    Availability,
    AvailabilityError,
    Window,
    describe,
    describe_windows,
    normalised,
    parse_availability,
)
from core.timezones import TimeZoneError, check_timezone, suggest_timezones

__all__ = [
    "Availability", "AvailabilityError", "Interval", "TimeZoneError", "Window", "check_timezone",
    "describe", "describe_windows", "hours", "intersect", "merge", "normalised", "overlap_hours",
    "parse_availability", "stored_availability", "suggest_timezones", "utc_intervals",
    "week_start",
]

WEEK = timedelta(days=7)


def stored_availability(text: str) -> Availability:
    """A saved profile's availability for matching. Text saved before the grammar became
    stricter (e.g. a 20-hour "overnight" window) reads as no window at all, so a round never
    fails on one old profile; the learner is asked to fix it when they rejoin."""
    try:
        return parse_availability(text)
    except AvailabilityError:
        return Availability(flexible=False)


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
    """Total length of the intervals in hours."""
    return sum((b - a).total_seconds() for a, b in intervals) / 3600


def overlap_hours(members: list[tuple[Availability, str]], start: datetime) -> float:
    """Weekly hours every member shares, over the week from ``start``."""
    common: list[Interval] | None = None
    for avail, tz in members:
        iv = utc_intervals(avail, tz, start)
        common = iv if common is None else intersect(common, iv)
    return hours(common or [])

