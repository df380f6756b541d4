"""A round's last step: store the plan in one short write that re-checks who still waits.

The plan was made from an earlier read, with no transaction open while the engine worked:
meanwhile someone may have left the queue, been paired by hand, or been matched by another
round. So, in a writing unit of work under the community lock:

- a queue entry becomes matched only ``WHERE state = 'waiting'`` (``queue.claim_waiting``);
- a planned match whose members are not all still waiting is not stored, and the members
  it claimed wait again: they stay for the next round;
- the database's own guard (migration 0005: one active match per learner and mode) has the
  last word; a match it refuses (``StorageConflict``) is skipped the same way.
"""

from __future__ import annotations

from datetime import datetime

from core.events import MatchMade
from core.matching.types import MatchPlan, RoundPlan
from core.model import (
    Community,
    Learner,
    Match,
    MatchMember,
    Profile,
    QueueEntry,
    QueueState,
    Round,
)
from core.ports import StorageConflict, UnitOfWork
from core.services import effects
from core.services.outbox_buffer import buffered_outbox
from core.services.seats import close_full_supporters
from core.services.support_offers import offer_planned
from core.services.verification import verified_in
from core.settings import CommunitySettings

SUPPORTER = "supporter"  # a supporter has several seats: their entry waits until all are taken


def _alias(n: int) -> str:
    return f"Anonymous learner #{n}"


def _peers(mp: MatchPlan) -> list[int]:
    return [lid for lid, role in mp.members if role != SUPPORTER]


async def _wait_again(uow: UnitOfWork, entries: list[QueueEntry]) -> None:
    """Put back entries this store claimed for a match it then did not store."""
    for entry in entries:
        entry.state = QueueState.WAITING
        await uow.queue.update(entry)


async def store_plan(uow: UnitOfWork, community: Community, settings: CommunitySettings,
                     rnd: Round, plan: RoundPlan, learners: dict[int, Learner],
                     profiles: dict[int, Profile], now: datetime) -> list[Match]:
    """Store the plan's matches whose members all still wait, with their outbox messages;
    mark the matched entries and note why the others still wait. Call it in a writing unit
    of work holding the community lock. Returns the matches stored."""
    assert community.id is not None
    waiting = {e.learner_id: e for e in await uow.queue.waiting(community.id)}
    plans = [mp for mp in plan.matches if all(lid in waiting for lid, _ in mp.members)]
    claimed = await uow.queue.claim_waiting([lid for mp in plans for lid in _peers(mp)])
    stored: list[Match] = []
    async with buffered_outbox(uow):  # the effects' rows, many per INSERT
        await _store_matches(uow, community, settings, rnd, plans, claimed, waiting, learners,
                             profiles, now, stored)
    await close_full_supporters(
        uow, [m.learner_id for match in stored for m in match.members if m.role == SUPPORTER],
        profiles)
    await uow.queue.note_unmatched(
        {lid: why for lid, why in plan.unmatched.items() if lid in waiting})
    return stored


async def _store_matches(uow: UnitOfWork, community: Community, settings: CommunitySettings,
                         rnd: Round, plans: list[MatchPlan], claimed: set[int],
                         waiting: dict[int, QueueEntry], learners: dict[int, Learner],
                         profiles: dict[int, Profile], now: datetime,
                         stored: list[Match]) -> None:
    assert community.id is not None
    alias_no = 0
    # read once for every support offer of the round (no query per offer)
    verified = (await verified_in(uow, community.id)
                if any(mp.kind.is_support for mp in plans) else {})
    for mp in plans:
        if not all(lid in claimed for lid in _peers(mp)):  # someone left in between
            await _wait_again(uow, [waiting[lid] for lid in _peers(mp) if lid in claimed])
            continue
        if mp.kind.is_support:  # the supporter accepts first (core/services/support_offers.py)
            peer = _peers(mp)[0]
            if await offer_planned(uow, settings, mp, waiting[peer], learners, profiles, now,
                                   round_id=rnd.id, verified=verified) is None:
                await _wait_again(uow, [waiting[peer]])
            continue
        members = []
        for learner_id, role in mp.members:
            alias = ""
            prof = profiles.get(learner_id)
            if role == "supported" and prof is not None and prof.anonymous:
                alias_no += 1
                alias = _alias((rnd.id or 0) * 100 + alias_no)
            members.append(MatchMember(learner_id, role, alias))
        try:
            match = await uow.matches.add(Match(community.id, mp.kind, members, list(mp.reasons),
                                                now, list(mp.times), rnd.id, mp.score))
        except StorageConflict:  # already in an active match of this mode: not twice
            await _wait_again(uow, [waiting[lid] for lid in _peers(mp)])
            continue
        stored.append(match)
        await effects.publish(uow, settings, MatchMade(
            match, learners, {i: profiles[i] for i in match.member_ids() if i in profiles}, now))
