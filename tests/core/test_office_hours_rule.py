"""Reading an office-hour rule and computing its dates: exact minutes in the supporter's
zone, the same wall-clock time across a DST change, every n weeks."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from core.office_hours import (
    OfficeHour,
    RuleError,
    first_day,
    index_of,
    occurrence,
    occurrences,
    parse_rule,
)

TOPICS = ("Python", "Data Science")
NOW = datetime(2026, 3, 2, 9, tzinfo=UTC)  # a Monday


def _hour(rule: str, zone: str = "Europe/London") -> OfficeHour:
    r = parse_rule(rule, TOPICS, "Python")
    return OfficeHour(1, 1, r.window.day, r.window.start, r.window.end, zone, r.every_weeks,
                      r.seats, r.topic, first_day(r.window.day, zone, NOW), NOW, id=1)


@pytest.mark.parametrize(("text", "every", "seats", "topic", "span"), [
    ("Tue 18:00-20:00 every week, 3 seats, topic Python", 1, 3, "Python", (1080, 1200)),
    ("Tue 6pm-7:30pm every other week, 1-on-1", 2, 1, "Python", (1080, 1170)),
    ("thu 09:15-10:05, topic data science, seats: 4", 1, 4, "Data Science", (555, 605)),
    ("Sat 10-12 fortnightly", 2, 1, "Python", (600, 720)),
    ("Wed 17:00-18:00 every 3 weeks", 3, 1, "Python", (1020, 1080)),
])
def test_rules_are_read_to_the_minute(text: str, every: int, seats: int, topic: str,
                                      span: tuple[int, int]) -> None:
    rule = parse_rule(text, TOPICS, "Python")
    assert (rule.every_weeks, rule.seats, rule.topic) == (every, seats, topic)
    assert (rule.window.start, rule.window.end) == span


def test_an_overnight_or_long_slot_is_refused() -> None:
    with pytest.raises(RuleError, match="end on the day"):
        parse_rule("Fri 22:00-01:00", TOPICS, "Python")
    with pytest.raises(RuleError, match="at most 8 hours"):
        parse_rule("Sat 08:00-18:00", TOPICS, "Python")


def test_the_same_wall_clock_time_across_the_clock_change() -> None:
    hour = _hour("Tue 18:00-19:00")
    assert hour.first_day == date(2026, 3, 3)
    # London moves to BST on 29 March 2026: 18:00 local is 18:00Z before, 17:00Z after.
    starts = [s for _, s, _ in occurrences(hour, NOW, NOW + timedelta(weeks=5))]
    assert [s.hour for s in starts] == [18, 18, 18, 18, 17]
    assert all(s.astimezone(ZoneInfo("Europe/London")).hour == 18 for s in starts)
    k, start, end = occurrences(hour, NOW, NOW + timedelta(weeks=5))[-1]
    assert (start, end) == occurrence(hour, k) and index_of(hour, start) == k == 4


def test_every_other_week_skips_a_week_and_counts_dates_from_the_first() -> None:
    hour = _hour("Tue 18:00-19:00 every other week")
    dates = [(k, s.date()) for k, s, _ in occurrences(hour, NOW, NOW + timedelta(weeks=6))]
    assert dates == [(0, date(2026, 3, 3)), (1, date(2026, 3, 17)), (2, date(2026, 3, 31))]
    later = occurrences(hour, NOW + timedelta(weeks=4), NOW + timedelta(weeks=6))
    assert [k for k, _, _ in later] == [2]


def test_a_zone_far_from_utc_moves_the_utc_day() -> None:
    hour = _hour("Mon 07:00-08:00", zone="Pacific/Auckland")  # UTC+13 in March
    _, start, _ = occurrences(hour, NOW, NOW + timedelta(weeks=1))[0]
    assert start == datetime(2026, 3, 8, 18, tzinfo=UTC)  # Monday 9 March 07:00 NZDT
