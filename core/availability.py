"""Weekly availability in time: conversion to UTC for a given week, and overlap.

The text grammar (``parse_availability``, ``describe``) is in ``core.availability_text`` and
time zone names in ``core.timezones``; both are re-exported here for the callers that
import them from this module.

Times are in the learner's IANA zone; conversion to UTC happens per concrete week so that
daylight saving is right (a London 18:00 is 17:00 UTC in July and 18:00 UTC in January).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import TypeVar
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
    "local_to_utc", "parse_availability", "stored_availability", "suggest_timezones",
    "transitions", "utc_intervals", "week_start",
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
_T = TypeVar("_T", int, datetime)


def utc_intervals(avail: Availability, tz: str, start: datetime) -> list[Interval]:
    """The availability as UTC intervals inside [start, start + 7 days), merged and sorted.

    DST-true: each window is the set of instants whose local wall-clock reading lies in it.
    A window crossing a spring-forward gap is as short as the wall clock says (a time in the
    gap reads as the jump's instant); in a fall-back fold only the first reading counts, so
    the repeated hour is counted once.
    """
    end = start + WEEK
    if avail.flexible:
        return [(start, end)]
    zone = check_timezone(tz)
    first_local: date = start.astimezone(zone).date() - timedelta(days=1)
    moves = transitions(zone, start - 2 * DAY, end + 2 * DAY)
    out: list[Interval] = []
    for offset in range(9):  # one day either side covers overnight windows and offsets
        day = first_local + timedelta(days=offset)
        for w in avail.windows:
            if w.day != day.weekday():
                continue
            a = local_to_utc(_wall(day, w.start), zone, moves)
            b = local_to_utc(_wall(day, w.end), zone, moves)
            a_utc, b_utc = max(a, start), min(b, end)
            if a_utc < b_utc:
                out.append((a_utc, b_utc))
    return _minus(merge(out), [(t, t + (before - after)) for t, before, after in moves
                               if after < before])


DAY = timedelta(days=1)
Move = tuple[datetime, timedelta, timedelta]  # UTC instant, offset before, offset after


def transitions(zone: ZoneInfo, lo: datetime, hi: datetime) -> list[Move]:
    """The zone's offset changes in [lo, hi): (UTC instant, offset before, offset after).

    Offsets are sampled hourly (no zone changes twice within an hour) and each change is
    found to the minute by bisection."""
    out: list[Move] = []
    t = lo.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    before = _offset(zone, t)
    while t < hi:
        nxt = t + timedelta(hours=1)
        after = _offset(zone, nxt)
        if after != before:
            a, b = t, nxt  # offset(a) == before, offset(b) == after
            while b - a > timedelta(minutes=1):
                mid = a + (b - a) / 2
                mid = mid.replace(second=0, microsecond=0)
                if mid <= a:
                    break
                if _offset(zone, mid) == before:
                    a = mid
                else:
                    b = mid
            out.append((b, before, after))
        t, before = nxt, after
    return out


def _offset(zone: ZoneInfo, instant: datetime) -> timedelta:
    off = instant.astimezone(zone).utcoffset()
    return off if off is not None else timedelta(0)


def _wall(day: date, minutes: int) -> datetime:
    """The naive local wall-clock time ``minutes`` after midnight of ``day``."""
    extra_days, rem = divmod(minutes, 24 * 60)
    return datetime.combine(day + timedelta(days=extra_days),  # noqa: DTZ001 - wall clock
                            time(rem // 60, rem % 60))


def local_to_utc(wall: datetime, zone: ZoneInfo, moves: list[Move]) -> datetime:
    """The first instant whose wall-clock reading in ``zone`` is at or after ``wall``: the
    jump's instant for a time inside a spring-forward gap, the first reading in a fold."""
    for t, before, after in moves:
        if after > before:
            gap_lo = (t + before).replace(tzinfo=None)
            gap_hi = (t + after).replace(tzinfo=None)
            if gap_lo <= wall < gap_hi:
                return t
    return wall.replace(tzinfo=zone, fold=0).astimezone(UTC)


def _minus(intervals: list[Interval], holes: list[Interval]) -> list[Interval]:
    """``intervals`` without the ``holes`` (both sorted lists)."""
    out = intervals
    for h0, h1 in holes:
        cut: list[Interval] = []
        for a, b in out:
            if b <= h0 or a >= h1:
                cut.append((a, b))
                continue
            if a < h0:
                cut.append((a, h0))
            if b > h1:
                cut.append((h1, b))
        out = cut
    return out


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


def intersect(a: list[tuple[_T, _T]], b: list[tuple[_T, _T]]) -> list[tuple[_T, _T]]:
    """Intersection of two sorted, merged interval lists (datetimes, or the matching
    engine's minutes of the week: one rule for both)."""
    i = j = 0
    out: list[tuple[_T, _T]] = []
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

