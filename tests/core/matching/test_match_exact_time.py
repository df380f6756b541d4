"""Exact time (issue 12): minutes, touching windows, DST gaps and folds, a whole session.

Everything is checked against ``tests.oracle.free_minutes``, which reads the raw windows
minute by minute with zoneinfo alone.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from match_factory import cand, groups_of, run

from core.availability import Availability, Window, parse_availability, utc_intervals, week_start
from core.matching.features import build_pool
from core.matching.score import Scorer
from core.matching.slots import SLOT_MINUTES, availability_week, common_minutes
from core.settings import CommunitySettings
from tests.oracle import common_free, free_minutes, violations

BERLIN_SPRING = datetime(2027, 3, 25, 9, 0, tzinfo=UTC)  # Sun 28 March: 02:00 -> 03:00
BERLIN_AUTUMN = datetime(2027, 10, 28, 9, 0, tzinfo=UTC)  # Sun 31 October: 03:00 -> 02:00
NEW_YORK_SPRING = datetime(2027, 3, 11, 9, 0, tzinfo=UTC)  # Sun 14 March: 02:00 -> 03:00
LORD_HOWE_AUTUMN = datetime(2027, 4, 1, 9, 0, tzinfo=UTC)  # Sun 4 April: 02:00 -> 01:30
LORD_HOWE_SPRING = datetime(2027, 9, 30, 9, 0, tzinfo=UTC)  # Sun 3 October: 02:00 -> 02:30
DST_WEEKS = [BERLIN_SPRING, BERLIN_AUTUMN, NEW_YORK_SPRING, LORD_HOWE_AUTUMN, LORD_HOWE_SPRING]
ZONES = ["Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu",
         "America/Sao_Paulo", "Pacific/Chatham", "Africa/Cairo", "Africa/Lagos",
         "Australia/Eucla", "Europe/London", "UTC"]


def minutes(text: str, tz: str, now: datetime) -> int:
    """The window's minutes a week as core.availability counts them."""
    ivs = utc_intervals(parse_availability(text), tz, week_start(now))
    return round(sum((b - a).total_seconds() for a, b in ivs) / 60)


def oracle_minutes(text: str, tz: str, now: datetime) -> int:
    return int(free_minutes(parse_availability(text), tz, week_start(now)).sum())


@pytest.mark.parametrize(("tz", "text", "now", "expected"), [
    # spring forward: the gap is not time anyone has
    ("Europe/Berlin", "Sun 01:30-02:30", BERLIN_SPRING, 30),
    ("Europe/Berlin", "Sun 02:15-02:45", BERLIN_SPRING, 0),
    ("Europe/Berlin", "Sun 01:00-04:00", BERLIN_SPRING, 120),
    ("America/New_York", "Sun 01:30-03:30", NEW_YORK_SPRING, 60),
    ("Australia/Lord_Howe", "Sun 01:45-02:45", LORD_HOWE_SPRING, 30),  # a 30-minute jump
    # fall back: the repeated hour counts once
    ("Europe/Berlin", "Sun 01:00-04:00", BERLIN_AUTUMN, 180),
    ("Europe/Berlin", "Sun 02:15-02:45", BERLIN_AUTUMN, 30),
    ("Australia/Lord_Howe", "Sun 01:00-03:00", LORD_HOWE_AUTUMN, 120),
    # quarter-hour offsets and no DST (Sao Paulo has had none since 2019)
    ("Asia/Kathmandu", "Sun 11:45-12:45", BERLIN_SPRING, 60),
    ("America/Sao_Paulo", "Sun 23:30-01:15", LORD_HOWE_SPRING, 105),
    ("Pacific/Chatham", "Mon 08:45-09:10", BERLIN_SPRING, 25),
])
def test_dst_true_windows(tz: str, text: str, now: datetime, expected: int) -> None:
    assert minutes(text, tz, now) == expected == oracle_minutes(text, tz, now)
    week = availability_week([(parse_availability(text), tz)], week_start(now))
    assert common_minutes(week, [0]) == expected


def test_sao_paulo_keeps_one_offset_all_year() -> None:
    for month in range(1, 13):
        start = week_start(datetime(2027, month, 10, tzinfo=UTC))
        [(a, _)] = utc_intervals(parse_availability("Wed 12:00-13:00"), "America/Sao_Paulo", start)
        assert a.hour == 15


def test_touching_windows_are_one_stretch() -> None:
    text = "Sun 08:45-10:45, Sun 10:45-12:45"
    week = availability_week([(parse_availability(text), "UTC")], week_start(BERLIN_SPRING))
    assert week.slots[0].sum() * SLOT_MINUTES == 240
    assert common_minutes(week, [0]) == 240
    assert (int(week.ptr[1]) - int(week.ptr[0])) == 1  # merged before rounding


def test_cairo_quarter_past_window_meets_a_flexible_learner() -> None:
    # issue 12: "No one else on X shares enough free time" was said when someone did
    plan = run([cand(1, tz="Africa/Cairo", avail="Sun 11:45-12:45"),
                cand(2, tz="Africa/Lagos", avail="Flexible")], now=BERLIN_SPRING)
    assert groups_of(plan) == [{1, 2}]
    assert "1 h a week in common" in plan.matches[0].reasons
    assert plan.matches[0].times


def test_kathmandu_and_london_share_exactly_one_hour() -> None:
    # 18:15-19:15 in Kathmandu (+05:45) is 12:30-13:30 in London in winter
    plan = run([cand(1, tz="Asia/Kathmandu", avail="Mon 18:15-19:15"),
                cand(2, tz="Europe/London", avail="Mon 12:30-13:30")],
               now=datetime(2027, 1, 6, 9, 0, tzinfo=UTC))
    assert groups_of(plan) == [{1, 2}]
    [(a, b)] = plan.matches[0].times
    assert (a.hour, a.minute, b.hour, b.minute) == (12, 30, 13, 30)


def test_berlin_gap_window_is_below_the_minimum() -> None:
    # issue 12: "Sun 01:30-02:30" counted 60 minutes and was suggested 01:30 CET - 03:30 CEST
    people = [cand(1, tz="Europe/Berlin", avail="Sun 01:30-02:30"),
              cand(2, tz="Europe/Berlin", avail="Sun 01:30-02:30")]
    plan = run(people, now=BERLIN_SPRING)
    assert plan.matches == []
    assert "free time" in plan.unmatched[1]


def test_enough_hours_but_no_whole_session_is_no_match() -> None:
    # 4 x 45 minutes in common: 3 h a week, never a whole hour at once
    text = "Mon 18:00-18:45, Tue 18:00-18:45, Wed 18:00-18:45, Thu 18:00-18:45"
    plan = run([cand(1, tz="UTC", avail=text), cand(2, tz="UTC", avail="Flexible")],
               now=BERLIN_SPRING)
    assert plan.matches == []
    assert "whole 60-minute session" in plan.unmatched[1]
    shorter = run([cand(1, tz="UTC", avail=text), cand(2, tz="UTC", avail="Flexible")],
                  now=BERLIN_SPRING, settings=CommunitySettings(session_minutes=45))
    assert groups_of(shorter) == [{1, 2}]


@st.composite
def minute_windows(draw: st.DrawFn) -> Availability:
    if draw(st.integers(0, 9)) == 0:
        return Availability(flexible=True)
    windows = set()
    for _ in range(draw(st.integers(1, 5))):
        day = draw(st.integers(0, 6))
        start = draw(st.integers(0, 24 * 60 - 1))
        length = draw(st.integers(1, 12 * 60))
        windows.add(Window(day, start, start + length))
    return Availability(False, tuple(sorted(windows, key=lambda w: (w.day, w.start))))


WEEK_STARTS = st.sampled_from(DST_WEEKS).flatmap(
    lambda d: st.integers(-72, 72).map(lambda h: week_start(d + timedelta(hours=h))))


@settings(max_examples=60, deadline=None)
@given(people=st.lists(st.tuples(minute_windows(), st.sampled_from(ZONES)), min_size=1,
                       max_size=3), start=WEEK_STARTS)
def test_minutes_equal_an_independent_reading(people: list[tuple[Availability, str]],
                                              start: datetime) -> None:
    truth = common_free(people, start)
    week = availability_week(people, start)
    assert common_minutes(week, list(range(len(people)))) == truth.sum()
    # the grid: a slot counts only when everyone is free for all of it, and loses at most
    # the part of a quarter hour at each end of each stretch of common time
    grid = week.slots.min(axis=0).astype(bool)
    quarters = truth.reshape(-1, SLOT_MINUTES).all(axis=1)
    assert (grid <= quarters).all()
    assert grid.sum() == quarters.sum()
    single = [utc_intervals(a, tz, start) for a, tz in people]
    for (avail, tz), ivs in zip(people, single, strict=True):
        got = sum((b - a).total_seconds() for a, b in ivs) / 60
        assert got == free_minutes(avail, tz, start).sum()


@st.composite
def queues(draw: st.DrawFn) -> list:  # type: ignore[type-arg]
    n = draw(st.integers(2, 9))
    out = []
    for lid in range(1, n + 1):
        avail = draw(minute_windows())
        c = cand(lid, tz=draw(st.sampled_from(ZONES)), avail="Flexible")
        out.append(type(c)(**{**c.__dict__, "availability": avail}))
    return out


@settings(max_examples=40, deadline=None)
@given(people=queues(), now=WEEK_STARTS.map(lambda s: s + timedelta(minutes=20)),
       session=st.sampled_from([30, 60, 90]), hours=st.sampled_from([0.5, 1.0, 2.0]))
def test_matches_hold_a_whole_session_inside_everyones_time(
    people: list, now: datetime, session: int, hours: float  # type: ignore[type-arg]
) -> None:
    settings_ = CommunitySettings(session_minutes=session, min_overlap_hours=hours)
    plan = run(people, now=now, settings=settings_)
    assert violations(plan, people, settings_, now, set()) == []
    by_id = {c.learner_id: c for c in people}
    for m in plan.matches:
        cs = [by_id[lid] for lid, _ in m.members]
        truth = common_free([(c.availability, c.timezone) for c in cs], week_start(now))
        said = [r for r in m.reasons if " a week " in r][0]
        told = float(said.split(" h ")[0])
        assert abs(told - truth.sum() / 60) <= 0.25  # issue 12: within 15 minutes
        assert np.all([a >= now for a, _ in m.times])


@settings(max_examples=30, deadline=None)
@given(people=queues(), start=WEEK_STARTS)
def test_groups_grown_one_member_at_a_time_are_checked_like_whole_ones(
    people: list, start: datetime  # type: ignore[type-arg]
) -> None:
    pool = build_pool(people, CommunitySettings(session_minutes=45), start)
    scorer = Scorer(pool, set(), set())
    ids = list(range(len(people)))
    state = None
    for k, m in enumerate(ids):
        state = scorer.extend(state, ids[:k], m)
        assert (state is not None) == scorer.feasible(ids[:k + 1])
        if state is None:
            break
