"""Availability across time zones: London, Lagos and Lima in winter, summer and the DST week."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from match_factory import DST_WEEK, SUMMER, WINTER, cand, groups_of, run

from core.availability import Availability, Window, overlap_hours, parse_availability, week_start
from core.matching.slots import SLOT_MINUTES, slot_masks
from core.settings import CommunitySettings

LONDON = ("Europe/London", "Mon-Fri 18:00-22:00")
LAGOS = ("Africa/Lagos", "Mon-Fri 19:00-23:00")
LIMA = ("America/Lima", "Mon-Fri 14:00-18:00")


def slot_hours(people: list[tuple[str, str]], now: datetime) -> float:
    masks = slot_masks([(parse_availability(a), tz) for tz, a in people], week_start(now))
    return float(masks.min(axis=0).sum()) * SLOT_MINUTES / 60


def exact_hours(people: list[tuple[str, str]], now: datetime) -> float:
    return overlap_hours([(parse_availability(a), tz) for tz, a in people], week_start(now))


@pytest.mark.parametrize(("people", "now", "hours"), [
    ([LONDON, LAGOS], WINTER, 20), ([LONDON, LIMA], WINTER, 15), ([LAGOS, LIMA], WINTER, 15),
    ([LONDON, LAGOS, LIMA], WINTER, 15),
    ([LONDON, LAGOS], SUMMER, 15), ([LONDON, LIMA], SUMMER, 10), ([LAGOS, LIMA], SUMMER, 15),
    ([LONDON, LAGOS, LIMA], SUMMER, 10),
])
def test_evening_overlap_winter_and_summer(
    people: list[tuple[str, str]], now: datetime, hours: float
) -> None:
    assert slot_hours(people, now) == hours
    assert exact_hours(people, now) == hours


def test_dst_change_inside_the_week() -> None:
    # Thu 26 - Sat 28 March London is on GMT (18-22 UTC, 4 h with Lagos), from Sunday 29 on
    # BST (17-21 UTC, 3 h with Lagos 18-22 UTC): 3 x 4 + 4 x 3 = 24 h.
    people = [("Europe/London", "daily 18:00-22:00"), ("Africa/Lagos", "daily 19:00-23:00")]
    assert slot_hours(people, DST_WEEK) == 24
    assert exact_hours(people, DST_WEEK) == 24


def test_winter_pairs_london_with_lima_but_summer_does_not() -> None:
    settings_ = CommunitySettings(min_overlap_hours=12)
    london = cand(1, tz=LONDON[0], avail=LONDON[1])
    lima = cand(2, tz=LIMA[0], avail=LIMA[1])
    assert groups_of(run([london, lima], now=WINTER, settings=settings_)) == [{1, 2}]
    summer = run([london, lima], now=SUMMER, settings=settings_)
    assert summer.matches == []
    assert "free time" in summer.unmatched[1] and "12 h" in summer.unmatched[1]


def test_flexible_overlaps_everything() -> None:
    people = [("UTC", "Flexible"), ("Asia/Kolkata", "Sat 10:00-14:00")]
    assert slot_hours(people, WINTER) == 4 == exact_hours(people, WINTER)


ZONES = ["Europe/London", "Africa/Lagos", "America/Lima", "America/New_York", "Asia/Kolkata",
         "Australia/Adelaide", "Pacific/Auckland", "America/Sao_Paulo", "UTC", "Europe/Berlin"]

# quarter-hour offsets and DST shifts: on a quarter-hour grid these are exact too
QUARTER_ZONES = [*ZONES, "Asia/Kathmandu", "Australia/Lord_Howe", "Pacific/Chatham",
                 "Australia/Eucla"]


@st.composite
def availabilities(draw: st.DrawFn, step: int) -> Availability:
    if draw(st.booleans()) and draw(st.booleans()) and draw(st.booleans()):
        return Availability(flexible=True)
    windows = set()
    for _ in range(draw(st.integers(1, 4))):
        day = draw(st.integers(0, 6))
        start = draw(st.integers(0, 24 * 60 // step - 1)) * step
        length = draw(st.integers(1, 12 * 60 // step)) * step
        windows.add(Window(day, start, start + length))
    return Availability(False, tuple(sorted(windows, key=lambda w: (w.day, w.start))))


@settings(max_examples=60, deadline=None)
@given(a=availabilities(15), b=availabilities(15), za=st.sampled_from(QUARTER_ZONES),
       zb=st.sampled_from(QUARTER_ZONES), hours=st.integers(0, 24 * 365))
def test_quarter_hour_windows_match_the_exact_intervals(a: Availability, b: Availability, za: str,
                                                     zb: str, hours: int) -> None:
    start = week_start(datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=hours))
    masks = slot_masks([(a, za), (b, zb)], start)
    slots = float(np.minimum(masks[0], masks[1]).sum()) * SLOT_MINUTES / 60
    assert slots == overlap_hours([(a, za), (b, zb)], start)


@settings(max_examples=40, deadline=None)
@given(a=availabilities(5), b=availabilities(5), za=st.sampled_from([*ZONES, "Asia/Kathmandu"]),
       zb=st.sampled_from(ZONES), hours=st.integers(0, 24 * 365))
def test_any_window_is_never_overestimated(a: Availability, b: Availability, za: str, zb: str,
                                           hours: int) -> None:
    # Slots count only when fully free, so the hard minimum is never met on paper only.
    start = week_start(datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=hours))
    masks = slot_masks([(a, za), (b, zb)], start)
    assert (
        float(np.minimum(masks[0], masks[1]).sum()) * SLOT_MINUTES / 60
        <= overlap_hours([(a, za), (b, zb)], start) + 1e-9
    )
