"""The rules a session must pass before it is booked or moved.

Each check raises ``Refusal`` with the reason (and, for quotas, when the limit resets), so
``/peer schedule`` and ``/peer reschedule`` say exactly why a time does not work.
The database enforces the double-booking rule again (see migrations 0002) for the race
where two bookings pass these checks at the same moment.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from core.availability import AvailabilityError, check_timezone, parse_availability, utc_intervals
from core.model import Learner, Match, Profile, Session, SessionState
from core.ports import UnitOfWork
from core.replies import ts
from core.services.common import name_for
from core.services.errors import Refusal
from core.settings import CommunitySettings

_WHEN = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})[ T](\d{1,2}):(\d{2})$")
WEEK = timedelta(days=7)


def next_occurrence(start: datetime, end: datetime, now: datetime) -> tuple[datetime, datetime]:
    """A suggested slot, or its repeat a whole number of weeks later if it has passed
    (suggestions come from weekly availability, computed when the match was made)."""
    if start > now:
        return start, end
    weeks = (now - start) // WEEK + 1
    return start + weeks * WEEK, end + weeks * WEEK


def _slot_range(count: int) -> str:
    """'suggested time 1' or 'a suggested time between 1 and 3' (never 'between 1 and 1')."""
    return "suggested time 1" if count == 1 else f"a suggested time between 1 and {count}"


def parse_when(raw: str, match: Match, zone_name: str, settings: CommunitySettings,
               now: datetime, minutes: int | None = None) -> tuple[datetime, datetime, str]:
    """(start, end, note) of a ``when`` value: a suggested slot number, or
    'YYYY-MM-DD HH:MM' in the booker's zone. ``minutes``: the length asked for (default:
    the community's session length). ``note`` explains an adjustment, if any."""
    text = " ".join(raw.split())
    length = timedelta(minutes=minutes or settings.session_minutes)
    if text.isdigit():
        number = int(text)
        if not match.suggested_times:
            raise Refusal("Your match has no suggested times; give a date and time instead, "
                          "like `2026-03-14 18:00` (your local time).")
        if not 1 <= number <= len(match.suggested_times):
            raise Refusal(f"Pick {_slot_range(len(match.suggested_times))}, "
                          "or give a date and time like `2026-03-14 18:00`.")
        start, _ = next_occurrence(*match.suggested_times[number - 1], now)
        moved = start != match.suggested_times[number - 1][0]
        return start, start + length, (" (that suggested time had passed, so this is the same "
                                       "time in a later week)" if moved else "")
    m = _WHEN.match(text)
    if not m:
        raise Refusal(f"'{raw}' isn't a time I understand. Use the number of a suggested time, "
                      "or a date and time like `2026-03-14 18:00` (your local time).",
                      {"when": "Use a suggested time's number or YYYY-MM-DD HH:MM."})
    zone = ZoneInfo(zone_name)
    y, mo, d, h, mi = wall = tuple(int(g) for g in m.groups())
    try:
        local = datetime(y, mo, d, h, mi, tzinfo=zone)
    except ValueError:
        raise Refusal(f"'{raw}' is not a real date and time.") from None
    start = local.astimezone(UTC)
    # A wall-clock time skipped by a DST change does not round-trip: say so, don't guess.
    back = start.astimezone(zone)
    if (back.year, back.month, back.day, back.hour, back.minute) != wall:
        raise Refusal(f"{text} doesn't exist in {zone_name}: the clocks change then. "
                      "Pick another time.")
    return start, start + length, ""


def booker_zone(profile: Profile | None, actor_zone: str, settings: CommunitySettings) -> str:
    """The zone a typed date is read in: the profile's, the platform's, the community's."""
    for zone in (profile.timezone if profile else "", actor_zone, settings.timezone):
        if zone:
            try:
                return check_timezone(zone).key
            except ValueError:
                continue
    return "UTC"


def is_available(profile: Profile | None, start: datetime, end: datetime) -> bool:
    """Whether [start, end) lies inside one window of the learner's weekly availability.
    Someone without a profile (or with unreadable availability) does not block a booking."""
    if profile is None:
        return True
    try:
        avail = parse_availability(profile.availability)
        windows = utc_intervals(avail, profile.timezone, (start - timedelta(days=1))
                                .replace(minute=0, second=0, microsecond=0))
    except (AvailabilityError, ValueError):
        return True
    return any(a <= start and end <= b for a, b in windows)


def _windows(profile: Profile, start: datetime) -> list[tuple[datetime, datetime]] | None:
    """The learner's weekly windows (UTC) around ``start``; None when they don't limit."""
    try:
        avail = parse_availability(profile.availability)
        return utc_intervals(avail, profile.timezone, (start - timedelta(days=1))
                             .replace(minute=0, second=0, microsecond=0))
    except (AvailabilityError, ValueError):
        return None


def _hhmm(instant: datetime, zone: ZoneInfo) -> str:
    return instant.astimezone(zone).strftime("%H:%M")


def why_unavailable(profile: Profile | None, start: datetime, end: datetime,
                    whose: str, viewer_zone: str) -> str:
    """'' when [start, end) fits one of the learner's windows, else the rule it breaks in
    words, in the learner's own time: "the 60-minute session must fit: 13:30-14:30 ends
    after your window 10:00-14:00". ``whose``: 'your' or '@bo's'."""
    windows = _windows(profile, start) if profile is not None else None
    if windows is None or any(a <= start and end <= b for a, b in windows):
        return ""
    assert profile is not None
    zone = ZoneInfo(profile.timezone)
    span = f"{_hhmm(start, zone)}-{_hhmm(end, zone)}"
    where = "" if profile.timezone == viewer_zone else f" ({profile.timezone} time)"
    minutes = int((end - start).total_seconds() // 60)
    holding = next(((a, b) for a, b in windows if a <= start < b), None)
    if holding is not None:
        a, b = holding
        return (f"the {minutes}-minute session must fit: {span}{where} ends after {whose} "
                f"window {_hhmm(a, zone)}-{_hhmm(b, zone)}")
    ending = next(((a, b) for a, b in windows if a < end <= b), None)
    if ending is not None:
        a, b = ending
        return (f"the {minutes}-minute session must fit: {span}{where} starts before {whose} "
                f"window {_hhmm(a, zone)}-{_hhmm(b, zone)}")
    return f"{span}{where} is outside {whose} declared hours ({profile.availability})"


def availability_notes(match: Match, learners: dict[int, Learner],
                       profiles: dict[int, Profile], start: datetime, end: datetime,
                       viewer_id: int, viewer_zone: str) -> list[str]:
    """One sentence per member who is not free then (as ``viewer_id`` sees them), naming
    who and the rule: "@bo: the 60-minute session must fit: ..."."""
    notes = []
    for i in match.member_ids():
        if i not in learners:
            continue
        name = "you" if i == viewer_id else name_for(match, learners[i], viewer_id)
        whose = "your" if i == viewer_id else "their"
        why = why_unavailable(profiles.get(i), start, end, whose, viewer_zone)
        if why:
            notes.append(f"{name}: {why}")
    return notes


def check_time(start: datetime, now: datetime) -> None:
    if start <= now:
        raise Refusal(f"That time ({ts(start)}) has already passed. Pick a time in the future.")


def outside_availability(match: Match, learners: dict[int, Learner], profiles: dict[int, Profile],
                         start: datetime, end: datetime, viewer_id: int) -> list[str]:
    """Names (as ``viewer_id`` sees them) of members who are not available then."""
    return [name_for(match, learners[i], viewer_id) if i != viewer_id else "you"
            for i in match.member_ids()
            if i in learners and not is_available(profiles.get(i), start, end)]


async def check_double_booking(uow: UnitOfWork, match: Match, learners: dict[int, Learner],
                               start: datetime, end: datetime, viewer_id: int,
                               ignore: int | None = None) -> None:
    """Refuse if any member already has a booked session overlapping [start, end)."""
    # The viewer first: "You already have a session then" is the clearest answer.
    for member_id in sorted(match.member_ids(), key=lambda i: i != viewer_id):
        for other in await uow.sessions.booked_for_learners([member_id]):
            if other.id == ignore or other.state is not SessionState.BOOKED:
                continue
            if other.start < end and start < other.end:
                who = ("You already have" if member_id == viewer_id else
                       f"{name_for(match, learners[member_id], viewer_id)} already has")
                raise Refusal(f"{who} a session booked then ({ts(other.start)} to "
                              f"{ts(other.end, 't')}). Pick another time.")


def month_bounds(instant: datetime, zone_name: str) -> tuple[datetime, datetime]:
    """The UTC instants starting the month of ``instant`` and the next one, in the
    community's zone (quotas reset at local midnight on the 1st)."""
    zone = ZoneInfo(zone_name or "UTC")
    local = instant.astimezone(zone)
    first = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    nxt = (first + timedelta(days=32)).replace(day=1)
    return first.astimezone(UTC), nxt.astimezone(UTC)


async def _count_in(uow: UnitOfWork, community_id: int, lo: datetime, hi: datetime,
                    learner_id: int | None) -> int:
    """Sessions and office-hour seats (each a session for the quotas) starting in [lo, hi)."""
    return (await uow.sessions.count_since(community_id, lo, learner_id)
            - await uow.sessions.count_since(community_id, hi, learner_id)
            + await uow.office_hours.count_seats(community_id, lo, hi, learner_id))


async def check_quotas(uow: UnitOfWork, settings: CommunitySettings, match: Match,
                       learners: dict[int, Learner], start: datetime, viewer_id: int,
                       moving: Session | None = None) -> None:
    """Monthly limits per learner and per community, counted in the month the session
    starts (a session being moved inside its month does not count twice)."""
    lo, hi = month_bounds(start, settings.timezone)
    month = start.astimezone(ZoneInfo(settings.timezone or "UTC")).strftime("%B")
    already = 1 if moving is not None and lo <= moving.start < hi else 0
    limit = settings.monthly_sessions_per_learner
    if limit > 0:
        for member_id in match.member_ids():
            count = await _count_in(uow, match.community_id, lo, hi, member_id) - already
            if count >= limit:
                who = ("You have" if member_id == viewer_id else
                       f"{name_for(match, learners[member_id], viewer_id)} has")
                raise Refusal(f"{who} reached this community's limit of {limit} sessions in "
                              f"{month}. The limit resets {ts(hi)}: you can book sessions from "
                              "then on.")
    cap = settings.monthly_sessions_per_community
    if cap > 0:
        count = await _count_in(uow, match.community_id, lo, hi, None) - already
        if count >= cap:
            raise Refusal(f"This community has reached its limit of {cap} sessions in {month}. "
                          f"The limit resets {ts(hi)}.")


async def check_learner_free(uow: UnitOfWork, learner_id: int, start: datetime,
                             end: datetime, ignore_seat: int | None = None) -> None:
    """Refuse an office-hour seat for [start, end) when the learner has a booked session or
    another seat then (the database checks again: migration 0010)."""
    busy = [(s.start, s.end) for s in await uow.sessions.booked_for_learners([learner_id])
            if s.state is SessionState.BOOKED]
    busy += [(s.start, s.end) for s in await uow.office_hours.seats_for_learner(learner_id)
             if s.id != ignore_seat]
    for lo, hi in sorted(busy):
        if lo < end and start < hi:
            raise Refusal(f"You already have a session booked then ({ts(lo)} to "
                          f"{ts(hi, 't')}). Pick another office hour.")


async def check_seat_quota(uow: UnitOfWork, settings: CommunitySettings, community_id: int,
                           learner_id: int, start: datetime) -> None:
    """The monthly quotas of ``check_quotas``, for one learner booking an office-hour seat."""
    lo, hi = month_bounds(start, settings.timezone)
    month = start.astimezone(ZoneInfo(settings.timezone or "UTC")).strftime("%B")
    limit = settings.monthly_sessions_per_learner
    if limit > 0 and await _count_in(uow, community_id, lo, hi, learner_id) >= limit:
        raise Refusal(f"You have reached this community's limit of {limit} sessions in "
                      f"{month}. The limit resets {ts(hi)}: you can book sessions from then on.")
    cap = settings.monthly_sessions_per_community
    if cap > 0 and await _count_in(uow, community_id, lo, hi, None) >= cap:
        raise Refusal(f"This community has reached its limit of {cap} sessions in {month}. "
                      f"The limit resets {ts(hi)}.")
