"""Sessions: `/peer schedule`, `/peer reschedule`, `/peer cancel`, `/peer sessions`.

A session belongs to a match; any member may book, move or cancel it. Every change writes
its DMs, .ics files and reminders as outbox rows in the same transaction: it publishes
SessionBooked / SessionMoved / SessionCancelled (core/services/effects.py). The rules it
must pass live in session_rules.py.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from core import ics
from core.events import SessionBooked, SessionCancelled, SessionMoved
from core.model import Learner, Match, Profile, Session, SessionState
from core.ports import StorageConflict
from core.replies import Button, Reply, ts
from core.services import effects, office_hours
from core.services import session_rules as rules
from core.services.context import Ctx
from core.services.errors import Refusal
from core.services.reminders import others

_RACE = ("Someone in this match got another session at that time a moment ago. "
         "Pick another time.")


async def members(ctx: Ctx, match: Match) -> tuple[dict[int, Learner], dict[int, Profile]]:
    """The match's learners and their profiles, by learner id."""
    learners: dict[int, Learner] = {}
    for lid in match.member_ids():
        learner = await ctx.uow.learners.get(lid)
        if learner is not None:
            learners[lid] = learner
    return learners, await ctx.uow.profiles.for_learners(match.member_ids())


def offsets_text(minutes: tuple[int, ...]) -> str:
    """(1440, 60) -> '24 h and 1 h'."""
    parts = [f"{m // 60} h" if m % 60 == 0 else f"{m} min"
             for m in sorted({m for m in minutes if m > 0}, reverse=True)]
    return " and ".join([", ".join(parts[:-1]), parts[-1]] if len(parts) > 1 else parts)


def reminders_note(minutes: tuple[int, ...]) -> str:
    when = offsets_text(minutes)
    return f" and reminders {when} before" if when else ""


async def _check(ctx: Ctx, match: Match, learners: dict[int, Learner], start: datetime,
                 end: datetime, moving: Session | None = None) -> None:
    """The rules every booking passes, whoever agreed: the time is ahead, nobody is booked
    twice, the monthly quotas hold."""
    me = ctx.learner.id or 0
    rules.check_time(start, ctx.now)
    await rules.check_double_booking(ctx.uow, match, learners, start, end, me,
                                     ignore=moving.id if moving else None)
    await rules.check_quotas(ctx.uow, ctx.settings, match, learners, start, me, moving)


async def book(ctx: Ctx, match: Match, learners: dict[int, Learner], start: datetime,
               end: datetime, moving: Session | None, warning: str, booked_by: int) -> Session:
    """Book [start, end) in ``match`` (or move ``moving`` there) once everyone agreed
    (``booked_by``: who proposed it):
    every rule again (things may have changed since the proposal), then the invites,
    reminders and feedback prompts (SessionBooked / SessionMoved)."""
    assert match.id is not None and ctx.learner.id is not None
    await _check(ctx, match, learners, start, end, moving)
    try:
        if moving is None:
            session = await ctx.uow.sessions.add(Session(
                match.id, start, end, booked_by, ics.new_uid(match.id, ctx.services.ids)))
        else:
            session = moving
            session.start, session.end, session.sequence = start, end, session.sequence + 1
            await ctx.uow.sessions.update(session)
    except StorageConflict:
        raise Refusal(_RACE) from None
    event = (SessionBooked(match, session, learners, ctx.now, warning) if moving is None
             else SessionMoved(match, session, learners, ctx.now, warning))
    await effects.publish(ctx.uow, ctx.settings, event)
    return session


async def precheck(ctx: Ctx, match: Match, learners: dict[int, Learner], start: datetime,
                   end: datetime, moving: Session | None = None) -> None:
    """The booking rules, checked when a time is proposed so nobody accepts in vain."""
    await _check(ctx, match, learners, start, end, moving)


async def own_session(ctx: Ctx, session_id: int) -> tuple[Session, Match]:
    """A booked, not yet started session of one of the caller's active matches."""
    session = await ctx.uow.sessions.get(session_id)
    match = await ctx.uow.matches.get(session.match_id) if session else None
    if (session is None or match is None or ctx.learner.id not in match.member_ids()
            or not match.is_active):
        raise Refusal(f"You have no session number {session_id}. `/peer sessions` lists yours.")
    if session.state is not SessionState.BOOKED:
        raise Refusal(f"Session #{session_id} is {session.state.value} already.")
    if session.start <= ctx.now:
        raise Refusal(f"Session #{session_id} has already started ({ts(session.start)}).")
    return session, match


async def cancel(ctx: Ctx, args: dict[str, Any]) -> Reply:
    """`/peer cancel <session>`: cancel it; reminders go, everyone gets a CANCEL .ics."""
    session, match = await own_session(ctx, int(args["session"]))
    assert ctx.learner.id is not None
    learners, _ = await members(ctx, match)
    session.state, session.sequence = SessionState.CANCELLED, session.sequence + 1
    await ctx.uow.sessions.update(session)
    await effects.publish(ctx.uow, ctx.settings,
                          SessionCancelled(match, session, learners, ctx.learner.id, ctx.now))
    return Reply(text=f"❌ Cancelled session #{session.id} ({ts(session.start)}). "
                      "Everyone has been told; their reminders are cancelled too.",
                 buttons=(Button("Book another", "peer schedule", {"match": str(match.id)}),))


async def _proposal_lines(ctx: Ctx, me: int) -> tuple[list[str], list[Button]]:
    """The open proposals of the caller's active matches: what they wait for, with the
    caller's own answer to give (Accept / Decline) where it is still missing."""
    lines: list[str] = []
    buttons: list[Button] = []
    for match in await ctx.uow.matches.active_for(me):
        assert match.id is not None
        for proposal in await ctx.uow.proposals.open_for_match(match.id):
            if proposal.end <= ctx.now:
                continue
            learners, _ = await members(ctx, match)
            mine = me in proposal.accepted
            lines.append(f"- proposal #{proposal.id}: {ts(proposal.start)} to "
                         f"{ts(proposal.end, 't')} with {others(match, learners, me)}: "
                         + ("you accepted, waiting for the others" if mine
                            else "waiting for your answer"))
            if not mine and len(buttons) < 4:
                args = {"proposal": str(proposal.id)}
                buttons += [Button(f"Accept #{proposal.id}", "peer accept", args,
                                   style="primary"),
                            Button(f"Decline #{proposal.id}", "peer decline", args)]
    return lines, buttons


async def list_sessions(ctx: Ctx, _args: dict[str, Any]) -> Reply:
    """`/peer sessions`: the caller's upcoming sessions, soonest first, then the proposed
    times still waiting for answers."""
    me = ctx.learner.id
    assert me is not None
    upcoming = [s for s in await ctx.uow.sessions.booked_for_learners([me]) if s.end > ctx.now]
    proposed, answer = await _proposal_lines(ctx, me)
    tail = ["**Proposed times:**", *proposed] if proposed else []
    tail += await office_hours.seat_lines(ctx)
    if not upcoming:
        head = ("You have no upcoming sessions. Propose one with `/peer schedule <when>` "
                "(the number of a suggested time works too).")
        return Reply(text="\n".join([head, *tail]), buttons=tuple(answer))
    lines = ["**Your upcoming sessions:**"]
    buttons: list[Button] = list(answer)
    for session in sorted(upcoming, key=lambda s: s.start)[:20]:
        match = await ctx.uow.matches.get(session.match_id)
        if match is None or not match.is_active:
            continue
        learners, _ = await members(ctx, match)
        lines.append(f"- #{session.id}: {ts(session.start)} to {ts(session.end, 't')} with "
                     f"{others(match, learners, me)} (match #{match.id})")
        if len(buttons) < 5:
            buttons.append(Button(f"Cancel #{session.id}", "peer cancel",
                                  {"session": str(session.id)}, style="danger"))
    lines.append("`/peer reschedule <session> <when>` proposes a new time; `/peer cancel "
                 "<session>` cancels it.")
    return Reply(text="\n".join(lines + tail), buttons=tuple(buttons))
