"""Ending a match or leaving one: the one place that does it, for unpair, moderators and forget.

These functions change the match and publish what happened (``MatchEnded``,
``MemberLeft``); what that causes (sessions cancelled, reminders dropped, the space
closed, the others told) is the events' entry in core/services/effects.py.
"""

from __future__ import annotations

from datetime import datetime

from core.events import MatchEnded, MemberLeft
from core.model import Block, Learner, Match, MatchState
from core.ports import UnitOfWork
from core.services import effects
from core.services.common import name_for
from core.settings import CommunitySettings


async def block_pair(uow: UnitOfWork, community_id: int, a: int, b: int, reason: str,
                     now: datetime) -> None:
    """Record that a and b must never be matched again."""
    lo, hi = sorted((a, b))
    if frozenset((lo, hi)) not in await uow.blocks.pairs(community_id):
        await uow.blocks.add(Block(community_id, lo, hi, reason, now))


async def close(uow: UnitOfWork, settings: CommunitySettings, match: Match, reason: str,
                now: datetime, by: int | None = None, *, by_moderator: bool = False) -> None:
    """Mark the match ended and publish ``MatchEnded`` (its sessions, reminders and space
    follow from it). ``by``: the member who ended it, if one did; ``by_moderator``: a
    moderator did (`/peeradmin end-match`)."""
    assert match.id is not None
    match.state, match.ended_reason, match.ended_at = MatchState.ENDED, reason, now
    await uow.matches.update(match)
    await effects.publish(uow, settings, MatchEnded(match, reason, now, by,
                                                        by_moderator))


async def leave_match(uow: UnitOfWork, settings: CommunitySettings, match: Match,
                      leaver: Learner, reason: str, now: datetime, *, block: bool = True,
                      tell: str = "") -> bool:
    """Take ``leaver`` out of ``match``; the others are told. A pair (or a group left with
    one person) ends; a bigger group goes on without them. Returns True if the match ended.

    ``block``: never match the leaver with these people again (unpair). ``tell``: what the
    others read; by default that the leaver ended the match.
    """
    assert match.id is not None and leaver.id is not None
    others = tuple(i for i in match.member_ids() if i != leaver.id)
    shown = name_for(match, leaver, -1)  # before they leave: an alias must stay an alias
    for other_id in others:
        if block:
            await block_pair(uow, match.community_id, leaver.id, other_id, reason, now)
    ended = len(others) < 2
    if ended:
        await close(uow, settings, match, reason, now, by=leaver.id)
    else:
        match.members = [m for m in match.members if m.learner_id != leaver.id]
        await uow.matches.update(match)
    text = tell or (f"{shown} has left match #{match.id}."
                    + (" The match has ended." if ended else " The group goes on without them."))
    await effects.publish(uow, settings, MemberLeft(match, leaver, others, ended, text, now))
    return ended
