"""Availability: parsing, UTC conversion across DST, overlap."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.availability import (
    AvailabilityError,
    TimeZoneError,
    check_timezone,
    overlap_hours,
    parse_availability,
    utc_intervals,
)

SUMMER = datetime(2026, 7, 6, tzinfo=UTC)  # a Monday
WINTER = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday


def test_parses_ranges_lists_and_twelve_hour_times() -> None:
    a = parse_availability("Mon-Fri 18:00-21:00, Sat 10:00-14:00; tue/thu 7am-8:30am")
    assert a.weekly_hours() == 5 * 3 + 4 + 2 * 1.5
    assert parse_availability("weekends 10-12").weekly_hours() == 4
    assert parse_availability("FLEXIBLE").flexible


def test_overnight_window_runs_into_the_next_day() -> None:
    a = parse_availability("Fri 22:00-02:00")
    [(start, end)] = utc_intervals(a, "UTC", WINTER)
    assert (start.weekday(), start.hour, end.weekday(), end.hour) == (4, 22, 5, 2)


@pytest.mark.parametrize(("text", "bad"), [
    ("Mon-Fri 18:00-21:00, Sut 10:00-12:00", "'sut'"),
    ("Mon 25:00-26:00", "'25:00'"),
    ("Monday evenings", "'Monday evenings'"),
    ("Mon 18:00-18:00", "same time"),
    ("", "empty"),
])
def test_errors_name_the_bad_token(text: str, bad: str) -> None:
    with pytest.raises(AvailabilityError) as exc:
        parse_availability(text)
    assert bad.lower() in str(exc.value).lower()


def test_london_evening_is_dst_aware() -> None:
    a = parse_availability("Mon 18:00-19:00")
    assert utc_intervals(a, "Europe/London", SUMMER)[0][0].hour == 17
    assert utc_intervals(a, "Europe/London", WINTER)[0][0].hour == 18


def test_lagos_london_lima_overlap_in_winter_and_summer() -> None:
    lagos = (parse_availability("Mon-Fri 19:00-23:00"), "Africa/Lagos")  # UTC+1 all year
    london = (parse_availability("Mon-Fri 18:00-21:00"), "Europe/London")
    lima = (parse_availability("Mon-Fri 13:00-16:00"), "America/Lima")  # UTC-5 all year
    # Winter: Lagos 18-22 UTC, London 18-21 UTC, Lima 18-21 UTC -> 3 h a day together.
    assert overlap_hours([lagos, london, lima], WINTER) == 15
    # Summer: London 17-20 UTC -> 18-20 UTC together, 2 h a day.
    assert overlap_hours([lagos, london, lima], SUMMER) == 10


def test_flexible_overlaps_everything() -> None:
    flexible = (parse_availability("Flexible"), "Asia/Tokyo")
    evening = (parse_availability("Sat 10:00-14:00"), "America/Lima")
    assert overlap_hours([flexible, evening], WINTER) == 4


def test_unknown_time_zone_is_refused_with_a_hint() -> None:
    with pytest.raises(TimeZoneError, match="Unknown time zone"):
        check_timezone("Europe/Londn")
    assert check_timezone("America/Lima").key == "America/Lima"


@given(
    st.sampled_from(["Mon", "Tue", "Sat", "Sun"]),
    st.integers(0, 23),
    st.integers(1, 12),
    st.sampled_from(
        ["UTC", "Europe/London", "America/New_York", "Asia/Kolkata", "Australia/Sydney"]
    ),
)
def test_weekly_hours_survive_conversion_to_utc(
    day: str, start: int, length: int, zone: str
) -> None:
    end = (start + length) % 24
    a = parse_availability(f"{day} {start:02d}:00-{end:02d}:00")
    # Away from DST changes every window keeps its length in UTC.
    for week in (WINTER, SUMMER):
        total = sum((b - s).total_seconds() for s, b in utc_intervals(a, zone, week)) / 3600
        assert total == pytest.approx(length, abs=1.0)
