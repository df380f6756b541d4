"""Time zone names as people type them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.availability import parse_availability, utc_intervals
from core.timezones import (
    TimeZoneError,
    check_timezone,
    resolve_timezone,
    suggest_timezones,
    timezone_note,
    zone_label,
    zones_at,
)

JULY = datetime(2026, 7, 6, tzinfo=UTC)  # a Monday


# ---- issue 11, "Time zones": each finding --------------------------------------------------

@pytest.mark.parametrize(("text", "key"), [
    ("utc", "UTC"), ("europe/paris", "Europe/Paris"), ("EUROPE/LONDON", "Europe/London"),
    ("America/New York", "America/New_York"), ("america / lima", "America/Lima"),
    ("paris", "Europe/Paris"), ("Europe/Paris\u200b", "Europe/Paris"),
])
def test_iana_names_in_any_case(text: str, key: str) -> None:
    assert resolve_timezone(text) == key
    assert check_timezone(text).key == key


@pytest.mark.parametrize(("text", "hours"), [
    ("GMT+2", 2), ("UTC+2", 2), ("utc+02:00", 2), ("+2", 2), ("UTC-5", -5), ("GMT -05:00", -5),
    ("UTC\u22123", -3), ("UTC+14", 14), ("UTC-12", -12),
])
def test_an_offset_means_that_offset_not_its_posix_mirror(text: str, hours: int) -> None:
    zone = check_timezone(text)
    assert zone.utcoffset(JULY) == timedelta(hours=hours)
    assert zone.utcoffset(datetime(2026, 1, 5, tzinfo=UTC)) == timedelta(hours=hours)
    # 18:00 in UTC+2 is 16:00 UTC (the old answer, Etc/GMT+2, made it 20:00).
    [(start, _)] = utc_intervals(parse_availability("Mon 18:00-19:00"), zone.key, JULY)
    assert start.hour == (18 - hours) % 24


def test_gmt_plus_two_is_explained_with_real_zones_and_no_dst() -> None:
    key = resolve_timezone("GMT+2")
    assert key == "Etc/GMT-2" and zone_label(key) == "UTC+02:00"
    note = timezone_note(key)
    assert "no daylight saving time" in note
    assert "Europe/Paris" in note and "Africa/Cairo" in note
    assert timezone_note("Europe/Paris") == ""


def test_a_fractional_offset_is_the_zone_that_keeps_it_all_year() -> None:
    assert resolve_timezone("UTC+05:30") == "Asia/Kolkata"
    assert resolve_timezone("UTC+5:45") == "Asia/Kathmandu"
    with pytest.raises(TimeZoneError) as exc:
        resolve_timezone("UTC-03:30")  # Newfoundland, but only in winter
    assert exc.value.choices == ("America/St_Johns",)
    with pytest.raises(TimeZoneError, match="No time zone uses UTC-05:30"):
        resolve_timezone("UTC-05:30")
    with pytest.raises(TimeZoneError, match="UTC-12 to UTC\\+14"):
        resolve_timezone("UTC+15")


@pytest.mark.parametrize(("text", "key"), [
    ("CET", "CET"), ("cest", "CET"), ("PST", "America/Los_Angeles"), ("JST", "Asia/Tokyo"),
    ("EST", "America/New_York"), ("est", "America/New_York"), ("AEDT", "Australia/Sydney"),
    ("Eastern Time", "America/New_York"), ("z", "UTC"), ("GMT", "GMT"),
])
def test_unambiguous_abbreviations(text: str, key: str) -> None:
    assert resolve_timezone(text) == key


@pytest.mark.parametrize(("text", "choices"), [
    ("IST", ("Asia/Kolkata", "Europe/Dublin", "Asia/Jerusalem")),
    ("cst", ("America/Chicago", "Asia/Shanghai", "America/Havana")),
    ("BST", ("Europe/London", "Asia/Dhaka")),
])
def test_ambiguous_abbreviations_ask_which(text: str, choices: tuple[str, ...]) -> None:
    with pytest.raises(TimeZoneError) as exc:
        resolve_timezone(text)
    assert exc.value.choices == choices
    assert "Which one" in str(exc.value) and all(c in str(exc.value) for c in choices)


def test_unknown_names_are_refused_with_a_hint() -> None:
    with pytest.raises(TimeZoneError, match="Unknown time zone 'Europe/Londn'"):
        check_timezone("Europe/Londn")
    with pytest.raises(TimeZoneError, match="not a time zone"):
        check_timezone("localtime")
    with pytest.raises(TimeZoneError):
        check_timezone("../../etc/passwd")


def test_autocomplete_puts_the_resolved_zone_first() -> None:
    assert suggest_timezones("gmt+2", 3)[0] == "Etc/GMT-2"
    assert suggest_timezones("IST", 3) == ["Asia/Kolkata", "Europe/Dublin", "Asia/Jerusalem"]
    assert suggest_timezones("lond", 5)[0] == "Europe/London"
    assert all("/" in z or z == "UTC" for z in suggest_timezones("a", 25))


def test_zones_at_an_offset_prefer_where_people_live() -> None:
    assert zones_at(timedelta(hours=1), 2) == ["Europe/London", "Europe/Lisbon"]  # July
    assert zones_at(timedelta(hours=9), 1, all_year=True) == ["Asia/Tokyo"]
