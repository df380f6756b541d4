"""Matching rounds: gather the queue, ask the engine, store and announce the matches.

``run_round`` is used by ``/peeradmin match-now``, the scheduler and ``peermatch round``.
A dry run computes the same plan (same seed, same queue) but stores only the round record.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from core.availability import stored_availability
from core.events import MatchMade
from core.matching.engine import plan_round
from core.matching.types import Candidate, RoundPlan
from core.model import (
    Community,
    Learner,
    Match,
    MatchMember,
    MatchState,
    Mode,
    Profile,
    QueueState,
    Round,
)
from core.ports import UnitOfWork
from core.replies import Reply, ts
from core.services import effects
from core.services.context import Ctx, Services
from core.services.errors import Refusal
from core.services.feedback import ratings_of
from core.settings import CommunitySettings
from core.text import plural


@dataclass
class RoundOutcome:
    round: Round
    plan: RoundPlan
    matches: list[Match]  # stored matches (empty on a dry run)
    learners: dict[int, Learner]
    profiles: dict[int, Profile]


def new_seed(services: Services, now: datetime) -> int:
    return services.seed_source() if services.seed_source else int(now.timestamp())


async def _past_partners(uow: UnitOfWork, community_id: int) -> set[frozenset[int]]:
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
    entries = await uow.queue.waiting(community.id)
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
            rating=ratings.get(entry.learner_id), display_name=learner.display_name))
    return candidates, learners, profiles


async def _plan(services: Services, candidates: list[Candidate], settings: CommunitySettings,
                now: datetime, seed: int, blocked: set[frozenset[int]],
                past: set[frozenset[int]]) -> RoundPlan:
    """The engine, off the event loop: a big round takes seconds, and the bot must keep
    answering (and Discord's heartbeat must keep beating) meanwhile. Worker processes, if
    any, come from ``services.task_map`` (``matching_workers``: 1 none, 0 automatic)."""
    return await asyncio.to_thread(partial(
        plan_round, candidates, settings=settings, now=now, seed=seed, blocked=blocked,
        past_partners=past, workers=settings.matching_workers or None,
        map_tasks=services.task_map))


def _alias(n: int) -> str:
    return f"Anonymous learner #{n}"


async def run_round(
    services: Services,
    uow: UnitOfWork,
    community: Community,
    settings: CommunitySettings,
    *,
    dry_run: bool,
    seed: int | None = None,
) -> RoundOutcome:
    """Plan (and unless dry run, make) the matches of one community's queue."""
    assert community.id is not None
    now = services.clock.now()
    if not await uow.lock_community(community.id):
        raise Refusal(
            "A matching round is already running for this community; try again in a minute."
        )
    seed = new_seed(services, now) if seed is None else seed
    candidates, learners, profiles = await gather(uow, community, settings, now)
    plan = await _plan(services, candidates, settings, now, seed,
                       await uow.blocks.pairs(community.id),
                       await _past_partners(uow, community.id))
    rnd = await uow.rounds.add(Round(community.id, seed, now, dry_run=dry_run,
                                     finished_at=services.clock.now(), figures=dict(plan.figures)))
    stored: list[Match] = []
    if not dry_run:
        stored = await _store(uow, community, settings, rnd, plan, learners, profiles, now)
    return RoundOutcome(rnd, plan, stored, learners, profiles)


async def _store(uow: UnitOfWork, community: Community, settings: CommunitySettings, rnd: Round,
                 plan: RoundPlan, learners: dict[int, Learner], profiles: dict[int, Profile],
                 now: datetime) -> list[Match]:
    assert community.id is not None
    stored: list[Match] = []
    alias_no = 0
    full_supporters: set[int] = set()
    # The plan was made from an earlier read: someone may have left the queue (or been paired
    # by hand) since. A match is stored only if all its members still wait; the others stay
    # for the next round.
    still_waiting = {e.learner_id for e in await uow.queue.waiting(community.id)}
    plans = [mp for mp in plan.matches if all(lid in still_waiting for lid, _ in mp.members)]
    for mp in plans:
        members = []
        for learner_id, role in mp.members:
            alias = ""
            prof = profiles.get(learner_id)
            if role == "supported" and prof is not None and prof.anonymous:
                alias_no += 1
                alias = _alias((rnd.id or 0) * 100 + alias_no)
            members.append(MatchMember(learner_id, role, alias))
        match = await uow.matches.add(Match(community.id, mp.kind, members, list(mp.reasons), now,
                                            list(mp.times), rnd.id, mp.score))
        stored.append(match)
        await effects.publish(uow, settings, MatchMade(
            match, learners, {i: profiles[i] for i in match.member_ids() if i in profiles}, now))
    # A supporter leaves the queue only once every seat is taken.
    supporters = {lid for mp in plans for lid, role in mp.members if role == "supporter"}
    for supporter in supporters:
        prof = profiles.get(supporter)
        busy = len([m for m in await uow.matches.active_for(supporter) if m.is_support])
        if prof is not None and busy >= prof.capacity:
            full_supporters.add(supporter)
    matched = {lid for mp in plans for lid, role in mp.members if role != "supporter"}
    for entry in await uow.queue.waiting(community.id):
        if entry.learner_id in matched or entry.learner_id in full_supporters:
            entry.state, entry.unmatched_reason = QueueState.MATCHED, ""
        elif entry.learner_id in plan.unmatched:
            entry.unmatched_reason = plan.unmatched[entry.learner_id]
        else:
            continue
        await uow.queue.update(entry)
    return stored


async def instant_match(services: Services, uow: UnitOfWork, community: Community,
                        settings: CommunitySettings, learner_id: int) -> Match | None:
    """Match a newcomer at once when a good partner already waits (``instant_match``).

    Only the newcomer's own block (mode and topic) is planned, with the round's engine and
    rules; other waiting learners are left for the next full round.
    """
    assert community.id is not None
    now = services.clock.now()
    if not await uow.lock_community(community.id):
        return None  # a round is running: it will consider the newcomer
    candidates, learners, profiles = await gather(uow, community, settings, now)
    me = next((c for c in candidates if c.learner_id == learner_id), None)
    if me is None:
        return None
    block = [c for c in candidates
             if c.mode.mode_class == me.mode.mode_class and c.topic_key == me.topic_key]
    seed = new_seed(services, now)
    plan = await _plan(services, block, settings, now, seed, await uow.blocks.pairs(community.id),
                       await _past_partners(uow, community.id))
    mine = [mp for mp in plan.matches if any(lid == learner_id for lid, _ in mp.members)]
    if not mine:
        return None
    plan = RoundPlan(mine[:1], {}, {**plan.figures, "instant": True})
    rnd = await uow.rounds.add(
        Round(community.id, seed, now, finished_at=now, figures=plan.figures)
    )
    stored = await _store(uow, community, settings, rnd, plan, learners, profiles, now)
    return stored[0] if stored else None


def summary(outcome: RoundOutcome, *, dry_run: bool) -> Reply:
    """The round as moderators see it: each match with its reasons, then who waits and why."""
    plan, learners = outcome.plan, outcome.learners
    head = "🔍 **Dry run** (nothing was changed)" if dry_run else "✅ **Round done**"
    lines = [f"{head}: {plural(len(plan.matches), 'match')}, {len(plan.unmatched)} still waiting "
             f"(seed {outcome.round.seed})."]
    for i, mp in enumerate(plan.matches, 1):
        names = ", ".join(learners[lid].display_name if lid in learners else str(lid)
                          for lid, _ in mp.members)
        when = f"; first suggested time {ts(mp.times[0][0])}" if mp.times else ""
        lines.append(f"{i}. **{mp.kind.label}**: {names}: {' · '.join(mp.reasons)}{when}")
    for lid, why in sorted(plan.unmatched.items()):
        name = learners[lid].display_name if lid in learners else str(lid)
        lines.append(f"- waiting: {name}: {why}")
    return Reply(text="\n".join(lines), data=outcome_json(outcome))


def outcome_json(outcome: RoundOutcome) -> dict[str, Any]:
    """The round as JSON-able data (for `peermatch round --json`)."""
    learners = outcome.learners

    def who(lid: int) -> dict[str, Any]:
        learner = learners.get(lid)
        return {"learner_id": lid, "user_id": learner.platform_user_id if learner else "",
                "name": learner.display_name if learner else ""}

    return {
        "round_id": outcome.round.id,
        "seed": outcome.round.seed,
        "dry_run": outcome.round.dry_run,
        "matches": [
            {
                "kind": mp.kind.value,
                "score": round(mp.score, 3),
                "reasons": mp.reasons,
                "members": [{**who(lid), "role": role} for lid, role in mp.members],
                "times": [[a.isoformat(), b.isoformat()] for a, b in mp.times],
            }
            for mp in outcome.plan.matches
        ],
        "unmatched": [
            {**who(lid), "reason": why} for lid, why in sorted(outcome.plan.unmatched.items())
        ],
        "figures": outcome.plan.figures,
    }


async def match_now(ctx: Ctx, args: dict[str, Any]) -> Reply:
    """`/peeradmin match-now [dry_run]`."""
    dry = bool(args.get("dry_run", False))
    outcome = await run_round(ctx.services, ctx.uow, ctx.community, ctx.settings, dry_run=dry)
    return summary(outcome, dry_run=dry)
