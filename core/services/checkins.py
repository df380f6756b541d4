"""Check-ins: "did you meet?", weekly accountability check-ins, waiting-queue updates, and
the answers to them (`/peer met`).

Rows and their keys (outbox, written in the transaction that makes them due):

- ``match:{mid}:checkin:{learner}``: "did you meet?", ``checkin_after_days`` after the
  match (written for MatchMade, core/services/effects.py); a "not yet" answer adds
  ``match:{mid}:checkin:{learner}:again:{unix}`` for later;
- ``match:{mid}:weekly:{k}:{learner}``: accountability check-in number k, k weeks after the
  match;
- ``queue:{entry}:update:{k}``: "still waiting, because ...", k weeks after joining.

Weekly rows are written by ``core.services.planner.plan_periodic``, which the scheduler
runs every few minutes:
it writes the row for the latest week that has begun, due now, so the text is fresh (the
current waiting reason) and a bot that was down for weeks sends one update, not a backlog.
Idempotency keys make re-running it harmless, in one process or several. A match that ends
drops its pending ``match:{mid}:`` rows (core/services/ending.py).

"Met" is recorded on sessions, which is what stats count as a meeting: answering yes marks
the match's past booked sessions DONE, or, when the pair met without booking, stores one
DONE session ``met-{mid}@...`` ending now (so it also counts toward the monthly quota).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from core import keys
from core.ics import UID_DOMAIN
from core.messages import DirectMessage
from core.model import (
    Learner,
    Match,
    Mode,
    OutboxMessage,
    OutboxState,
    QueueEntry,
    Session,
    SessionState,
)
from core.ports import UnitOfWork
from core.replies import Button, Reply, ts
from core.services.common import active_match, waited
from core.services.context import Ctx
from core.services.reminders import feedback_buttons, others
from core.services.session_rules import next_occurrence
from core.settings import CommunitySettings

WEEK = timedelta(days=7)


def checkin_buttons(match: Match, *, unpair: bool = True,
                    no_show: bool = False) -> tuple[Button, ...]:
    """Yes / Not yet (/ No (unpair)); ``no_show``: also "They didn't show up" (a pair)."""
    args = {"match": str(match.id)}
    buttons = [Button("Yes, we met", "peer met", {**args, "answer": "yes"}, style="primary"),
               Button("Not yet", "peer met", {**args, "answer": "not-yet"})]
    if no_show and len(match.members) == 2:
        buttons.append(Button("They didn't show up", "peer met", {**args, "answer": "no-show"}))
    if unpair:
        buttons.append(Button("No (unpair)", "peer met", {**args, "answer": "no"}, style="danger"))
    return tuple(buttons)


def _dm(match: Match, learner: Learner, text: str, key: str, due: datetime,
        buttons: tuple[Button, ...]) -> OutboxMessage:
    return OutboxMessage(DirectMessage(learner.platform_user_id, text, key, buttons=buttons,
                                       match_id=match.fallback_match_id),
                         match.community_id, due)


async def write_checkins(uow: UnitOfWork, settings: CommunitySettings, match: Match,
                         learners: dict[int, Learner]) -> None:
    """The "did you meet?" rows of a new match, and an accountability pair's first weekly
    check-in (the same key the planner would write, so it is never sent twice)."""
    due = match.created_at + timedelta(days=max(0, settings.checkin_after_days))
    for lid in match.member_ids():
        if lid in learners:
            await uow.outbox.add(
                _dm(
                    match,
                    learners[lid],
                    f"👋 Checking in on match #{match.id}: "
                    f"did you meet {others(match, learners, lid)} yet?",
                    keys.checkin(match.id, lid),
                    due,
                    checkin_buttons(match),
                )
            )
    if match.kind is Mode.ACCOUNTABILITY:
        await _weekly(uow, match, learners, 1, match.created_at + WEEK)


def weekly_rows(match: Match, learners: dict[int, Learner], k: int,
                due: datetime) -> list[OutboxMessage]:
    """Accountability check-in number ``k`` of a match, one row per member known."""
    return [_dm(match, learners[lid],
                f"📆 Weekly check-in #{k} with your accountability partner "
                f"{others(match, learners, lid)}: did you check in with each other this "
                "week? Share what you got done and next week's goal in your chat.",
                keys.weekly_checkin(match.id, k, lid), due, checkin_buttons(match, unpair=False))
            for lid in match.member_ids() if lid in learners]


async def _weekly(uow: UnitOfWork, match: Match, learners: dict[int, Learner], k: int,
                  due: datetime) -> int:
    return await uow.outbox.add_many(weekly_rows(match, learners, k, due))


def waiting_update(learner: Learner, entry: QueueEntry, place: tuple[int, int],
                   k: int, now: datetime) -> OutboxMessage:
    """The "still waiting, because ..." DM of week ``k`` (``place``: position, total)."""
    pos, total = place
    why = entry.unmatched_reason or "no matching round has run since you joined."
    return OutboxMessage(DirectMessage(
        learner.platform_user_id,
        f"⏳ Still looking for your **{entry.mode.label}** match: you've waited "
        f"{waited(entry.joined_at, now)} and are {pos} of {total} in line.\n"
        f"Why no match yet: {why}\nYou stay in the queue; `/peer leave` if you'd rather not.",
        keys.queue_update(entry.id, k),
        buttons=(Button("Status", "peer status"),
                 Button("Leave queue", "peer leave", style="danger"))), entry.community_id, now)


async def drop_checkins(uow: UnitOfWork, match: Match, learner_id: int, reason: str) -> int:
    """Drop this learner's pending "did you meet?" rows in the match (exact key or its
    follow-ups; a plain prefix would also hit learner 12 when dropping learner 1)."""
    dropped = 0
    for msg in await uow.outbox.pending(match.community_id):
        if keys.is_checkin_of(msg.idempotency_key, match.id, learner_id):
            msg.state, msg.last_error = OutboxState.DROPPED, reason
            await uow.outbox.update(msg)
            dropped += 1
    return dropped


async def record_met(ctx: Ctx, match: Match) -> Session | None:
    """Record that the match met: past booked sessions become DONE, or one DONE session
    is stored when they met without booking. Returns the session feedback is about."""
    assert match.id is not None and ctx.learner.id is not None
    sessions = await ctx.uow.sessions.for_match(match.id)
    past = [s for s in sessions if s.start <= ctx.now and s.state is not SessionState.CANCELLED]
    for s in past:
        if s.state is SessionState.BOOKED and s.end <= ctx.now:
            s.state = SessionState.DONE
            await ctx.uow.sessions.update(s)
    if past:
        return max(past, key=lambda s: s.start)
    # They met between the match and now: never a session that starts before the match.
    start = max(ctx.now - timedelta(minutes=ctx.settings.session_minutes), match.created_at)
    return await ctx.uow.sessions.add(Session(
        match.id, start, ctx.now, ctx.learner.id, f"met-{match.id}@{UID_DOMAIN}",
        state=SessionState.DONE))


async def answer(ctx: Ctx, args: dict[str, Any]) -> Reply:
    """`/peer met <yes|not-yet|no> [match]`."""
    match = await active_match(ctx, args.get("match"))
    me = ctx.learner.id
    assert me is not None and match.id is not None
    learners = {lid: lr for lid in match.member_ids()
                if (lr := await ctx.uow.learners.get(lid)) is not None}
    with_whom = others(match, learners, me)
    reply_to = str(args["answer"])
    await drop_checkins(ctx.uow, match, me, f"answered {reply_to}")
    if reply_to == "yes":
        session = await record_met(ctx, match)
        return Reply(text=f"🎉 Great, glad you met {with_whom}! Thanks for telling me. "
                          "How did it go? Your rating (1-5) helps everyone find good partners.",
                     buttons=feedback_buttons(match, session.id if session else None, learners, me))
    if reply_to == "not-yet":
        later = ctx.now + timedelta(days=max(1, ctx.settings.checkin_after_days))
        if me in learners:
            await ctx.uow.outbox.add(_dm(
                match, learners[me], f"👋 Checking in again on match #{match.id}: did you meet "
                f"{with_whom} yet?", keys.checkin_again(match.id, me, int(later.timestamp())),
                later, checkin_buttons(match)))
        # The suggestions were made for the week of the match: show their next repeats.
        upcoming = [next_occurrence(a, b, ctx.now)[0] for a, b in match.suggested_times]
        slots = [Button(f"Book time {i}", "peer schedule", {"match": str(match.id), "when": str(i)})
                 for i in range(1, min(3, len(upcoming)) + 1)]
        times = " · ".join(f"**{i}.** {ts(s)}" for i, s in enumerate(upcoming, 1))
        return Reply(text=(f"No problem! A short first session is the easiest start: say hi to "
                           f"{with_whom} and pick a time. "
                           + (f"Suggested times: {times}. " if times else "")
                           + f"I'll check in again {ts(later, 'R')}."), buttons=tuple(slots))
    return Reply(text=(f"Sorry it didn't work out with {with_whom}. If you'd like a new partner, "
                       "unpair: they'll be told kindly and you can rejoin the queue. If you'd "
                       "rather give it another go, book a time with `/peer schedule`."),
                 buttons=(Button("Unpair", "peer unpair",
                                 {"match": str(match.id), "reason": "we didn't meet"},
                                 style="danger"),))
