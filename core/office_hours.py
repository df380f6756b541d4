"""Office hours: a supporter's recurring bookable slots, and the seats learners book.

An ``OfficeHour`` is a weekly rule in the supporter's own zone (``Tue 18:00-20:00 every
week``, exact to the minute): its occurrences are computed, never stored, so a series has
no end to maintain. What is stored is what changes: the occurrences the supporter called
off (``cancelled``) and each ``Seat`` a learner booked in one occurrence. A seat is a
session of its own for the no-double-booking rule, the quotas, the calendar file and the
reminders (core/services/office_hours.py); the database refuses a second seat of one
learner at an overlapping time, a seat overlapping one of their match sessions, and more
seats in one occurrence than the series offers (migrations/versions/0010_office_hours.py).

Reading the rule reuses the availability grammar (core/availability_text.py): the time
part must be one window on one day, the rest says how often, how many seats, which topic.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from core.availability import local_to_utc, transitions
from core.availability_text import (
    DAY_NAMES,
    Availability,
    AvailabilityError,
    Window,
    describe_windows,
    parse_availability,
)
from core.model import SessionState

MAX_SEATS = 50
MAX_EVERY_WEEKS = 8
LONGEST_MINUTES = 8 * 60
_EVERY = re.compile(r"\b(?:every\s+(?:(?P<n>\d+)\s+weeks?|(?P<other>other)\s+week|week)"
                    r"|(?P<weekly>weekly)|(?P<fortnightly>fortnightly|biweekly))\b", re.I)
_SEATS = re.compile(r"^(?P<n>\d+)\s+seats?$|^seats?\s*[:=]?\s*(?P<m>\d+)$"
                    r"|^(?P<one>1-on-1|one-on-one)$", re.I)
_TOPIC = re.compile(r"^topic\s*[:=]?\s*(?P<t>.+)$", re.I)


class OfficeHourState(StrEnum):
    ACTIVE = "active"
    ENDED = "ended"  # the supporter cancelled the whole series


@dataclass
class OfficeHour:
    """A supporter's recurring slot: ``weekday`` (0 = Monday) from ``start_minute`` to
    ``end_minute`` (minutes after local midnight) in ``timezone``, every ``every_weeks``
    weeks from ``first_day`` (a local date), with ``seats`` seats on ``topic``."""

    community_id: int
    supporter_id: int
    weekday: int
    start_minute: int
    end_minute: int
    timezone: str
    every_weeks: int
    seats: int
    topic: str
    first_day: date
    created_at: datetime
    cancelled: list[datetime] = field(default_factory=list)  # occurrence starts called off
    state: OfficeHourState = OfficeHourState.ACTIVE
    id: int | None = None

    @property
    def window(self) -> Window:
        return Window(self.weekday, self.start_minute, self.end_minute)

    def describe(self) -> str:
        """``Tue 18:00-20:00 (Europe/London) every week`` in the supporter's own words."""
        every = ("every week" if self.every_weeks == 1 else
                 "every other week" if self.every_weeks == 2 else
                 f"every {self.every_weeks} weeks")
        return (f"{describe_windows(Availability(False, (self.window,)))} "
                f"({self.timezone}) {every}")


@dataclass
class Seat:
    """One learner's seat in one occurrence of an office hour; a calendar entry of its own
    (``ics_uid``, ``sequence``), ``seat_no`` 1..seats (the database keeps it unique)."""

    office_hour_id: int
    learner_id: int
    start: datetime
    end: datetime
    seat_no: int
    ics_uid: str
    booked_at: datetime
    sequence: int = 0
    state: SessionState = SessionState.BOOKED
    id: int | None = None


@dataclass(frozen=True)
class Rule:
    """What ``/peer office-hours add`` understood."""

    window: Window
    every_weeks: int
    seats: int
    topic: str


class RuleError(ValueError):
    """The rule could not be read; the message says what to write."""


def _every(text: str) -> tuple[int, str]:
    m = _EVERY.search(text)
    if m is None:
        return 1, text
    if m.group("n"):
        weeks = int(m.group("n"))
    elif m.group("other") or m.group("fortnightly"):
        weeks = 2
    else:
        weeks = 1
    if not 1 <= weeks <= MAX_EVERY_WEEKS:
        raise RuleError(f"Office hours repeat every 1 to {MAX_EVERY_WEEKS} weeks, not {weeks}.")
    return weeks, (text[:m.start()] + text[m.end():]).strip()


def _window(text: str) -> Window:
    try:
        avail = parse_availability(text)
    except AvailabilityError as exc:
        raise RuleError(f"{exc} Office hours look like `Tue 18:00-20:00 every week, 3 seats, "
                        "topic Python`.") from None
    if avail.flexible or len(avail.windows) != 1:
        raise RuleError("Give one day and one time range, like `Tue 18:00-20:00`; add more "
                        "office hours one by one.")
    [window] = avail.windows
    if window.end > 24 * 60:
        raise RuleError("Office hours end on the day they start; split an overnight slot in "
                        "two.")
    if window.end - window.start > LONGEST_MINUTES:
        raise RuleError(f"Office hours last at most {LONGEST_MINUTES // 60} hours.")
    return window


def parse_rule(text: str, topics: tuple[str, ...], default_topic: str) -> Rule:
    """``Tue 18:00-20:00 every week, 3 seats, topic Python`` -> a Rule (RuleError when a
    part can't be read). Seats default to 1 (one-on-one), the topic to ``default_topic``."""
    seats, topic = 1, default_topic
    times: list[str] = []
    for raw in text.split(","):
        part = " ".join(raw.split())
        if not part:
            continue
        if m := _SEATS.match(part):
            seats = 1 if m.group("one") else int(m.group("n") or m.group("m"))
        elif m := _TOPIC.match(part):
            topic = m.group("t").strip()
        else:
            times.append(part)
    if not times:
        raise RuleError("Say when, like `/peer office-hours add Tue 18:00-20:00 every week, "
                        "3 seats, topic Python` (in your own time zone).")
    if not 1 <= seats <= MAX_SEATS:
        raise RuleError(f"An office hour has 1 to {MAX_SEATS} seats, not {seats}.")
    every, rest = _every(" ".join(times))
    window = _window(rest)
    allowed = {t.casefold(): t for t in topics}
    if topic.casefold() not in allowed:
        shown = ", ".join(topics[:12])
        raise RuleError(f"'{topic}' is not one of this community's topics: {shown}."
                        if topic else f"Name a topic (`topic Python`); topics: {shown}.")
    return Rule(window, every, seats, allowed[topic.casefold()])


def first_day(weekday: int, zone_name: str, now: datetime) -> date:
    """The local date of the first occurrence: the next ``weekday`` from today (today
    included; an occurrence already begun is simply in the past)."""
    today = now.astimezone(ZoneInfo(zone_name)).date()
    return today + timedelta(days=(weekday - today.weekday()) % 7)


def occurrence(hour: OfficeHour, k: int) -> tuple[datetime, datetime]:
    """The ``k``-th occurrence (0 = the first) as UTC (start, end), DST-true: a slot in a
    spring-forward gap starts when the clocks jump."""
    day = hour.first_day + timedelta(weeks=k * hour.every_weeks)
    zone = ZoneInfo(hour.timezone)
    noon = datetime(day.year, day.month, day.day, 12, tzinfo=zone)
    moves = transitions(zone, noon - timedelta(days=1), noon + timedelta(days=1))
    return (local_to_utc(_wall(day, hour.start_minute), zone, moves),
            local_to_utc(_wall(day, hour.end_minute), zone, moves))


def occurrences(hour: OfficeHour, lo: datetime,
                hi: datetime) -> list[tuple[int, datetime, datetime]]:
    """(k, start, end) of the occurrences that end after ``lo`` and start before ``hi``,
    cancelled ones included."""
    lo_day = lo.astimezone(ZoneInfo(hour.timezone)).date() - timedelta(days=1)
    k = max(0, (lo_day - hour.first_day).days // (7 * hour.every_weeks))
    out: list[tuple[int, datetime, datetime]] = []
    while True:
        start, end = occurrence(hour, k)
        if start >= hi:
            return out
        if end > lo and end > start:
            out.append((k, start, end))
        k += 1


def index_of(hour: OfficeHour, start: datetime) -> int:
    """Which occurrence starts at ``start`` (its local date counted from ``first_day``)."""
    local = start.astimezone(ZoneInfo(hour.timezone)).date()
    return (local - hour.first_day).days // (7 * hour.every_weeks)


def is_cancelled(hour: OfficeHour, start: datetime) -> bool:
    return any(c == start for c in hour.cancelled)


def _wall(day: date, minutes: int) -> datetime:
    return datetime(day.year, day.month, day.day, minutes // 60, minutes % 60)  # noqa: DTZ001


def day_of(hour: OfficeHour, start: datetime) -> str:
    """``Tue 10 Mar``: an occurrence's local date in the supporter's zone."""
    local = start.astimezone(ZoneInfo(hour.timezone))
    return f"{DAY_NAMES[local.weekday()]} {local.day} {local.strftime('%b')}"
