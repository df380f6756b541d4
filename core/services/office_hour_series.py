"""The supporter's side of `/peer office-hours`: publish a series (``add``), call one date
off (``cancel``), stop the series (``end``), and what ``/peer forget`` releases; with the
helpers both sides share (reading ``3`` / ``3-2``, finding an open series).

Cancelled seats get sequence + 1, lose their pending rows and are told by DM
(core/services/office_hour_messages.py), all in the command's transaction.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from core import office_hours
from core.model import Learner, Mode, SessionState
from core.office_hours import OfficeHour, OfficeHourState, RuleError, Seat
from core.ports import UnitOfWork
from core.replies import Reply, ts
from core.services import office_hour_messages as messages
from core.services import session_rules as rules
from core.services.context import Ctx
from core.services.errors import Refusal
from core.settings import CommunitySettings
from core.text import plural

HORIZON = timedelta(days=14)  # how far ahead learners see dates
FOREVER = timedelta(days=3660)  # "every seat ahead": seats are booked weeks ahead, not years
_REF = re.compile(r"^#?(?P<id>\d{1,9})(?:-(?P<n>\d{1,4}))?$")  # ids fit a 32-bit column


def parse_ref(details: str) -> tuple[int, int | None]:
    """``3`` -> (3, None); ``3-2`` -> (3, 1): the series and, if given, occurrence index."""
    m = _REF.match(details.strip())
    if m is None or int(m.group("id")) < 1 or (m.group("n") and int(m.group("n")) < 1):
        raise Refusal(f"'{details.strip()[:40]}' is not an office-hour number like `3` or "
                      "`3-2` (series 3, its 2nd date). `/peer office-hours list` shows them.")
    return int(m.group("id")), (int(m.group("n")) - 1 if m.group("n") else None)


async def open_hour(ctx: Ctx, hour_id: int) -> OfficeHour:
    hour = await ctx.uow.office_hours.get(hour_id)
    if (hour is None or hour.community_id != ctx.community.id
            or hour.state is not OfficeHourState.ACTIVE):
        raise Refusal(f"There are no office hours #{hour_id}. `/peer office-hours list` "
                      "shows the open ones.")
    return hour


async def add(ctx: Ctx, details: str) -> Reply:
    """A supporter publishes a series, read in their own zone to the minute."""
    assert ctx.learner.id is not None and ctx.community.id is not None
    profile = await ctx.uow.profiles.get(ctx.learner.id)
    if profile is None or profile.mode is not Mode.OFFER_SUPPORT:
        raise Refusal("Office hours are for supporters: offer support first with "
                      "`/peer join offer-support`.")
    try:
        rule = office_hours.parse_rule(details, ctx.settings.topics, profile.topic)
    except RuleError as exc:
        raise Refusal(str(exc)) from None
    zone = rules.booker_zone(profile, ctx.actor.timezone, ctx.settings)
    hour = await ctx.uow.office_hours.add(OfficeHour(
        ctx.community.id, ctx.learner.id, rule.window.day, rule.window.start, rule.window.end,
        zone, rule.every_weeks, rule.seats, rule.topic,
        office_hours.first_day(rule.window.day, zone, ctx.now), ctx.now))
    upcoming = [o for o in office_hours.occurrences(hour, ctx.now, ctx.now + HORIZON)
                if o[1] > ctx.now]
    nxt = f" Next: {ts(upcoming[0][1])}." if upcoming else ""
    return Reply(text=f"🗓️ Published office hours #{hour.id}: {hour.describe()}, "
                      f"{plural(hour.seats, 'seat')}, topic {hour.topic}.{nxt} Learners find it "
                      f"with `/peer office-hours list {hour.topic}`; `/peer office-hours end "
                      f"{hour.id}` stops the series.")


async def cancel_seats(uow: UnitOfWork, settings: CommunitySettings, hour: OfficeHour,
                       seats: list[Seat], now: datetime, *, by_supporter: bool) -> None:
    """Cancel these booked seats of ``hour`` (sequence + 1), drop their pending rows and
    tell whoever did not cancel (one read of the people, however many seats)."""
    people = await uow.learners.get_many([hour.supporter_id, *(s.learner_id for s in seats)])
    for seat in seats:
        seat.state, seat.sequence = SessionState.CANCELLED, seat.sequence + 1
        await uow.office_hours.update_seat(seat)
        await messages.write_seat_cancel(uow, settings, hour, seat, people.get(seat.learner_id),
                                         people.get(hour.supporter_id), now,
                                         by_supporter=by_supporter)


async def release_for(uow: UnitOfWork, settings: CommunitySettings, learner: Learner,
                      now: datetime) -> None:
    """Someone leaves PeerMatch (``/peer forget``): their series end, with every seat ahead
    cancelled and its learner told, and their own seats ahead are given up (supporter told),
    before their rows go."""
    assert learner.id is not None
    for hour in await uow.office_hours.active(learner.community_id):
        if hour.supporter_id != learner.id:
            continue
        hour.state = OfficeHourState.ENDED
        await uow.office_hours.update(hour)
        ahead = [s for s in await uow.office_hours.booked_seats(
            [hour.id or 0], now, now + FOREVER) if s.start > now]
        await cancel_seats(uow, settings, hour, ahead, now, by_supporter=True)
    for seat in await uow.office_hours.seats_for_learner(learner.id):
        series = await uow.office_hours.get(seat.office_hour_id)
        if series is not None and seat.start > now:
            await cancel_seats(uow, settings, series, [seat], now, by_supporter=False)


async def _own_hour(ctx: Ctx, hour_id: int) -> OfficeHour:
    hour = await open_hour(ctx, hour_id)
    if hour.supporter_id != ctx.learner.id:
        raise Refusal(f"Office hours #{hour_id} are not yours; only their supporter can "
                      "cancel them.")
    return hour


async def cancel(ctx: Ctx, details: str) -> Reply:
    """The supporter calls one occurrence off: its seats are cancelled, attendees told."""
    hour_id, k = parse_ref(details)
    hour = await _own_hour(ctx, hour_id)
    if k is None:
        raise Refusal(f"Which date? `/peer office-hours cancel {hour_id}-2` calls off the 2nd; "
                      f"`/peer office-hours end {hour_id}` stops the whole series.")
    start, _ = office_hours.occurrence(hour, k)
    if start <= ctx.now or office_hours.is_cancelled(hour, start):
        raise Refusal(f"Office hours {hour_id}-{k + 1} ({ts(start)}) are past or cancelled "
                      "already.")
    hour.cancelled.append(start)
    await ctx.uow.office_hours.update(hour)
    seats = await ctx.uow.office_hours.booked_seats([hour_id], start, start + timedelta(seconds=1))
    await cancel_seats(ctx.uow, ctx.settings, hour, seats, ctx.now, by_supporter=True)
    return Reply(text=f"❌ Called off office hours {hour_id}-{k + 1} on {ts(start)}; "
                      f"{plural(len(seats), 'attendee')} told. The series goes on.")


async def end(ctx: Ctx, details: str) -> Reply:
    """The supporter stops the series: every seat still ahead is cancelled, attendees told."""
    hour_id, _ = parse_ref(details)
    hour = await _own_hour(ctx, hour_id)
    hour.state = OfficeHourState.ENDED
    await ctx.uow.office_hours.update(hour)
    seats = [s for s in await ctx.uow.office_hours.booked_seats(
        [hour_id], ctx.now, ctx.now + FOREVER) if s.start > ctx.now]
    await cancel_seats(ctx.uow, ctx.settings, hour, seats, ctx.now, by_supporter=True)
    return Reply(text=f"🛑 Ended office hours #{hour_id}; {plural(len(seats), 'booked seat')} "
                      "cancelled and their learners told.")


