"""A round's first step: read what the engine needs, in a few set-based queries.

It runs in a read-only unit of work (no write lock on SQLite), so commands keep being
answered while a big queue loads; the engine then works with no transaction open
(``round_solve``) and the plan is stored by ``round_store``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from core.availability import stored_availability
from core.matching.types import Candidate
from core.model import Community, Learner, Mode, Profile, QueueEntry
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


async def gather(uow: UnitOfWork, community: Community, settings: CommunitySettings,
                 now: datetime, waiting: list[QueueEntry] | None = None
                 ) -> tuple[list[Candidate], dict[int, Learner], dict[int, Profile]]:
    """The waiting, unpaused, unbanned learners as engine candidates (``waiting``: the
    community's waiting entries, when the caller has read them already)."""
    assert community.id is not None
    # A few set-based reads, whatever the queue's size (no query per learner), and none
    # whose size grows with the community's past (no match is loaded).
    if waiting is None:
        waiting = await uow.queue.waiting(community.id)
    entries = taking_part(waiting, await uow.rounds.list(community.id))  # /peer skip
    ids = [e.learner_id for e in entries]
    profiles = await uow.profiles.for_learners(ids)
    ratings = ratings_of(await uow.feedback.list(community.id))
    everyone = {lr.id: lr for lr in await uow.learners.list(community.id)}
    seats_taken = await uow.matches.support_seats(
        [e.learner_id for e in entries if e.mode is Mode.OFFER_SUPPORT])
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
            capacity = max(0, profile.capacity - seats_taken.get(entry.learner_id, 0))
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
    waiting = await uow.queue.waiting(community.id)  # read once: 100,000 rows take a second
    candidates, learners, profiles = await gather(uow, community, settings, now, waiting)
    # Supporters who said no to a learner's request are not asked again for it.
    blocked = (await uow.blocks.pairs(community.id)
               | await declined_pairs(uow, community.id, waiting))
    return RoundInput(candidates, learners, profiles, blocked,
                      await uow.matches.partner_pairs(community.id))
