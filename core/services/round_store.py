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
    Round,
)
from core.ports import UnitOfWork
from core.services import effects
from core.services.outbox_buffer import buffered_outbox
from core.services.seats import close_full_supporters
from core.services.support_offers import offer_round
from core.settings import CommunitySettings

SUPPORTER = "supporter"  # a supporter has several seats: their entry waits until all are taken


def _alias(n: int) -> str:
    return f"Anonymous learner #{n}"


def _peers(mp: MatchPlan) -> list[int]:
    return [lid for lid, role in mp.members if role != SUPPORTER]


async def store_plan(uow: UnitOfWork, community: Community, settings: CommunitySettings,
                     rnd: Round, plan: RoundPlan, learners: dict[int, Learner],
                     profiles: dict[int, Profile], now: datetime) -> list[Match]:
    """Store the plan's matches whose members all still wait, with their outbox messages;
    mark the matched entries and note why the others still wait. Call it in a writing unit
    of work holding the community lock. Returns the matches stored.

    A fixed handful of statements per few thousand matches (issue 9.5): one read of who
    waits (their ids only), one set-based claim, the matches and members in bulk
    (``matches.add_many``), ONE outbox row per match (its announcement, ``MatchMade``; the
    dispatcher expands it into the DMs, space, check-ins and nudges:
    core/services/announce.py) many per INSERT (``buffered_outbox``), one count of
    supporters' seats.
    A support plan is not stored as a match: it becomes an offer the supporter accepts or
    declines first (core/services/support_offers.py)."""
    assert community.id is not None
    waiting = await uow.queue.waiting_ids(community.id)
    plans = [mp for mp in plan.matches if all(lid in waiting for lid, _ in mp.members)]
    # the entries an offer keeps (the supported learner's place in line), read while waiting
    asked = await uow.queue.open_for_many(
        [_peers(mp)[0] for mp in plans if mp.kind.is_support])
    claimed = await uow.queue.claim_waiting([lid for mp in plans for lid in _peers(mp)])
    # Someone left in between: the others of that match wait again.
    back = [claimed[lid] for mp in plans if not all(lid in claimed for lid in _peers(mp))
            for lid in _peers(mp) if lid in claimed]
    ready = [mp for mp in plans if all(lid in claimed for lid in _peers(mp))]
    offers = [mp for mp in ready if mp.kind.is_support]
    ready = [mp for mp in ready if not mp.kind.is_support]
    built = _build(community, rnd, ready, profiles, now)
    stored = await uow.matches.add_many(built)
    # Refused by the one-active-match-per-mode guard: its members wait for the next round.
    back += [claimed[lid] for match, mp in zip(built, ready, strict=True)
             if match.id is None for lid in _peers(mp)]
    async with buffered_outbox(uow):  # the effects' rows, many per INSERT
        for match in stored:
            await effects.publish(uow, settings, MatchMade(match, now))
        # The supporter accepts first (core/services/support_offers.py).
        refused = await offer_round(
            uow, settings, [(mp, asked[_peers(mp)[0]]) for mp in offers], learners,
            profiles, now, rnd.id)
    await uow.queue.release(back + [e.id for e in refused if e.id is not None])
    await close_full_supporters(
        uow, [m.learner_id for match in stored for m in match.members if m.role == SUPPORTER],
        profiles)
    await uow.queue.note_unmatched(
        {lid: why for lid, why in plan.unmatched.items() if lid in waiting})
    return stored


def _build(community: Community, rnd: Round, plans: list[MatchPlan],
           profiles: dict[int, Profile], now: datetime) -> list[Match]:
    """The plans as matches to store; anonymous supported learners get a round-unique
    alias."""
    assert community.id is not None
    alias_no = 0
    built = []
    for mp in plans:
        members = []
        for learner_id, role in mp.members:
            alias = ""
            prof = profiles.get(learner_id)
            if role == "supported" and prof is not None and prof.anonymous:
                alias_no += 1
                alias = _alias((rnd.id or 0) * 100 + alias_no)
            members.append(MatchMember(learner_id, role, alias))
        built.append(Match(community.id, mp.kind, members, list(mp.reasons), now,
                           list(mp.times), rnd.id, mp.score))
    return built

