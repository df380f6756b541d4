"""Cadence: accountability partners and study groups keep their partners, or rotate.

Each learner chooses on the join form (``Profile.rotate_partners``, no by default). Every
``rematch_every_weeks`` weeks (4 by default; 0 turns rotation off) the planner takes the
members who chose to rotate out of their match (``ending.leave_match``, no block: they may
meet again one day) and puts them back in the queue; those who keep their partners stay
together, and a member left alone is told with the "Find me someone new" button
(core/services/requeue.py). The next round steers clear of recent partners with the
engine's own history term (``weights.past_partner``: every earlier match of the pair).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from core import keys
from core.messages import DirectMessage
from core.model import Community, Learner, Match, MatchState, Mode, OutboxMessage, QueueEntry
from core.ports import UnitOfWork
from core.replies import Button
from core.services import ending
from core.services.common import name_for
from core.settings import CommunitySettings

ROTATING = (Mode.ACCOUNTABILITY, Mode.STUDY_GROUP)


def due(match: Match, settings: CommunitySettings, now: datetime) -> bool:
    """Whether ``match`` has run its ``rematch_every_weeks`` weeks."""
    weeks = settings.rematch_every_weeks
    return (weeks > 0 and match.is_active and match.kind in ROTATING
            and now >= match.created_at + timedelta(weeks=weeks))


async def _move_on(uow: UnitOfWork, settings: CommunitySettings, match: Match,
                   mover: Learner, mode: Mode, now: datetime) -> None:
    """One member who chose to rotate leaves and is queued again, and told so."""
    assert mover.id is not None
    weeks = settings.rematch_every_weeks
    if match.is_active:
        await ending.leave_match(
            uow, settings, match, mover, f"rotated after {weeks} weeks", now, block=False,
            tell=f"{name_for(match, mover, -1)} moves on to new partners after {weeks} weeks "
                 f"in match #{match.id}, as they chose.")
    if await uow.queue.open_for(mover.id) is None:
        await uow.queue.add(QueueEntry(mover.id, match.community_id, mode, now))
    await uow.outbox.add(OutboxMessage(DirectMessage(
        mover.platform_user_id,
        f"🔄 Match #{match.id} has run {weeks} weeks and you chose new partners every "
        f"{weeks} weeks, so you're back in the queue: the next round finds you someone new "
        "(not a recent partner).", keys.rotated(match.id, mover.id),
        buttons=(Button("Status", "peer status"),)), match.community_id, now))


async def rotate_due(uow: UnitOfWork, community: Community, settings: CommunitySettings,
                     now: datetime) -> int:
    """Move on the members who chose to rotate, in every match that is due; returns how
    many moved."""
    assert community.id is not None
    moved = 0
    for match in await uow.matches.list(community.id, MatchState.ACTIVE):
        if not due(match, settings, now):
            continue
        profiles = await uow.profiles.for_learners(match.member_ids())
        movers = [lid for lid in match.member_ids()
                  if (p := profiles.get(lid)) is not None and p.rotate_partners]
        for lid in movers:
            learner = await uow.learners.get(lid)
            if learner is not None:
                await _move_on(uow, settings, match, learner, profiles[lid].mode, now)
                moved += 1
    return moved
