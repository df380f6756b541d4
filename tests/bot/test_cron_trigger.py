"""bot/scheduler.py's APScheduler trigger fires exactly when core/cron.py says, across
zones and DST changes: one cron dialect, whoever computes the times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.scheduler import crontab_trigger, fire_times
from core.cron import CronError, parse_cron
from core.cron import fire_times as core_fire_times

EXPRS = ["0 18 * * mon,thu", "*/30 9-17 * * 1-5", "30 2 * * *", "30 1 * * *", "0 0 1 jan *",
         "15 */6 * * 0", "0 9 13 * fri", "5/20 1-3 * 3,11 *", "0 12 * * 7", "59 23 31 * *",
         "0 2 * * sun", "*/15 0-3 1-9 mar,oct,nov *"]
ZONES = ["UTC", "Europe/London", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata",
         "America/Santiago"]
# Each window spans a DST change somewhere: spring and autumn in both hemispheres.
WINDOWS = [(datetime(2026, 3, 1, tzinfo=UTC), 40), (datetime(2026, 9, 25, tzinfo=UTC), 45),
           (datetime(2026, 3, 30, tzinfo=UTC), 14)]


def _utc(times: list[datetime]) -> list[datetime]:
    # Compare instants: an ambiguous local time never equals another zone's datetime.
    return [t.astimezone(UTC) for t in times]


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize("expr", EXPRS)
def test_trigger_fires_when_the_core_says(expr: str, zone: str) -> None:
    spec = parse_cron(expr)
    assert spec is not None
    trigger = crontab_trigger(expr, zone)
    for start, days in WINDOWS:
        until = start + timedelta(days=days)
        expected = _utc(core_fire_times(spec, start, until, zone))
        assert _utc(fire_times(trigger, start, until)) == expected, (expr, zone, start)


def test_the_comparison_is_not_vacuous() -> None:
    spec = parse_cron("*/15 0-3 1-9 mar,oct,nov *")
    assert spec is not None
    start = datetime(2026, 3, 1, tzinfo=UTC)
    assert len(core_fire_times(spec, start, start + timedelta(days=40), "Europe/London")) > 100


def test_the_trigger_takes_the_parsed_line_only() -> None:
    with pytest.raises(CronError, match="not a valid day of week"):
        crontab_trigger("0 18 * * 9", "UTC")
    with pytest.raises(CronError):
        crontab_trigger("off", "UTC")
