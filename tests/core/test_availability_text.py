"""Availability text read the way people write it, and written back as understood."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.availability import (
    Availability,
    AvailabilityError,
    Window,
    describe,
    describe_windows,
    normalised,
    parse_availability,
)
from core.availability_text import canonical

H = 60


def windows(text: str) -> list[tuple[int, str, str]]:
    """(day, HH:MM, HH:MM) of each window, for readable assertions."""
    def fmt(m: int) -> str:
        return f"{m // 60:02d}:{m % 60:02d}"
    return [(w.day, fmt(w.start), fmt(w.end)) for w in parse_availability(text).windows]


# ---- issue 11, "Availability text": each finding -------------------------------------------

def test_nine_to_five_is_a_working_day_not_twenty_hours() -> None:
    a = parse_availability("Mon-Fri 9-5")
    assert windows("Mon-Fri 9-5") == [(d, "09:00", "17:00") for d in range(5)]
    assert a.weekly_hours() == 40


def test_seven_to_nine_pm_is_the_evening() -> None:
    assert windows("Mon 7-9pm") == [(0, "19:00", "21:00")]


def test_a_twenty_hour_overnight_window_is_refused_with_a_suggestion() -> None:
    with pytest.raises(AvailabilityError) as exc:
        parse_availability("Mon 14:00-10:00")
    message = str(exc.value)
    assert "Did you mean Mon 14:00-22:00 or Mon 10:00-14:00?" in message
    assert "20 hours" in message


def test_a_zero_width_space_is_not_an_invisible_culprit() -> None:
    assert windows("Mon\u200b-Fri 18:00-21:00") == [(d, "18:00", "21:00") for d in range(5)]
    # Bidi controls, a BOM and no-break spaces are no obstacle either.
    assert windows("\ufeffSat\u00a0\u202e10-12\u2069") == [(5, "10:00", "12:00")]
    with pytest.raises(AvailabilityError) as exc:
        parse_availability("Mon\u200b 18:00-21:00, Sut 10:00-12:00")
    assert "\u200b" not in str(exc.value)
    assert "'sut'" in str(exc.value).lower()


# ---- the grammar ---------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("Mon 9am-5", [(0, "09:00", "17:00")]),
    ("Sat noon-2pm", [(5, "12:00", "14:00")]),
    ("Fri 10pm-midnight", [(4, "22:00", "24:00")]),
    ("Sun midnight-2am", [(6, "00:00", "02:00")]),
    ("Mon 11-1pm", [(0, "11:00", "13:00")]),
    ("Mon 10-2am", [(0, "22:00", "26:00")]),  # overnight, 4 h
    ("Sat 2-4", [(5, "14:00", "16:00")]),  # nobody studies 02:00-04:00 by accident
    ("Mon 7-9", [(0, "07:00", "09:00")]),
    ("Mon 6.30pm-8.30pm", [(0, "18:30", "20:30")]),
    ("Mon 6:30 p.m.-8 p.m.", [(0, "18:30", "20:00")]),
    ("Mon 18h-20h30", [(0, "18:00", "20:30")]),
    ("Mondays 0900-1700", [(0, "09:00", "17:00")]),
    ("Mon 02:00-04:00", [(0, "02:00", "04:00")]),  # a leading zero means what it says
    ("Fri 22:00-02:00", [(4, "22:00", "26:00")]),
    ("Mon to Wed from 9 to 5", [(d, "09:00", "17:00") for d in range(3)]),
    ("Mon – Wed 9–5", [(d, "09:00", "17:00") for d in range(3)]),
    ("9-5 weekdays", [(d, "09:00", "17:00") for d in range(5)]),
    ("Mon, Wed, Fri 18-20", [(d, "18:00", "20:00") for d in (0, 2, 4)]),
    ("Tue/Thu 19:00-21:00", [(1, "19:00", "21:00"), (3, "19:00", "21:00")]),
    ("Tue and Thu 19:00-21:00", [(1, "19:00", "21:00"), (3, "19:00", "21:00")]),
    ("Mon 9-12, 14-17", [(0, "09:00", "12:00"), (0, "14:00", "17:00")]),
    ("Mon 9-12\nTue 14-17", [(0, "09:00", "12:00"), (1, "14:00", "17:00")]),
    ("weekends 10-12", [(5, "10:00", "12:00"), (6, "10:00", "12:00")]),
    ("Fri-Mon 10:00-11:00", [(d, "10:00", "11:00") for d in (0, 4, 5, 6)]),
    ("Mon 10-12, Mon 11-13", [(0, "10:00", "13:00")]),  # overlapping windows merge
    ("Mon 20:00-24:00, Tue 00:00-02:00", [(0, "20:00", "26:00")]),
    ("Ｍｏｎ ９-５", [(0, "09:00", "17:00")]),  # full-width characters fold
])
def test_reads_as_people_write(text: str, expected: list[tuple[int, str, str]]) -> None:
    assert windows(text) == expected


@pytest.mark.parametrize(("text", "bad"), [
    ("Mon 09:00-05:00", "Did you mean Mon 09:00-17:00 or Mon 05:00-09:00?"),
    ("Mon 8pm-9am", "13 hours"),
    ("Mon 13pm-2pm", "'13pm'"),
    ("Mon 9:75-10", "'9:75'"),
    ("Mon", "days without hours"),
    ("9-5", "names no day"),
    ("Mon 18:00-18:00", "same time"),
    ("Monday evenings", "'Monday evenings' is not a window"),
    ("\u200b\u2060", "empty"),
])
def test_refusals_say_what_to_write(text: str, bad: str) -> None:
    with pytest.raises(AvailabilityError) as exc:
        parse_availability(text)
    assert bad in str(exc.value)


def test_describe_says_what_was_understood_in_the_learners_zone() -> None:
    a = parse_availability("Mon-Fri 9-5")
    assert describe(a, "Europe/London") == "Mon-Fri 09:00-17:00 Europe/London, 40 h a week"
    b = parse_availability("tue/thu 7pm-9:30pm; weekends 10-12, Fri 22:00-01:15")
    assert describe_windows(b) == ("Tue/Thu 19:00-21:30, Fri 22:00-01:15, Sat/Sun 10:00-12:00")
    assert describe(b, "Asia/Tokyo").endswith("Asia/Tokyo, 12 h 15 min a week")
    assert describe(parse_availability("anytime"), "UTC") == "Flexible: any time, UTC"
    assert describe_windows(parse_availability("Mon/Tue/Wed/Sat 10-11")) == \
        "Mon-Wed/Sat 10:00-11:00"


def test_normalised_text_is_stored_as_understood_and_fits_the_form() -> None:
    assert normalised("Mon-Fri\u200b 9-5", 300) == "Mon-Fri 09:00-17:00"
    long = ", ".join(f"Mon {h}:00-{h}:30" for h in range(13, 23))
    assert len(describe_windows(parse_availability(long))) > 150
    stored = normalised(long, 150)
    assert parse_availability(stored) == parse_availability(long)
    assert len(stored) <= len(long)


def test_canonical_cuts_long_stretches_at_midnight_and_wraps_the_week() -> None:
    # 26 hours in a row: kept whole it would be one 26-hour "day".
    a = parse_availability("Fri 22:00-24:00, Sat 00:00-24:00")
    assert [(w.day, w.start, w.end) for w in a.windows] == [(4, 22 * H, 24 * H), (5, 0, 24 * H)]
    # Sunday night into Monday morning is one overnight window starting on Sunday.
    b = canonical([Window(0, 0, 2 * H), Window(6, 22 * H, 24 * H)])
    assert b == (Window(6, 22 * H, 26 * H),)
    assert parse_availability("daily 0-24").weekly_hours() == 168


# ---- properties ----------------------------------------------------------------------------

_DAY_SPECS = st.sampled_from(["Mon", "Tue", "Sat", "Sun", "Mon-Fri", "weekends", "Fri-Mon",
                              "Tue/Thu", "daily", "Wed and Sun"])
_TIMES = st.one_of(
    st.integers(0, 24).map(lambda h: f"{h:02d}:00"),
    st.integers(0, 23).flatmap(lambda h: st.sampled_from([f"{h}:30", f"{h:02d}:15"])),
    st.integers(1, 12).flatmap(lambda h: st.sampled_from([f"{h}", f"{h}am", f"{h}pm",
                                                          f"{h}:45pm"])),
    st.sampled_from(["noon", "midnight", "0930", "18h", "18h30"]),
)
_WINDOW = st.tuples(_DAY_SPECS, _TIMES, _TIMES).map(lambda t: f"{t[0]} {t[1]}-{t[2]}")


@settings(max_examples=300, deadline=None)
@given(st.lists(_WINDOW, min_size=1, max_size=6).map(", ".join))
def test_accepted_windows_are_at_most_a_day_and_round_trip(text: str) -> None:
    try:
        a = parse_availability(text)
    except AvailabilityError:
        return  # refusals are fine; what is accepted must be sane
    assert all(0 < w.end - w.start <= 24 * H for w in a.windows)
    assert all(0 <= w.start < 24 * H and 0 <= w.day < 7 for w in a.windows)
    # An overnight window (ending after midnight) lasts at most 12 hours.
    assert all(w.end <= 24 * H or w.end - w.start <= 12 * H for w in a.windows)
    # No minute is counted twice: a week holds at most 168 hours.
    assert 0 < a.weekly_hours() <= 168
    assert parse_availability(describe_windows(a)) == a


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 6), st.integers(0, 47), st.integers(1, 24)),
                min_size=1, max_size=12))
def test_any_set_of_windows_round_trips_through_describe(raw: list[tuple[int, int, int]]) -> None:
    a = Availability(False, canonical([Window(d, s * 30, s * 30 + n * 30) for d, s, n in raw]))
    assert parse_availability(describe_windows(a)) == a
    assert canonical(a.windows) == a.windows
