"""Weekly availability for the engine: exact UTC minutes and quarter-hour slot masks.

The engine compares thousands of learners at once, so availability becomes a row of 0/1
per quarter hour of the coming week in UTC (672 slots from ``week_start(now)``); the
overlap of two learners is then a popcount or a dot product. Quarter hours fit every
offset in use (+05:45, +12:45, Lord Howe's 30-minute shift), so for windows written on
quarter hours the grid is exact.

Per learner, in this order (vectorised, same rules as ``core.availability.utc_intervals``):

1. every window is converted at its wall-clock endpoints per concrete local day, DST-true:
   a time inside a spring-forward gap reads as the jump's instant (the window is as short
   as the wall clock), and a fall-back fold's second reading is cut out (counted once);
2. the learner's windows are merged, touching ones too, to the exact minute;
3. only then rasterised *inward* (a slot counts only when the learner is free for all of
   it), so slot overlap never exceeds the true overlap and a match passing the hard rules
   on slots passes them on the exact minutes too.

The exact merged minutes are kept (``Week.lo/hi``) so that reasons can state true hours.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from operator import attrgetter

import numpy as np
import numpy.typing as npt

from core.availability import (
    Availability,
    TimeZoneError,
    check_timezone,
    intersect,
    local_to_utc,
    transitions,
)

SLOT_MINUTES = 15
SLOTS = 7 * 24 * 60 // SLOT_MINUTES  # 672
_QUARTERS = 10 * 96 + 1  # local quarter hours covered: 9 days + an overnight window's end
_WEEK_MIN = 7 * 24 * 60

U8 = npt.NDArray[np.uint8]
I64 = npt.NDArray[np.int64]
Triple = tuple[I64, I64, I64]


@dataclass(frozen=True)
class ZoneWeek:
    """One zone over one week, as the rasteriser needs it."""

    rel: I64  # minutes from ``start`` to each local quarter hour (a gap's: the jump)
    gap: npt.NDArray[np.bool_]  # the local quarter hour does not exist (spring forward)
    first_weekday: int  # weekday of the first local day (the day before ``start``)
    offset_hours: float  # UTC offset at ``start``
    holes: tuple[tuple[int, int], ...]  # minutes read a second time after a fall back


@lru_cache(maxsize=1024)
def zone_week(tz: str, start: datetime) -> ZoneWeek:
    """The zone's quarter-hour table for the week from ``start``: 961 local quarter hours of
    the 10 local days that begin the day before ``start``. Zones change offset on quarter
    hours, so a minute inside a quarter has the offset of the quarter's start."""
    try:
        zone = check_timezone(tz)
    except TimeZoneError:  # profiles are validated on join; an old bad one counts as UTC
        zone = check_timezone("UTC")
    first_local: date = start.astimezone(zone).date() - timedelta(days=1)
    base = datetime.combine(first_local, time(0))  # naive local wall clock  # noqa: DTZ001
    moves = transitions(zone, start - timedelta(days=3), start + timedelta(days=10))
    rel = np.empty(_QUARTERS, dtype=np.int64)
    gap = np.zeros(_QUARTERS, dtype=bool)
    if not moves:  # one offset all week: plain arithmetic
        off = start.astimezone(zone).utcoffset() or timedelta(0)
        first = (base - off - start.replace(tzinfo=None)).total_seconds() // 60
        rel[:] = int(first) + 15 * np.arange(_QUARTERS)
    for q in range(_QUARTERS) if moves else ():
        wall = base + timedelta(minutes=15 * q)
        instant = local_to_utc(wall, zone, moves)
        rel[q] = int((instant - start).total_seconds() // 60)
        gap[q] = instant.astimezone(zone).replace(tzinfo=None) != wall
    holes = tuple(
        (int((t - start).total_seconds() // 60), int((t + b - a - start).total_seconds() // 60))
        for t, b, a in moves if a < b
    )
    offset = zone.utcoffset(start.astimezone(zone).replace(tzinfo=None))
    hours = offset.total_seconds() / 3600 if offset is not None else 0.0
    return ZoneWeek(rel, gap, first_local.weekday(), hours, holes)


def utc_offset_hours(tz: str, start: datetime) -> float:
    """The zone's UTC offset at ``start`` in hours (UTC if the name is unknown)."""
    return zone_week(tz, start).offset_hours


@dataclass
class Week:
    """Everybody's availability over one week: exact merged minutes and slot rows."""

    slots: U8  # (n, SLOTS): free for the whole quarter hour
    ptr: I64  # (n + 1,): row i's intervals are lo[ptr[i]:ptr[i+1]], hi[...]
    lo: I64  # exact UTC minutes from the week's start, merged, ascending per row
    hi: I64
    aligned: npt.NDArray[np.bool_]  # (n,): every edge on a quarter hour: the slots are exact


def slot_masks(items: list[tuple[Availability, str]], start: datetime) -> U8:
    """Rows of 0/1 (uint8, shape (n, 672)): learner free for the whole quarter hour."""
    return availability_week(items, start).slots


def availability_week(items: list[tuple[Availability, str]], start: datetime) -> Week:
    """Exact merged UTC minutes and inward quarter-hour slots for every (availability, zone).

    Each distinct (availability, zone) is converted once and its rows copied to everyone
    who shares it: a community's learners pick from a few answers (a form's five choices,
    "Mon-Fri 18:00-21:00" in a handful of zones), so a 100,000-learner week is a few
    thousand conversions, not 100,000."""
    place: dict[tuple[Availability, str], int] = {}
    which = np.fromiter((place.setdefault(item, len(place)) for item in items),
                        dtype=np.int64, count=len(items))
    if len(place) == len(items):
        return _week(items, start)
    week = _week(list(place), start)
    # the intervals of row i are those of its distinct item: runs of lo/hi gathered in order
    count = np.diff(week.ptr)[which]
    ptr = np.zeros(len(items) + 1, dtype=np.int64)
    np.cumsum(count, out=ptr[1:])
    at = np.repeat(week.ptr[:-1][which], count) + (np.arange(int(ptr[-1])) -
                                                    np.repeat(ptr[:-1], count))
    return Week(week.slots[which], ptr, week.lo[at], week.hi[at], week.aligned[which])


def _week(items: list[tuple[Availability, str]], start: datetime) -> Week:
    n = len(items)
    rows, lo, hi = _raw_intervals(items, start)
    rows, lo, hi = _merge(rows, lo, hi)
    ptr = np.searchsorted(rows, np.arange(n + 1)).astype(np.int64)
    aligned = np.ones(n, dtype=bool)
    aligned[rows[(lo % SLOT_MINUTES != 0) | (hi % SLOT_MINUTES != 0)]] = False
    return Week(_rasterise(n, rows, lo, hi), ptr, lo, hi, aligned)


def _raw_intervals(items: list[tuple[Availability, str]],
                   start: datetime) -> tuple[I64, I64, I64]:
    """(row, lo, hi) of every window occurrence in the week, in exact UTC minutes, DST-true
    (gaps shortened, folds cut out), not yet merged."""
    zones: dict[str, int] = {}
    flex: list[int] = []
    counts: list[int] = []
    zone_of: list[int] = []
    wins: list[tuple[int, int, int]] = []
    fields = attrgetter("day", "start", "end")
    for i, (avail, tz) in enumerate(items):
        if avail.flexible:
            flex.append(i)
            counts.append(0)
            zone_of.append(0)
            continue
        counts.append(len(avail.windows))
        zone_of.append(zones.setdefault(tz, len(zones)))
        wins.extend(map(fields, avail.windows))
    parts_r: list[I64] = [np.array(flex, dtype=np.int64)]
    parts_a: list[I64] = [np.zeros(len(flex), dtype=np.int64)]
    parts_b: list[I64] = [np.full(len(flex), _WEEK_MIN, dtype=np.int64)]
    if wins:
        r = np.repeat(np.arange(len(items), dtype=np.int64), counts)
        z = np.repeat(np.array(zone_of, dtype=np.int64), counts)
        tables = [zone_week(tz, start) for tz in zones]
        rel = np.stack([t.rel for t in tables])
        gap = np.stack([t.gap for t in tables])
        first_wd = np.array([t.first_weekday for t in tables], dtype=np.int64)
        w = np.array(wins, dtype=np.int64).reshape(-1, 3)
        k0 = (w[:, 0] - first_wd[z]) % 7  # first local day (0..6) of the 9 with this weekday
        for k in (k0, k0 + 7):  # a weekday occurs once or twice in the 9 local days
            ok = k <= 8
            zz = z[ok]
            u0 = _to_utc(rel, gap, zz, k[ok] * 1440 + w[ok, 1])
            u1 = _to_utc(rel, gap, zz, k[ok] * 1440 + w[ok, 2])
            rr, aa, bb = _cut_holes(tables, zz, r[ok], u0, u1)
            parts_r.append(rr)
            parts_a.append(aa)
            parts_b.append(bb)
    rows, lo, hi = np.concatenate(parts_r), np.concatenate(parts_a), np.concatenate(parts_b)
    keep = hi > lo
    return rows[keep], lo[keep], hi[keep]


def _to_utc(rel: I64, gap: npt.NDArray[np.bool_], z: I64, x: I64) -> I64:
    """Local minutes ``x`` (from the first local midnight) of zones ``z`` as minutes from the
    week's start, clipped to the week; a minute inside a gap reads as the jump's instant."""
    q = x // 15
    u = rel[z, q] + np.where(gap[z, q], 0, x % 15)
    return np.clip(u, 0, _WEEK_MIN)


def _cut_holes(tables: list[ZoneWeek], z: I64, r: I64, u0: I64, u1: I64) -> Triple:
    """Cut each zone's fall-back repeats (second readings) out of its intervals. A zone has
    at most one hole a week in practice; several are cut one after the other."""
    most = max((len(t.holes) for t in tables), default=0)
    parts: list[Triple] = []
    for h in range(most):
        none = _WEEK_MIN + 1
        h0 = np.array([t.holes[h][0] if len(t.holes) > h else none for t in tables])[z]
        h1 = np.array([t.holes[h][1] if len(t.holes) > h else none for t in tables])[z]
        hit = (u0 < h1) & (u1 > h0)
        parts.append((r[hit], np.maximum(u0[hit], h1[hit]), u1[hit]))  # after the hole
        u1 = np.where(hit, np.minimum(u1, h0), u1)  # before the hole
    parts.append((r, u0, u1))
    return (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]),
            np.concatenate([p[2] for p in parts]))


def _merge(rows: I64, lo: I64, hi: I64) -> Triple:
    """Per row: sort and merge overlapping or touching intervals (to the minute)."""
    if not len(rows):
        return rows, lo, hi
    order = np.lexsort((lo, rows))
    rows, lo, hi = rows[order], lo[order], hi[order]
    span = _WEEK_MIN + 1
    reach = np.maximum.accumulate(rows * span + hi) - rows * span  # running end within row
    head = np.ones(len(rows), dtype=bool)
    head[1:] = (rows[1:] != rows[:-1]) | (lo[1:] > reach[:-1])
    starts = np.flatnonzero(head)
    return rows[starts], lo[starts], np.maximum.reduceat(hi, starts)


def _rasterise(n: int, rows: I64, lo: I64, hi: I64) -> U8:
    out = np.zeros((n, SLOTS), dtype=np.uint8)
    first_slot = -(-lo // SLOT_MINUTES)  # ceil: only whole slots count (inward rounding)
    last_slot = hi // SLOT_MINUTES
    keep = last_slot > first_slot
    first = rows[keep] * SLOTS + first_slot[keep]
    length = (last_slot - first_slot)[keep]
    if len(length):
        # every covered slot's flat index: run starts repeated plus 0, 1, 2... per run
        ends = np.cumsum(length)
        steps = np.arange(int(ends[-1])) - np.repeat(ends - length, length)
        out.reshape(-1)[np.repeat(first, length) + steps] = 1
    return out


def session_starts(slots: U8, session_minutes: int) -> U8:
    """Rows of 0/1: a whole session of ``session_minutes`` fits from this slot on.

    Two learners (or a group) have a session in common exactly when their rows here share a
    1: a run of L free slots from s in the common time is a run from s in every row."""
    need = max(1, -(-session_minutes // SLOT_MINUTES))
    out = slots.copy()
    run = 1
    while run < need:  # doubling: runs of 1, 2, 4... then the remainder
        step = min(run, need - run)
        if step >= SLOTS:
            out[:] = 0
            break
        out[:, :SLOTS - step] &= out[:, step:]
        out[:, SLOTS - step:] = 0
        run += step
    return out


def common_minutes(week: Week, members: list[int]) -> int:
    """Exact minutes a week that every member is free (interval intersection)."""
    common: list[tuple[int, int]] | None = None
    for m in members:
        a, b = int(week.ptr[m]), int(week.ptr[m + 1])
        mine = list(zip(week.lo[a:b].tolist(), week.hi[a:b].tolist(), strict=True))
        common = mine if common is None else intersect(common, mine)
    return sum(b - a for a, b in common or [])
