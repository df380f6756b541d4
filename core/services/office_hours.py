"""`/peer office-hours`: supporters publish recurring bookable slots, learners book seats.

``add Tue 18:00-20:00 every week, 3 seats, topic Python`` (a supporter, in their own zone) ·
``list [topic]`` (the next two weeks, in the reader's own zone, seats left) · ``book <id>``
or ``book <id>-<n>`` (the next occurrence with a seat, or occurrence n) · ``leave <seat>`` ·
``cancel <id>-<n>`` (the supporter calls one occurrence off; attendees told) · ``end <id>``
(the whole series) · ``mine``.

A seat is booked like a session: the time must be ahead, the learner free then (no other
session or seat), the monthly quotas hold (core/services/session_rules.py), and the
database refuses a taken seat or a double booking under concurrency (migration 0010); the
calendar file, reminders and cancellations are outbox rows in the same transaction
(core/services/office_hour_messages.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from core import ics, office_hours
from core.model import Learner, SessionState
from core.office_hours import OfficeHour, Seat
from core.ports import StorageConflict
from core.replies import Button, Reply, mention, ts
from core.services import office_hour_messages as messages
from core.services import office_hour_series as series
from core.services import session_rules as rules
from core.services import verification
from core.services.context import Ctx
from core.services.errors import Refusal
from core.text import plural

HORIZON = series.HORIZON
USAGE = ("`/peer office-hours add Tue 18:00-20:00 every week, 3 seats, topic Python` · "
         "`list [topic]` · `book <id>` · `leave <seat>` · `cancel <id>-<n>` · `end <id>` · "
         "`mine`")


@dataclass(frozen=True)
class Listing:
    """One bookable occurrence as a learner sees it. ``verified``: a moderator verified the
    supporter for the series' topic (core/services/verification.py), shown as a badge."""

    hour: OfficeHour
    k: int
    start: datetime
    end: datetime
    seats_left: int
    supporter: Learner | None
    verified: bool = False

    @property
    def ref(self) -> str:
        return f"{self.hour.id}-{self.k + 1}"


async def listings(ctx: Ctx, topic: str = "") -> list[Listing]:
    """The bookable occurrences of the next two weeks, soonest first (a fixed number of
    statements, whatever the number of series)."""
    assert ctx.community.id is not None
    family = ctx.settings.family(topic) if topic else ""
    hours = [h for h in await ctx.uow.office_hours.active(ctx.community.id)
             if not family or ctx.settings.family(h.topic) == family]
    if not hours:
        return []
    booked = await ctx.uow.office_hours.booked_seats([h.id for h in hours if h.id], ctx.now,
                                                    ctx.now + HORIZON)
    taken: dict[tuple[int, datetime], int] = {}
    for seat in booked:
        taken[(seat.office_hour_id, seat.start)] = taken.get(
            (seat.office_hour_id, seat.start), 0) + 1
    supporters = await ctx.uow.learners.get_many([h.supporter_id for h in hours])
    verified = await verification.verified_in(ctx.uow, ctx.community.id)
    out = []
    for hour in hours:
        assert hour.id is not None
        for k, start, end in office_hours.occurrences(hour, ctx.now, ctx.now + HORIZON):
            if start <= ctx.now or office_hours.is_cancelled(hour, start):
                continue
            out.append(Listing(hour, k, start, end, hour.seats - taken.get((hour.id, start), 0),
                               supporters.get(hour.supporter_id),
                               bool(verification.badge(verified, hour.supporter_id, hour.topic))))
    return sorted(out, key=lambda o: (o.start, o.hour.id))


def _who(listing: Listing) -> str:
    if listing.supporter is None:
        return ""
    badge = f" {verification.BADGE}" if listing.verified else ""
    return f" with {mention(listing.supporter.platform_user_id)}{badge}"


async def list_(ctx: Ctx, topic: str) -> Reply:
    """Learners browse: times in their own zone (rendered by each platform), seats left."""
    found = await listings(ctx, topic)
    if not found:
        where = f" on {topic}" if topic else ""
        return Reply(text=f"No office hours{where} in the next two weeks. Supporters publish "
                          "them with `/peer office-hours add`.")
    lines = [f"**Office hours{f' on {topic}' if topic else ''}, next two weeks:**"]
    buttons: list[Button] = []
    for o in found[:20]:
        left = (f"{o.seats_left} of {plural(o.hour.seats, 'seat')} left" if o.seats_left > 0
                else "full")
        lines.append(f"- `{o.ref}` {o.hour.topic}{_who(o)}: {ts(o.start)} to "
                     f"{ts(o.end, 't')}, {left}")
        if o.seats_left > 0 and len(buttons) < 5:
            buttons.append(Button(f"Book {o.ref}", "peer office-hours",
                                  {"action": "book", "details": o.ref}, style="primary"))
    lines.append("`/peer office-hours book <id>` books a seat (e.g. `book "
                 f"{found[0].ref}`).")
    return Reply(text="\n".join(lines), buttons=tuple(buttons))


def _pick(hour: OfficeHour, k: int | None, now: datetime) -> tuple[datetime, datetime]:
    """The occurrence to book: index ``k``, or the next one not cancelled."""
    if k is not None:
        start, end = office_hours.occurrence(hour, k)
        if start <= now:
            raise Refusal(f"Office hours {hour.id}-{k + 1} ({ts(start)}) have already "
                          "started. Pick a later date.")
        if office_hours.is_cancelled(hour, start):
            raise Refusal(f"Office hours {hour.id}-{k + 1} ({ts(start)}) were called off by "
                          "the supporter. `/peer office-hours list` shows other dates.")
        return start, end
    for _, start, end in office_hours.occurrences(hour, now, now + HORIZON * 4):
        if start > now and not office_hours.is_cancelled(hour, start):
            return start, end
    raise Refusal(f"Office hours #{hour.id} have no date coming up.")


async def book(ctx: Ctx, details: str) -> Reply:
    """A learner takes the lowest free seat; a seat taken meanwhile by another process is
    the database's to refuse, and the next free number is tried."""
    me = ctx.learner.id
    assert me is not None
    hour_id, k = series.parse_ref(details)
    hour = await series.open_hour(ctx, hour_id)
    if hour.supporter_id == me:
        raise Refusal("These are your own office hours: learners book them.")
    start, end = _pick(hour, k, ctx.now)
    rules.check_time(start, ctx.now)
    held = [s for s in await ctx.uow.office_hours.booked_seats([hour_id], start,
                                                             start + timedelta(seconds=1))
            if s.learner_id == me]
    if held:
        raise Refusal(f"You already hold seat #{held[0].id} in office hours #{hour.id} on "
                      f"{ts(start)}. `/peer office-hours leave {held[0].id}` gives it up.")
    await rules.check_learner_free(ctx.uow, me, start, end)
    await rules.check_seat_quota(ctx.uow, ctx.settings, hour.community_id, me, start)
    for _ in range(hour.seats):
        seats = await ctx.uow.office_hours.booked_seats([hour_id], start,
                                                       start + timedelta(seconds=1))
        free = sorted(set(range(1, hour.seats + 1)) - {s.seat_no for s in seats})
        if not free:
            break
        seat = Seat(hour_id, me, start, end, free[0],
                    ics.new_uid(hour_id, ctx.services.ids, "office-hour"), ctx.now)
        try:
            seat = await ctx.uow.office_hours.add_seat(seat)
        except StorageConflict:
            await rules.check_learner_free(ctx.uow, me, start, end)  # a booking of theirs?
            continue  # the number went to someone else a moment ago: try the next one
        supporter = await ctx.uow.learners.get(hour.supporter_id)
        await messages.write_seat_rows(ctx.uow, ctx.settings, hour, seat, ctx.learner,
                                       supporter, ctx.now)
        return Reply(text=f"🎟️ Booked seat {seat.seat_no} of {hour.seats} in office hours "
                          f"#{hour.id} ({hour.topic}): {ts(start)} to {ts(end, 't')}, seat "
                          f"#{seat.id}. The calendar file and reminders come by DM; "
                          f"`/peer office-hours leave {seat.id}` gives it up.")
    raise Refusal(f"Office hours #{hour.id} on {ts(start)} are full. "
                  "`/peer office-hours list` shows other times.")


async def leave(ctx: Ctx, details: str) -> Reply:
    """A learner gives their own seat up (before it starts); the supporter is told."""
    text = details.strip().lstrip("#")
    seat_id = int(text) if text.isdigit() and len(text) <= 9 else 0
    seat = await ctx.uow.office_hours.get_seat(seat_id) if seat_id else None
    if seat is None or seat.learner_id != ctx.learner.id or seat.state is not SessionState.BOOKED:
        raise Refusal(f"You have no booked seat number {details.strip()[:20]}. "
                      "`/peer office-hours mine` lists yours.")
    if seat.start <= ctx.now:
        raise Refusal(f"That office hour has already started ({ts(seat.start)}).")
    hour = await ctx.uow.office_hours.get(seat.office_hour_id)
    assert hour is not None
    await series.cancel_seats(ctx.uow, ctx.settings, hour, [seat], ctx.now,
                              by_supporter=False)
    return Reply(text=f"❌ Gave up your seat in office hours #{hour.id} on {ts(seat.start)}. "
                      "The supporter has been told.")


async def seat_lines(ctx: Ctx) -> list[str]:
    """The caller's office-hour seats ahead, for `mine` and `/peer sessions` (none: [])."""
    assert ctx.learner.id is not None
    seats = [s for s in await ctx.uow.office_hours.seats_for_learner(ctx.learner.id)
             if s.end > ctx.now]
    if not seats:
        return []
    return ["**Your office-hour seats:**", *(
        f"- seat #{s.id}: {ts(s.start)} to {ts(s.end, 't')} (office hours "
        f"#{s.office_hour_id}; `/peer office-hours leave {s.id}` gives it up)"
        for s in seats[:20])]


async def mine(ctx: Ctx, _details: str) -> Reply:
    """The caller's seats, and the series they hold with the seats booked in each date."""
    me = ctx.learner.id
    assert me is not None and ctx.community.id is not None
    lines = await seat_lines(ctx)
    own = [o for o in await listings(ctx) if o.hour.supporter_id == me]
    if own:
        lines.append("**Your office hours:**")
        lines += [f"- `{o.ref}` {o.hour.topic}: {ts(o.start)}, "
                  f"{o.hour.seats - o.seats_left} of {plural(o.hour.seats, 'seat')} booked"
                  for o in own[:20]]
    return Reply(text="\n".join(lines) or "You have no seats and no office hours. " + USAGE)


_ACTIONS = {"add": series.add, "list": list_, "book": book, "leave": leave,
            "cancel": series.cancel, "end": series.end, "mine": mine}


async def office_hours_command(ctx: Ctx, args: dict[str, Any]) -> Reply:
    """`/peer office-hours <action> [details]`."""
    action = str(args.get("action") or "list")
    handler = _ACTIONS[action]
    return await handler(ctx, str(args.get("details") or ""))
