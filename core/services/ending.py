"""Ending a match or leaving one: the one place that does it, for unpair, moderators and forget."""

from __future__ import annotations

from datetime import datetime

from core import keys
from core.messages import CloseSpace, DirectMessage
from core.model import Block, Learner, Match, MatchState, OutboxMessage, SessionState
from core.ports import UnitOfWork
from core.replies import Button
from core.services.common import name_for
from core.services.reminders import drop_session_rows, write_cancel_rows
from core.settings import CommunitySettings


async def block_pair(uow: UnitOfWork, community_id: int, a: int, b: int, reason: str,
                     now: datetime) -> None:
    """Record that a and b must never be matched again."""
    lo, hi = sorted((a, b))
    if frozenset((lo, hi)) not in await uow.blocks.pairs(community_id):
        await uow.blocks.add(Block(community_id, lo, hi, reason, now))


async def _cancel_sessions(uow: UnitOfWork, match: Match, by: int | None, now: datetime) -> None:
    """Cancel booked sessions; members of a future one get a CANCEL .ics for their calendar."""
    assert match.id is not None
    learners: dict[int, Learner] = {}
    for lid in match.member_ids():
        if (learner := await uow.learners.get(lid)) is not None:
            learners[lid] = learner
    for session in await uow.sessions.for_match(match.id):
        if session.state is SessionState.BOOKED:
            session.state = SessionState.CANCELLED
            await uow.sessions.update(session)
            await drop_session_rows(uow, session, "session cancelled: match ended")
            if session.start > now:
                await write_cancel_rows(uow, match, session, learners, by or -1, now)


async def close(uow: UnitOfWork, settings: CommunitySettings, match: Match, reason: str,
                now: datetime, by: int | None = None) -> None:
    """Mark the match ended, cancel its sessions and reminders, close its space.
    ``by``: the member who ended it, if one did."""
    assert match.id is not None
    match.state, match.ended_reason, match.ended_at = MatchState.ENDED, reason, now
    await uow.matches.update(match)
    await _cancel_sessions(uow, match, by, now)
    await uow.outbox.drop_matching(keys.match_prefix(match.id), "match ended")
    if not match.is_anonymous:  # anonymous matches have no space
        await uow.outbox.add(OutboxMessage(CloseSpace(
            match.id, match.space_id, settings.space_on_end,
            f"Match #{match.id} has ended. Thanks for studying together! "
            "`/peer rejoin` finds you a new match."), match.community_id, now))


async def leave_match(uow: UnitOfWork, settings: CommunitySettings, match: Match,
                      leaver: Learner, reason: str, now: datetime, *, block: bool = True,
                      tell: str = "") -> bool:
    """Take ``leaver`` out of ``match``; the others are told. A pair (or a group left with
    one person) ends; a bigger group goes on without them. Returns True if the match ended.

    ``block``: never match the leaver with these people again (unpair). ``tell``: what the
    others read; by default that the leaver ended the match.
    """
    assert match.id is not None and leaver.id is not None
    others = [i for i in match.member_ids() if i != leaver.id]
    shown = name_for(match, leaver, -1)  # before they leave: an alias must stay an alias
    for other_id in others:
        if block:
            await block_pair(uow, match.community_id, leaver.id, other_id, reason, now)
    remaining = len(others)
    ended = remaining < 2
    if ended:
        await close(uow, settings, match, reason, now, by=leaver.id)
    else:
        match.members = [m for m in match.members if m.learner_id != leaver.id]
        await uow.matches.update(match)
    text = tell or (f"{shown} has left match #{match.id}."
                    + (" The match has ended." if ended else " The group goes on without them."))
    for other_id in others:
        other = await uow.learners.get(other_id)
        if other is None:
            continue
        buttons = (Button("Find a new match", "peer rejoin", style="primary"),) if ended else ()
        await uow.outbox.add(OutboxMessage(DirectMessage(
            other.platform_user_id,
            text + (" You can rejoin the queue with one click." if ended else ""),
            keys.member_left(match.id, leaver.id, other_id), buttons=buttons),
            match.community_id, now))
    return ended
