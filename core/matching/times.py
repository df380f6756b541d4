"""Suggested meeting times: the best few session-long slots in everyone's common time.

Works on the quarter-hour UTC slot masks (DST-true, core/matching/slots.py), so every
suggestion starts on a quarter hour UTC and lies entirely inside every member's real
availability (never in a spring-forward gap). Preference, in order: a time that is
sensible for every member locally (09:00-22:00 best, 07:00-23:30 acceptable), a day not
suggested yet, then earlier in the week. Suggestions never overlap and never start before
``now``. All matches of a round are handled at once (numpy), k greedy picks per match.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from math import ceil

import numpy as np
import numpy.typing as npt

from core.availability import Availability, week_start
from core.matching.slots import SLOT_MINUTES, SLOTS, U8, slot_masks, utc_offset_hours
from core.settings import CommunitySettings

Slot = tuple[datetime, datetime]
_DAY = 24 * 60 // SLOT_MINUTES
CHUNK = 2048


def suggest_times(members: list[tuple[Availability, str]], settings: CommunitySettings,
                  now: datetime) -> list[Slot]:
    """The suggested times for any set of members (used by manual pairing too)."""
    start = week_start(now)
    masks = slot_masks(members, start)
    common = masks.min(axis=0, keepdims=True) if len(masks) else np.ones((1, SLOTS), np.uint8)
    offsets = np.array([[utc_offset_hours(tz, start) for _, tz in members]], dtype=np.float64)
    return best_slots(common, offsets, start, now, settings.session_minutes,
                      settings.suggested_times)[0]


def comfort(offsets: npt.NDArray[np.float64], length_h: float) -> npt.NDArray[np.int8]:
    """(members..., 336): 2 comfortable, 1 acceptable, 0 night, for a session starting at
    each slot, in each member's local time (``offsets``: local hour of slot 0, NaN = no
    member)."""
    start_h = (np.arange(SLOTS) * SLOT_MINUTES / 60)[None, :] + offsets.reshape(-1, 1)
    local = np.mod(start_h, 24)
    end = local + length_h
    out = np.where((local >= 9) & (end <= 22), 2, np.where((local >= 7) & (end <= 23.5), 1, 0))
    out = np.where(np.isnan(start_h), 2, out)  # padding: no constraint
    return out.reshape((*offsets.shape, SLOTS)).astype(np.int8)


def best_slots(common: U8, offsets: npt.NDArray[np.float64], start: datetime, now: datetime,
               session_minutes: int, k: int, *, starts: U8 | None = None) -> list[list[Slot]]:
    """For each row of ``common`` (a match's shared slots) and its members' UTC offsets
    (rows padded with NaN), up to ``k`` (start, end) UTC slots of ``session_minutes``.
    ``starts``: the slots a whole session fits from, when the caller has them (the AND of
    the members' ``slots.session_starts`` rows); else they are found from ``common``."""
    hour0 = start.hour + start.minute / 60  # slot 0 is this UTC time of day
    codes, inverse = np.unique(np.nan_to_num(offsets, nan=99.0), return_inverse=True)
    table = comfort(np.where(codes == 99.0, np.nan, codes + hour0), session_minutes / 60)
    inverse = inverse.reshape(offsets.shape)
    first = max(0, ceil((now - start).total_seconds() / 60 / SLOT_MINUTES))
    day_of = (np.arange(SLOTS) + round(hour0 * 60) // SLOT_MINUTES) // _DAY  # UTC dates 0..7
    length = max(1, ceil(session_minutes / SLOT_MINUTES))
    chosen = np.full((len(common), k), SLOTS, dtype=np.int64)
    for r0 in range(0, len(common), CHUNK):  # small chunks: temporaries stay cheap
        part = slice(r0, r0 + CHUNK)
        fits = _fits(common[part], length) if starts is None else starts[part].astype(bool)
        chosen[part] = _pick(fits, table, inverse[part], first, day_of, length, k)
    span = timedelta(minutes=session_minutes)
    begins = [(start + timedelta(minutes=SLOT_MINUTES * s)) for s in range(SLOTS)]
    ends = [t + span for t in begins]
    return [[(begins[s], ends[s]) for s in row if s < SLOTS]
            for row in np.sort(chosen, axis=1).tolist()]


def _fits(common: U8, length: int) -> npt.NDArray[np.bool_]:
    """A start fits if it and the next length-1 slots are free."""
    fits = common.astype(bool)
    for t in range(1, length):
        fits[:, :SLOTS - t] &= common[:, t:].astype(bool)
        fits[:, SLOTS - t:] = False
    return fits


def _pick(fits: npt.NDArray[np.bool_], table: npt.NDArray[np.int8],
          inverse: npt.NDArray[np.int64], first: int, day_of: npt.NDArray[np.int64], length: int,
          k: int) -> npt.NDArray[np.int64]:
    """Greedy picks on the (few) fitting starts only, all matches of the chunk at once."""
    m = len(fits)
    fits[:, :first] = False
    r, s = np.nonzero(fits)  # row-major: grouped by match, slots ascending
    ease = table[inverse[r, 0], s]
    for col in range(1, inverse.shape[1]):
        np.minimum(ease, table[inverse[r, col], s], out=ease)
    key = ease.astype(np.int64) * 1000 - s  # comfort first, then earlier; unique per match
    chosen = np.full((m, k), SLOTS, dtype=np.int64)
    day_used = np.zeros((m, 8), dtype=bool)
    alive = np.ones(len(r), dtype=bool)
    for pick in range(k):
        live = np.flatnonzero(alive)
        if not len(live):
            break
        rr, ss = r[live], s[live]
        score = key[live] + np.where(day_used[rr, day_of[ss]], 0, 10_000)  # a new day first
        heads = np.flatnonzero(np.r_[True, rr[1:] != rr[:-1]])
        best = np.maximum.reduceat(score, heads)
        hit = live[score == np.repeat(best, np.diff(np.r_[heads, len(live)]))]
        chosen[r[hit], pick] = s[hit]
        day_used[r[hit], day_of[s[hit]]] = True
        mark = np.full(m, -SLOTS, dtype=np.int64)
        mark[r[hit]] = s[hit]
        alive &= np.abs(s - mark[r]) >= length  # no overlapping suggestions
    return chosen
