"""Weekly availability as UTC slot masks: 336 half-hour slots from ``week_start(now)``.

The engine compares thousands of learners at once, so availability becomes a row of 0/1
per half hour of the coming week in UTC; the overlap of two learners is then a dot product
(a matrix product for a whole block). The conversion is vectorised but follows
``core.availability.utc_intervals`` exactly: each window is converted at its wall-clock
endpoints per concrete local day (so DST is right), clipped to the week and then rasterised
*inward* (a slot counts only when the learner is free for all of it). Inward rounding makes
slot overlap a lower bound of the true overlap, so a pair that passes the hard minimum on
slots passes it on the exact intervals too.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from functools import lru_cache
from operator import attrgetter

import numpy as np
import numpy.typing as npt

from core.availability import Availability, TimeZoneError, check_timezone

SLOT_MINUTES = 30
SLOTS = 7 * 24 * 60 // SLOT_MINUTES  # 336
_QUARTERS = 10 * 96 + 1  # local quarter hours covered: 9 days + an overnight window's end
_WEEK_MIN = 7 * 24 * 60

U8 = npt.NDArray[np.uint8]


@lru_cache(maxsize=1024)
def _zone_table(tz: str, start: datetime) -> tuple[npt.NDArray[np.int64], int, float]:
    """For one zone and week: minutes from ``start`` to each local quarter hour of the 10
    local days that begin the day before ``start``; the weekday of that first day; and the
    zone's UTC offset in hours at ``start``.

    Zones change offset on quarter hours, so a minute inside a quarter has the offset of the
    quarter's start: 961 zoneinfo conversions per zone instead of one per window.
    """
    try:
        zone = check_timezone(tz)
    except TimeZoneError:  # profiles are validated on join; an old bad one counts as UTC
        zone = check_timezone("UTC")
    first_local = start.astimezone(zone).date() - timedelta(days=1)
    base = datetime.combine(first_local, time(0))  # naive local wall clock  # noqa: DTZ001
    rel = np.empty(_QUARTERS, dtype=np.int64)
    for q in range(_QUARTERS):
        local = (base + timedelta(minutes=15 * q)).replace(tzinfo=zone)
        rel[q] = int((local.astimezone(UTC) - start).total_seconds() // 60)
    offset = zone.utcoffset(start)
    hours = offset.total_seconds() / 3600 if offset is not None else 0.0
    return rel, first_local.weekday(), hours


def utc_offset_hours(tz: str, start: datetime) -> float:
    """The zone's UTC offset at ``start`` in hours (UTC if the name is unknown)."""
    return _zone_table(tz, start)[2]


def slot_masks(items: list[tuple[Availability, str]], start: datetime) -> U8:
    """Rows of 0/1 (uint8, shape (n, 336)): learner free for the whole half hour in UTC."""
    n = len(items)
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
    rows: npt.NDArray[np.int64] = np.repeat(np.arange(n, dtype=np.int64), counts)
    zids: npt.NDArray[np.int64] = np.repeat(np.array(zone_of, dtype=np.int64), counts)
    out = np.zeros((n, SLOTS), dtype=np.uint8)
    out[flex] = 1
    if wins:
        tables = [_zone_table(tz, start) for tz in zones]
        rel = np.stack([t[0] for t in tables])
        first_wd = np.array([t[1] for t in tables], dtype=np.int64)
        r, z = np.array(rows, dtype=np.int64), np.array(zids, dtype=np.int64)
        w = np.array(wins, dtype=np.int64).reshape(-1, 3)
        wd, a, b = w[:, 0], w[:, 1], w[:, 2]
        k0 = (wd - first_wd[z]) % 7  # first local day (0..6) of the 9 with this weekday
        flat = out.reshape(-1)
        for k in (k0, k0 + 7):  # a weekday occurs once or twice in the 9 local days
            ok = k <= 8
            x0, x1 = k[ok] * 1440 + a[ok], k[ok] * 1440 + b[ok]
            zz = z[ok]
            u0 = np.clip(rel[zz, x0 // 15] + x0 % 15, 0, _WEEK_MIN)
            u1 = np.clip(rel[zz, x1 // 15] + x1 % 15, 0, _WEEK_MIN)
            lo = -(-u0 // SLOT_MINUTES)  # ceil: only whole slots count (inward rounding)
            hi = u1 // SLOT_MINUTES
            keep = hi > lo
            first = r[ok][keep] * SLOTS + lo[keep]
            length = (hi - lo)[keep]
            # every covered slot's flat index: run starts repeated plus 0, 1, 2... per run
            ends = np.cumsum(length)
            steps = np.arange(int(ends[-1]) if len(ends) else 0) - np.repeat(ends - length, length)
            flat[np.repeat(first, length) + steps] = 1
    return out

