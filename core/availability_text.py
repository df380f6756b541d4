"""Weekly availability as people write it: reading (``parse_availability``) and writing
back what was understood (``describe``).

Accepted text (case-insensitive), windows separated by commas, semicolons or new lines::

    Mon-Fri 18:00-21:00, Sat 10:00-14:00     24-hour clock
    Tue/Thu 7-9pm; weekends 10-12            12-hour clock, day lists and groups
    Mon, Wed, Fri 9am-5                      a list of days shares the hours after it
    Mon-Fri 9-12, 14-17                      hours alone share the days before them
    Sat noon-2pm, Fri 10pm-midnight          words for 12:00 and 24:00
    Fri 22:00-02:00                          overnight: ends on Saturday
    Flexible                                 overlaps everything

Hours without am/pm are read the way people say them: ``9-5`` is 09:00-17:00 (an end
earlier than the start is afternoon if that makes a same-day window), ``7-9pm`` is
19:00-21:00 (a bare start shares the end's half of the day when it can), and a bare
start of 1 to 6 is afternoon (``2-4`` is 14:00-16:00; write 02:00 for the night). Hours
written with a leading zero, above 12, or with ``h`` (``09:00``, ``18h30``, ``0900``) are
24-hour times and read literally. A window that still ends before it starts is overnight
only if it lasts at most 12 hours; otherwise the learner is asked what they meant.

Invisible characters (zero-width, bidi controls) are dropped and no-break spaces are
spaces before anything is read, so an error never points at something nobody can see.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import groupby

from core.text import clean_input
from core.timezones import zone_label

DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_DAYS = tuple(d.lower() for d in DAY_NAMES)
_DAY_ALIASES = {
    "monday": 0, "tuesday": 1, "tues": 1, "wednesday": 2, "weds": 2, "thursday": 3, "thur": 3,
    "thurs": 3, "friday": 4, "saturday": 5, "sunday": 6,
}
_GROUPS = {
    "weekdays": (0, 1, 2, 3, 4), "weekday": (0, 1, 2, 3, 4),
    "weekends": (5, 6), "weekend": (5, 6),
    "daily": tuple(range(7)), "everyday": tuple(range(7)), "every day": tuple(range(7)),
}
_FLEXIBLE = {"flexible", "flex", "anytime", "any time"}
MAX_TEXT = 1000  # a guard on work; forms allow 300 characters
DAY = 24 * 60
WEEK_MINUTES = 7 * DAY
MAX_OVERNIGHT = 12 * 60
_TIME = (r"(?:noon|midday|midnight|\d{3,4}(?![:.h\d])|\d{1,2}(?:[:.h]\d{2})?"
         r"(?:\s*(?:[ap]\.?m\.?|h)(?![a-z]))?)")
_RANGE = rf"(?:from\s+)?(?P<start>{_TIME})\s*(?:-|to|until|till|til)\s*(?P<end>{_TIME})"
_DAYS_FIRST = re.compile(rf"^(?P<days>.*?)\s*{_RANGE}$")
_TIMES_FIRST = re.compile(rf"^{_RANGE}\s+(?:on\s+)?(?P<days>[^\d\s].*)$")
_CLOCK = re.compile(r"^(?P<h>\d{1,2})(?:[:.h](?P<m>\d{2}))?"
                    r"(?:\s*(?:(?P<suf>[ap])\.?m\.?|(?P<hs>h)))?$")


_DASHES = str.maketrans(dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212", "-"))


class AvailabilityError(ValueError):
    """The availability text could not be understood; the message names the bad part."""


@dataclass(frozen=True)
class Window:
    """A weekly window in local time. ``end`` may exceed 24*60 for overnight windows."""

    day: int  # 0 = Monday
    start: int  # minutes after local midnight
    end: int  # minutes after local midnight of ``day``; > start


@dataclass(frozen=True)
class Availability:
    """Weekly availability: ``flexible`` (any time) or a set of windows in local time."""

    flexible: bool
    windows: tuple[Window, ...] = ()

    def weekly_minutes(self) -> int:
        """Minutes per week in local time (a whole week when flexible)."""
        if self.flexible:
            return WEEK_MINUTES
        return sum(w.end - w.start for w in self.windows)

    def weekly_hours(self) -> float:
        """Hours per week in local time (168 when flexible)."""
        return self.weekly_minutes() / 60


@dataclass(frozen=True)
class _Clock:
    """One time as written: its reading(s) in minutes, most likely first."""

    readings: tuple[int, ...]
    half: str = ""  # "a" or "p" when written with am/pm
    literal: bool = False  # written on a 24-hour clock (18:00, 09:00, 18h, 0900)
    written: int = 0  # the bare reading, hours as typed ("7" -> 07:00)


def _clock(token: str, whole: str, is_end: bool) -> _Clock:
    t = token.strip().lower()
    if t in ("noon", "midday"):
        return _Clock((12 * 60,))
    if t == "midnight":
        return _Clock((DAY if is_end else 0,))
    if t.isdigit() and len(t) in (3, 4):  # 0900, 1730: military style, always 24-hour
        t = f"{t[:-2]}:{t[-2:]}h"
    m = _CLOCK.match(t)
    if not m:
        raise AvailabilityError(
            f"'{token}' in '{whole}' is not a time; write it like 18:00 or 6pm.")
    hour, minute, half = int(m["h"]), int(m["m"] or 0), m["suf"] or ""
    if minute > 59 or hour > 24 or (hour == 24 and minute):
        raise AvailabilityError(f"'{token}' in '{whole}' is not a valid time of day.")
    if half:
        if not 1 <= hour <= 12:
            raise AvailabilityError(f"'{token}' in '{whole}' is not a valid 12-hour time.")
        value = (hour % 12 + (12 if half == "p" else 0)) * 60 + minute
        return _Clock((DAY if is_end and value == 0 else value,), half)
    value = hour * 60 + minute
    literal = m["hs"] or m["h"].startswith("0") or hour == 0 or hour > 12
    if literal:
        return _Clock((value,), literal=True)
    later = value + 12 * 60  # the same time in the afternoon (12 -> midnight)
    if is_end:
        return _Clock((value, later) if later <= DAY else (value,), written=value)
    later %= DAY  # a start of "12" read the other way is midnight, 00:00
    return _Clock((later, value) if hour <= 6 else (value, later), written=value)


def _readings(start: _Clock, end: _Clock) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Each side's readings, most likely first, given what the other side says."""
    starts, ends = start.readings, end.readings
    if start.literal and len(ends) == 2:  # "14:00-10:00": one 24-hour clock, both are
        ends = ends[:1]
    if end.literal and len(starts) == 2:
        starts = (start.written,)
    if len(starts) == 2 and end.half:  # "7-9pm": a bare start takes the end's half first
        am, pm = sorted(starts)
        starts = (pm, am) if end.half == "p" else (am, pm)
    return tuple(0 if s == DAY else s for s in starts), ends


def _fmt(minutes: int) -> str:
    """HH:MM on a 24-hour clock; an overnight end shows the next day's time; the end of a
    day is 24:00."""
    if minutes == DAY:
        return "24:00"
    return f"{minutes % DAY // 60:02d}:{minutes % 60:02d}"


def _hours(start: str, end: str, days: str, chunk: str) -> tuple[int, int]:
    """(start, end) in minutes after the day's midnight; end > start, at most 12 h later
    than a midnight it crosses."""
    starts, ends = _readings(_clock(start, chunk, is_end=False), _clock(end, chunk, is_end=True))
    pairs = [(s, e) for s in starts for e in ends]
    for s, e in pairs:
        if s < e:
            return s, e
    overnight = sorted(((s, e + DAY) for s, e in pairs if s != e % DAY),
                       key=lambda p: p[1] - p[0])
    if overnight and overnight[0][1] - overnight[0][0] <= MAX_OVERNIGHT:
        return overnight[0]
    if not overnight:
        raise AvailabilityError(f"'{chunk}' starts and ends at the same time.")
    s, e = pairs[0]
    where = f"{days} " if days else ""
    options = [f"{where}{_fmt(s)}-{_fmt(e + 12 * 60)}"] if s < e + 12 * 60 <= DAY else []
    options.append(f"{where}{_fmt(e % DAY)}-{_fmt(s)}")
    raise AvailabilityError(
        f"'{chunk}' would run overnight for {(e + DAY - s) / 60:g} hours (at most 12). "
        f"Did you mean {' or '.join(options)}?")


def _day_index(token: str, whole: str) -> int:
    t = token.strip().lower().rstrip(".")
    for candidate in (t, t[:-1] if t.endswith("s") and len(t) > 4 else t):  # "mondays"
        if candidate in _DAY_ALIASES:
            return _DAY_ALIASES[candidate]
        if candidate in _DAYS:
            return _DAYS.index(candidate)
    raise AvailabilityError(f"'{token.strip()}' in '{whole}' is not a day; use Mon, Tue, ... Sun.")


def _parse_days(spec: str, whole: str) -> tuple[int, ...]:
    s = re.sub(r"\s*(?:-|\bto\b|\bthrough\b|\bthru\b|\buntil\b|\btill?\b)\s*", "-", spec.lower())
    s = re.sub(r"^(?:on|every)\s+(?=\w)(?!day\b)", "", s.strip())
    if s in _GROUPS:
        return _GROUPS[s]
    days: list[int] = []
    for part in re.split(r"[/&+\s]+|\band\b", s):
        if not part:
            continue
        if part in _GROUPS:
            days.extend(_GROUPS[part])
        elif "-" in part:
            a, b = part.split("-", 1)
            i, j = _day_index(a, whole), _day_index(b, whole)
            days.extend((i + k) % 7 for k in range((j - i) % 7 + 1))
        else:
            days.append(_day_index(part, whole))
    if not days:
        raise AvailabilityError(f"'{whole}' names no day; write e.g. 'Mon-Fri 18:00-21:00'.")
    return tuple(dict.fromkeys(days))


def _split_chunk(chunk: str) -> tuple[str, str, str] | None:
    """(days, start, end) as written, or None when the chunk has no hours."""
    low = chunk.lower()
    for pattern in (_DAYS_FIRST, _TIMES_FIRST):
        m = pattern.match(low)
        if m:
            days = chunk[m.start("days"):m.end("days")].strip()
            return days, chunk[m.start("start"):m.end("start")], chunk[m.start("end"):m.end("end")]
    return None


def parse_availability(text: str) -> Availability:
    """Parse availability text; raise AvailabilityError naming the bad part."""
    cleaned = clean_input(text).translate(_DASHES)
    flat = " ".join(cleaned.split())
    if not flat:
        raise AvailabilityError(
            "Availability is empty; write e.g. 'Mon-Fri 18:00-21:00' or 'Flexible'.")
    if len(flat) > MAX_TEXT:
        raise AvailabilityError(
            f"Availability is too long ({len(flat)} characters, at most {MAX_TEXT}).")
    windows: list[Window] = []
    pending: list[int] = []  # "Mon, Wed 18-20": days waiting for the hours that follow
    previous: tuple[int, ...] = ()  # "Mon 9-12, 14-17": the days hours alone belong to
    for raw in re.split(r"[,;\n]", cleaned):
        chunk = raw.strip()
        if not chunk:
            continue
        if chunk.lower() in _FLEXIBLE:
            return Availability(flexible=True)
        parts = _split_chunk(chunk)
        if parts is None:
            try:
                pending.extend(_parse_days(chunk, chunk))
            except AvailabilityError:
                raise AvailabilityError(f"'{chunk}' is not a window; write days then hours, "
                                        "like 'Mon-Fri 18:00-21:00'.") from None
            continue
        days_text, start_text, end_text = parts
        if days_text:
            days = tuple(dict.fromkeys([*pending, *_parse_days(days_text, chunk)]))
        elif pending:
            days = tuple(dict.fromkeys(pending))
        elif previous:
            days = previous
        else:
            raise AvailabilityError(f"'{chunk}' names no day; write e.g. 'Mon-Fri {chunk}'.")
        start, end = _hours(start_text, end_text, days_text, chunk)
        windows.extend(Window(day, start, end) for day in days)
        pending, previous = [], days
    if pending:
        raise AvailabilityError(f"'{flat}' gives days without hours; write e.g. 'Mon 18:00-21:00'.")
    if not windows:
        raise AvailabilityError("Availability names no window; write e.g. 'Sat 10:00-14:00'.")
    return Availability(flexible=False, windows=canonical(windows))


def canonical(windows: list[Window] | tuple[Window, ...]) -> tuple[Window, ...]:
    """The same weekly minutes as windows that do not overlap, sorted: overlapping or
    touching windows merge; a merged stretch stays one window when it crosses no midnight,
    or one midnight within 12 hours (an overnight window), and is cut at midnights otherwise.
    So every window is at most 24 h and equal availabilities have equal windows."""
    spans: list[tuple[int, int]] = []
    for w in windows:
        a, b = w.day * DAY + w.start, w.day * DAY + w.end
        spans += [(a, WEEK_MINUTES), (0, b - WEEK_MINUTES)] if b > WEEK_MINUTES else [(a, b)]
    merged: list[tuple[int, int]] = []
    for a, b in sorted(spans):
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    if len(merged) > 1 and merged[0][0] == 0 and merged[-1][1] == WEEK_MINUTES:
        # A stretch over Sunday midnight is one stretch that starts on Sunday.
        first = merged.pop(0)
        merged[-1] = (merged[-1][0], WEEK_MINUTES + first[1])
    out: list[Window] = []
    for a, b in merged:
        midnights = list(range((a // DAY + 1) * DAY, b, DAY))
        if not midnights or (len(midnights) == 1 and b - a <= MAX_OVERNIGHT):
            cuts = [a, b]
        else:
            cuts = [a, *midnights, b]
        for lo, hi in zip(cuts, cuts[1:], strict=False):
            day, start = divmod(lo, DAY)
            out.append(Window(day % 7, start, start + hi - lo))
    return tuple(sorted(out, key=lambda w: (w.day, w.start)))


def _day_list(days: list[int]) -> str:
    runs: list[list[int]] = []
    for d in sorted(days):
        if runs and d == runs[-1][-1] + 1:
            runs[-1].append(d)
        else:
            runs.append([d])
    parts = [f"{DAY_NAMES[r[0]]}-{DAY_NAMES[r[-1]]}" if len(r) >= 3 else
             "/".join(DAY_NAMES[d] for d in r) for r in runs]
    return "/".join(parts)


def describe_windows(avail: Availability) -> str:
    """The availability as text ``parse_availability`` reads back to the same value:
    ``Mon-Fri 09:00-17:00, Sat 10:00-14:00`` or ``Flexible``."""
    if avail.flexible:
        return "Flexible"
    by_hours = sorted(avail.windows, key=lambda w: (w.start, w.end, w.day))
    groups = [(hours, [w.day for w in ws]) for hours, ws in
              groupby(by_hours, key=lambda w: (w.start, w.end))]
    groups.sort(key=lambda g: (min(g[1]), g[0]))
    return ", ".join(f"{_day_list(days)} {_fmt(s)}-{_fmt(e)}" for (s, e), days in groups)


def normalised(text: str, limit: int) -> str:
    """The text to store for valid availability ``text``: what was understood
    (``describe_windows``) when it fits in ``limit`` characters, else the text itself with
    invisible characters removed. Raises AvailabilityError like ``parse_availability``."""
    understood = describe_windows(parse_availability(text))
    if len(understood) <= limit:
        return understood
    return ", ".join(clean_input(text).splitlines())


def _amount(minutes: int) -> str:
    h, m = divmod(minutes, 60)
    return f"{h} h" if not m else (f"{h} h {m} min" if h else f"{m} min")


def describe(avail: Availability, zone: str) -> str:
    """What was understood, in the learner's zone, with the weekly total:
    ``Mon-Fri 09:00-17:00 Europe/London, 40 h a week``."""
    label = zone_label(zone)
    if avail.flexible:
        return f"Flexible: any time, {label}"
    return f"{describe_windows(avail)} {label}, {_amount(avail.weekly_minutes())} a week"
