"""Booking by agreement: `/peer schedule` and `/peer reschedule` propose a time, the other
members `/peer accept` or `/peer decline` it (buttons), and only when all have accepted is
the session booked (or moved) with the usual rules, invites and reminders
(core/services/sessions.py ``book``).

A time outside someone's declared hours may still be proposed: everyone sees who is outside
and which rule that breaks, and the ones outside decide by accepting. A community that wants
declared hours to be a hard rule sets ``allow_outside_availability = false``; the refusal
then names the rule. A declined proposal books nothing; the proposer is told.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from core import keys
from core.events import ProposalDeclined, SessionProposed
from core.model import Learner, Match, Profile, Proposal, ProposalState, Session
from core.replies import Button, Reply, ts
from core.services import effects
from core.services import session_rules as rules
from core.services.common import active_match, name_for
from core.services.context import Ctx
from core.services.errors import Refusal
from core.services.proposal_messages import hours_warning
from core.services.reminders import others
from core.services.sessions import book, members, own_session, precheck, reminders_note
from core.text import join_words


def _zone(ctx: Ctx, profiles: dict[int, Profile]) -> str:
    return rules.booker_zone(profiles.get(ctx.learner.id or 0), ctx.actor.timezone, ctx.settings)


def _minutes(args: dict[str, Any]) -> int | None:
    return int(args["minutes"]) if args.get("minutes") else None


async def schedule(ctx: Ctx, args: dict[str, Any]) -> Reply:
    """`/peer schedule <when> [match] [minutes]`: propose a new session time."""
    match = await active_match(ctx, args.get("match"))
    learners, profiles = await members(ctx, match)
    start, end, note = rules.parse_when(str(args["when"]), match, _zone(ctx, profiles),
                                        ctx.settings, ctx.now, _minutes(args))
    return await propose(ctx, match, learners, profiles, start, end, note)


async def reschedule(ctx: Ctx, args: dict[str, Any]) -> Reply:
    """`/peer reschedule <session> <when> [minutes]`: propose a new time for a session."""
    session, match = await own_session(ctx, int(args["session"]))
    learners, profiles = await members(ctx, match)
    minutes = _minutes(args) or int((session.end - session.start).total_seconds() // 60)
    start, end, note = rules.parse_when(str(args["when"]), match, _zone(ctx, profiles),
                                        ctx.settings, ctx.now, minutes)
    return await propose(ctx, match, learners, profiles, start, end, note, moving=session)


async def propose(ctx: Ctx, match: Match, learners: dict[int, Learner],
                  profiles: dict[int, Profile], start: datetime, end: datetime, note: str,
                  moving: Session | None = None) -> Reply:
    """Store the proposal (the proposer has accepted it) and ask the others."""
    me = ctx.learner.id
    assert me is not None and match.id is not None
    rules.check_time(start, ctx.now)
    notes = rules.availability_notes(match, learners, profiles, start, end, me,
                                     _zone(ctx, profiles))
    if notes and not ctx.settings.allow_outside_availability:
        raise Refusal(f"{ts(start)} doesn't work here: " + "; ".join(notes) + ". This "
                      "community books only inside everyone's declared hours: pick a suggested "
                      "time (`/peer status` lists them) or another time that fits everyone.")
    await precheck(ctx, match, learners, start, end, moving)
    proposal = await ctx.uow.proposals.add(Proposal(
        match.id, me, start, end, ctx.now, accepted=(me,),
        session_id=moving.id if moving else None))
    await effects.publish(ctx.uow, ctx.settings,
                          SessionProposed(match, proposal, learners, ctx.now))
    minutes = int((end - start).total_seconds() // 60)
    what = f"moving session #{moving.id} to" if moving else "a session"
    return Reply(text=(f"📨 Proposed {what} {ts(start)} to {ts(end, 't')} ({minutes} min){note} "
                       f"to {others(match, learners, me)} (proposal #{proposal.id}). "
                       "It is booked as soon as everyone accepts; I'll tell you."
                       + hours_warning(notes)),
                 buttons=(Button("Withdraw", "peer decline", {"proposal": str(proposal.id)},
                                 style="danger"),))


async def _open_proposal(ctx: Ctx, proposal_id: int) -> tuple[Proposal, Match]:
    """An open proposal of one of the caller's active matches, or a polite refusal."""
    proposal = await ctx.uow.proposals.get(proposal_id)
    match = await ctx.uow.matches.get(proposal.match_id) if proposal else None
    if (proposal is None or match is None or ctx.learner.id not in match.member_ids()
            or not match.is_active):
        raise Refusal(f"You have no proposed time number {proposal_id}. `/peer sessions` "
                      "lists your sessions and open proposals.")
    if not proposal.is_open:
        raise Refusal(f"Proposal #{proposal_id} is {proposal.state.value} already.")
    return proposal, match


async def accept(ctx: Ctx, args: dict[str, Any]) -> Reply:
    """`/peer accept <proposal>`: say yes; the last yes books the session."""
    proposal, match = await _open_proposal(ctx, int(args["proposal"]))
    me = ctx.learner.id
    assert me is not None
    learners, profiles = await members(ctx, match)
    if proposal.start <= ctx.now:
        raise Refusal(f"That time ({ts(proposal.start)}) has already passed, so it can't be "
                      "booked. Propose another with `/peer schedule <when>`.")
    if me not in proposal.accepted:
        proposal.accepted = (*proposal.accepted, me)
    waiting = [i for i in proposal.waiting_for(match.member_ids()) if i in learners]
    if waiting:
        await ctx.uow.proposals.update(proposal)
        names = join_words([name_for(match, learners[i], me) for i in waiting])
        return Reply(text=f"👍 Thanks: you accepted proposal #{proposal.id} ({ts(proposal.start)})."
                          f" Waiting for {names}; it is booked once they accept too.")
    moving = await ctx.uow.sessions.get(proposal.session_id) if proposal.session_id else None
    notes = rules.availability_notes(match, learners, profiles, proposal.start, proposal.end,
                                     me, _zone(ctx, profiles))
    warning = hours_warning(notes) + (" Everyone agreed to this time." if notes else "")
    session = await book(ctx, match, learners, proposal.start, proposal.end, moving, warning,
                         proposal.proposed_by)
    proposal.state, proposal.decided_by = ProposalState.BOOKED, me
    await ctx.uow.proposals.update(proposal)
    # Everyone has answered: an ask not delivered yet would only confuse.
    await ctx.uow.outbox.drop_matching(keys.proposal_prefix(match.id, proposal.id),
                                       "proposal booked")
    head = f"🔁 Moved session #{session.id}" if moving else f"✅ Booked session #{session.id}"
    return Reply(
        text=(f"{head} with {others(match, learners, me)}: {ts(session.start)} to "
              f"{ts(session.end, 't')}: everyone accepted.{warning}\n"
              "Everyone gets the invite by DM (an .ics file for your calendar)"
              f"{reminders_note(ctx.settings.reminder_offsets_minutes)}."),
        buttons=(Button("Cancel session", "peer cancel", {"session": str(session.id)},
                        style="danger"),))


async def decline(ctx: Ctx, args: dict[str, Any]) -> Reply:
    """`/peer decline <proposal>`: say no (the proposer withdraws it the same way);
    nothing is booked and the others are told."""
    proposal, match = await _open_proposal(ctx, int(args["proposal"]))
    me = ctx.learner.id
    assert me is not None
    learners, _ = await members(ctx, match)
    withdrawn = me == proposal.proposed_by
    proposal.state = ProposalState.WITHDRAWN if withdrawn else ProposalState.DECLINED
    proposal.decided_by = me
    await ctx.uow.proposals.update(proposal)
    await effects.publish(ctx.uow, ctx.settings,
                          ProposalDeclined(match, proposal, learners, me, ctx.now))
    what = "withdrew" if withdrawn else "declined"
    return Reply(text=(f"You {what} proposal #{proposal.id} ({ts(proposal.start)}): nothing "
                       f"was booked, and {others(match, learners, me)} has been told. "
                       "Propose another time with `/peer schedule <when>`."),
                 buttons=(Button("Propose a time", "peer schedule", {"match": str(match.id)}),))
