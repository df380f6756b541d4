"""core/cron.py, the only cron parser: fields, ranges, steps, names, errors, fire times."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from core.cron import CronError, check_schedule, fire_times, next_fire, parse_cron


def _spec(expr: str):  # type: ignore[no-untyped-def]
    spec = parse_cron(expr)
    assert spec is not None
    return spec


def test_fields_single_values_and_stars() -> None:
    spec = _spec("0 18 * * *")
    assert spec.minutes == {0} and spec.hours == {18}
    assert spec.days == set(range(1, 32)) and spec.months == set(range(1, 13))
    assert spec.weekdays == set(range(7))


def test_ranges_steps_and_lists() -> None:
    spec = _spec("*/15 9-17/4 1,15 1-3 1-5")
    assert spec.minutes == {0, 15, 30, 45}
    assert spec.hours == {9, 13, 17}
    assert spec.days == {1, 15} and spec.months == {1, 2, 3}
    assert spec.weekdays == {1, 2, 3, 4, 5}
    assert _spec("5/20 * * * *").minutes == {5, 25, 45}  # a/n: from a to the end


def test_names_and_sunday_as_0_or_7() -> None:
    assert _spec("0 18 * * mon,thu").weekdays == {1, 4}
    assert _spec("0 18 * * MON-fri").weekdays == {1, 2, 3, 4, 5}
    assert _spec("0 0 1 jan,dec *").months == {1, 12}
    assert _spec("0 0 * * 7").weekdays == {0} == _spec("0 0 * * sun").weekdays
    assert _spec("0 0 * * */2").weekdays == {0, 2, 4, 6}
    assert _spec("0 0 * * 5-7").weekdays == {5, 6, 0}


@pytest.mark.parametrize("expr", ["off", "OFF", "", "manual", " none "])
def test_off_means_no_schedule(expr: str) -> None:
    assert parse_cron(expr) is None and check_schedule(expr) is None


@pytest.mark.parametrize(("expr", "message"), [
    ("every day", "5 fields"),
    ("0 18 * *", "5 fields"),
    ("0 25 * * *", "'25' is not a valid hour (0-23)"),
    ("60 * * * *", "'60' is not a valid minute (0-59)"),
    ("0 0 0 * *", "'0' is not a valid day of month (1-31)"),
    ("0 0 * 13 *", "'13' is not a valid month (1-12)"),
    ("0 18 * * 9", "'9' is not a valid day of week (0-7)"),
    ("0 18 * * funday", "'funday' is not a valid day of week"),
    ("0 0 * jan-mon *", "'mon' is not a valid month"),
    ("*/0 * * * *", "a step of 0 never fires"),
    ("5-1 * * * *", "from low to high"),
    ("*-5 * * * *", "not a valid minute"),
    ("1,,2 * * * *", "not a valid minute"),
])
def test_errors_say_what_is_wrong(expr: str, message: str) -> None:
    with pytest.raises(CronError, match=re.escape(message)):
        parse_cron(expr)
    problem = check_schedule(expr)
    assert problem is not None and message in problem


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_next_fire_is_strictly_after_and_in_the_zone() -> None:
    spec = _spec("0 18 * * mon,thu")
    assert next_fire(spec, utc(2026, 3, 2, 17, 59)) == utc(2026, 3, 2, 18)
    assert next_fire(spec, utc(2026, 3, 2, 18)) == utc(2026, 3, 5, 18)
    london = next_fire(spec, utc(2026, 3, 29), "Europe/London")  # BST from 29 March
    assert london == utc(2026, 3, 30, 17) and london.utcoffset().total_seconds() == 3600


def test_both_days_restricted_must_both_match() -> None:
    # A 13th that is a Friday: February and March 2026 (not a 13th, nor a Friday, alone).
    assert next_fire(_spec("0 9 13 * fri"), utc(2026, 1, 1)) == utc(2026, 2, 13, 9)
    assert next_fire(_spec("0 9 13 * fri"), utc(2026, 2, 13, 9)) == utc(2026, 3, 13, 9)


def test_dst_gap_moves_forward_and_repeated_hour_fires_once() -> None:
    ny = "America/New_York"  # 8 March 2026 02:00 -> 03:00; 1 November 02:00 -> 01:00
    gap = fire_times(_spec("30 2 * * *"), utc(2026, 3, 7, 12), utc(2026, 3, 9, 12), ny)
    assert gap == [utc(2026, 3, 8, 7, 30), utc(2026, 3, 9, 6, 30)]  # 8 March: 03:30 EDT
    twice = fire_times(_spec("30 1 * * *"), utc(2026, 10, 31, 12), utc(2026, 11, 2, 12), ny)
    # (an ambiguous local time never equals another zone's instant: compare in UTC)
    assert [t.astimezone(UTC) for t in twice] == [utc(2026, 11, 1, 5, 30), utc(2026, 11, 2, 6, 30)]


def test_a_line_that_never_fires() -> None:
    assert next_fire(_spec("0 0 30 2 *"), utc(2026, 1, 1)) is None
    leap = next_fire(_spec("0 0 29 2 *"), utc(2026, 1, 1))
    assert leap == utc(2028, 2, 29)
