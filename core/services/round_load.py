"""A round's first step: read what the engine needs, in a few set-based queries.

It runs in a read-only unit of work (no write lock on SQLite), so commands keep being
answered while a big queue loads; the engine then works with no transaction open
(``round_solve``) and the plan is stored by ``round_store``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from core.availability import stored_availability
from core.matching.types import Candidate
from core.model import Community, Learner, MatchState, Mode, Profile
from core.ports import UnitOfWork
from core.services.feedback import ratings_of
from core.services.skipping import taking_part
from core.services.support_offers import declined_pairs
from core.services.verification import eligible
from core.settings import CommunitySettings


@dataclass
class RoundInput:
    """Everything a round reads before solving."""

    candidates: list[Candidate]
    learners: dict[int, Learner]
    profiles: dict[int, Profile]
    blocked: set[frozenset[int]] = field(default_factory=set)
    past: set[frozenset[int]] = field(default_factory=set)


async def past_partners(uow: UnitOfWork, community_id: int) -> set[frozenset[int]]:
    """Every pair of learners who were ever in one match together."""
    pairs: set[frozenset[int]] = set()
    for match in await uow.matches.list(community_id):
        ids = match.member_ids()
        pairs.update(frozenset((a, b)) for i, a in enumerate(ids) for b in ids[i + 1:])
    return pairs


async def gather(uow: UnitOfWork, community: Community, settings: CommunitySettings,
                 now: datetime) -> tuple[list[Candidate], dict[int, Learner], dict[int, Profile]]:
    """The waiting, unpaused, unbanned learners as engine candidates."""
    assert community.id is not None
    # A few set-based reads, whatever the queue's size (no query per learner).
    entries = taking_part(await uow.queue.waiting(community.id),  # /peer skip
                          await uow.rounds.list(community.id))
    ids = [e.learner_id for e in entries]
    profiles = await uow.profiles.for_learners(ids)
    ratings = ratings_of(await uow.feedback.list(community.id))
    everyone = {lr.id: lr for lr in await uow.learners.list(community.id)}
    seats_taken = Counter(m.learner_id for match in
                          await uow.matches.list(community.id, MatchState.ACTIVE)
                          if match.is_support for m in match.members)
    learners: dict[int, Learner] = {}
    candidates: list[Candidate] = []
    for entry in entries:
        learner = everyone.get(entry.learner_id)
        profile = profiles.get(entry.learner_id)
        if learner is None or profile is None or learner.banned:
            continue
        if learner.is_paused(now):
            continue
        learners[entry.learner_id] = learner
        capacity = profile.capacity
        if entry.mode is Mode.OFFER_SUPPORT:
            capacity = max(0, profile.capacity - seats_taken[entry.learner_id])
        candidates.append(Candidate(
            learner_id=entry.learner_id, mode=entry.mode, topic=profile.topic,
            topic_key=settings.family(profile.topic), languages=frozenset(profile.languages),
            timezone=profile.timezone, availability=stored_availability(profile.availability),
            cohort=profile.cohort, country=profile.country, setup=profile.setup,
            support_kind=profile.support_kind, capacity=capacity, group_size=profile.group_size,
            waited_days=(now - entry.joined_at).total_seconds() / 86400,
            rating=ratings.get(entry.learner_id), display_name=learner.display_name,
            styles=profile.styles))
    return await eligible(uow, community.id, settings, candidates), learners, profiles


async def load(uow: UnitOfWork, community: Community, settings: CommunitySettings,
               now: datetime) -> RoundInput:
    """The candidates with the blocked pairs and past partners the engine must respect."""
    assert community.id is not None
    candidates, learners, profiles = await gather(uow, community, settings, now)
    # Supporters who said no to a learner's request are not asked again for it.
    blocked = await uow.blocks.pairs(community.id) | await declined_pairs(uow, community.id)
    return RoundInput(candidates, learners, profiles, blocked,
                      await past_partners(uow, community.id))
