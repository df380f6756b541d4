"""Suggested meeting times: the best few session-long slots in everyone's common time.

Works on the half-hour UTC slot masks, so every suggestion starts on :00 or :30 UTC and
lies entirely inside every member's availability. Preference, in order: a time that is
sensible for every member locally (09:00-22:00 best, 07:00-23:30 acceptable), distinct
days, then earlier in the week. Suggestions never overlap and never start before ``now``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from math import ceil

from core.availability import Availability, week_start
from core.matching.slots import SLOT_MINUTES, SLOTS, slot_masks, slot_time, to_bits, utc_offset_hours
from core.settings import CommunitySettings


def _comfort(start_h: float, end_h: float) -> int:
    """2: comfortable local hours, 1: acceptable, 0: night."""
    length = end_h - start_h
    start_h %= 24
    end_h = start_h + length
    if 9 <= start_h and end_h <= 22:
        return 2
    if 7 <= start_h and end_h <= 23.5:
        return 1
    return 0


def suggest_times(members: list[tuple[Availability, str]], settings: CommunitySettings,
                  now: datetime) -> list[tuple[datetime, datetime]]:
    """The suggested times for any set of members (used by manual pairing too)."""
    start = week_start(now)
    masks = slot_masks(members, start)
    common = -1
    for row in masks:
        common &= to_bits(row)
    offsets = [utc_offset_hours(tz, start) for _, tz in members]
    return best_slots(common, start, now, settings.session_minutes, offsets,
                      settings.suggested_times)


def best_slots(common: int, start: datetime, now: datetime, session_minutes: int,
               offsets: list[float], k: int) -> list[tuple[datetime, datetime]]:
    """Up to ``k`` (start, end) UTC slots of ``session_minutes`` inside ``common`` (slot bits)."""
    length = max(1, ceil(session_minutes / SLOT_MINUTES))
    common &= (1 << SLOTS) - 1
    fits = common
    for t in range(1, length):
        fits &= common >> t  # bit s stays set only if slots s .. s+length-1 are all free
    first = max(0, ceil((now - start).total_seconds() / 60 / SLOT_MINUTES))
    options: list[tuple[int, int, int]] = []  # (-comfort, day, slot)
    for s in range(first, SLOTS - length + 1):
        if not fits >> s & 1:
            continue
        utc_h = s * SLOT_MINUTES / 60
        comfort = min((_comfort(utc_h + o, utc_h + o + session_minutes / 60) for o in offsets),
                      default=2)
        options.append((-comfort, s * SLOT_MINUTES // 1440, s))
    options.sort()
    chosen: list[int] = []
    days: set[int] = set()
    for distinct in (True, False):
        for _, day, s in options:
            if len(chosen) >= k:
                break
            if distinct and day in days:
                continue
            if any(abs(s - c) < length for c in chosen):
                continue
            chosen.append(s)
            days.add(day)
    span = timedelta(minutes=session_minutes)
    return [(slot_time(start, s), slot_time(start, s) + span) for s in sorted(chosen)]
