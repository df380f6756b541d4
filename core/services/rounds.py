"""Matching rounds: load the queue, ask the engine, store and announce the matches.

``run_round`` is used by ``/peeradmin match-now``, the scheduler and ``peermatch round``.
A dry run computes the same plan (same seed, same queue) but stores only the round record.

A round never holds a write transaction while the engine works: it loads in a read-only
unit of work (``round_load``), solves with no transaction open (``round_solve``), then
stores the plan in one short writing unit under the community lock that re-checks who still
waits (``round_store``). Commands are answered throughout, even on SQLite; two rounds that
overlap (two processes, or the scheduler and a moderator) cannot match anyone twice, since
the second one's store finds those members no longer waiting.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from time import perf_counter
from typing import Any

from core.matching.types import RoundPlan
from core.model import Community, Learner, Match, Profile, Round
from core.ports import UnitOfWork
from core.replies import Reply, ts
from core.services.context import Ctx, Services
from core.services.errors import Refusal
from core.services.round_load import RoundInput, gather, load
from core.services.round_solve import solve
from core.services.round_store import store_plan
from core.settings import CommunitySettings
from core.text import plural

__all__ = ["InstantPlan", "RoundOutcome", "gather", "match_now", "plan_instant", "run_round",
           "store_instant", "summary"]
RUNNING = "A matching round is already running for this community; try again in a minute."


@dataclass
class RoundOutcome:
    round: Round
    plan: RoundPlan
    matches: list[Match]  # stored matches (empty on a dry run)
    learners: dict[int, Learner]
    profiles: dict[int, Profile]
    # Wall seconds of each phase: load (queue, profiles, ratings, blocks, past partners),
    # solve (the engine, off the event loop), store (matches and their outbox rows).
    seconds: dict[str, float] = field(default_factory=dict)


def new_seed(services: Services, now: datetime) -> int:
    return services.seed_source() if services.seed_source else int(now.timestamp())


async def run_round(
    services: Services,
    community: Community,
    settings: CommunitySettings,
    *,
    dry_run: bool,
    seed: int | None = None,
    still_wanted: Callable[[UnitOfWork], Awaitable[bool]] | None = None,
) -> RoundOutcome:
    """Plan (and unless dry run, make) the matches of one community's queue, committed.

    Opens its own units of work: call it with none open (on SQLite an open writing unit
    would hold the write lock the store needs). ``still_wanted`` is asked again under the
    lock just before storing (the scheduler checks that no other process ran this fire's
    round meanwhile); False refuses the round (``Refusal``). The community lock is taken only
    to store: a manual pair (or another round's store) running then is waited for, both
    being short."""
    assert community.id is not None
    now = services.clock.now()
    seed = new_seed(services, now) if seed is None else seed
    started = perf_counter()
    async with services.uow_factory(writes=False) as uow:
        data = await load(uow, community, settings, now)
    loaded = perf_counter()
    plan = await solve(services, data.candidates, settings, now, seed, data.blocked, data.past)
    solved = perf_counter()
    async with services.uow_factory() as uow:
        if not dry_run:
            await uow.lock_community(community.id, wait=True)
            if still_wanted is not None and not await still_wanted(uow):
                raise Refusal(RUNNING)
        rnd = await uow.rounds.add(Round(community.id, seed, now, dry_run=dry_run,
                                         finished_at=services.clock.now(),
                                         figures=dict(plan.figures)))
        stored: list[Match] = []
        if not dry_run:
            stored = await store_plan(uow, community, settings, rnd, plan, data.learners,
                                      data.profiles, now)
        await uow.commit()
    seconds = {"load": loaded - started, "solve": solved - loaded,
               "store": perf_counter() - solved}
    return RoundOutcome(rnd, plan, stored, data.learners, data.profiles, seconds)


@dataclass
class InstantPlan:
    """A newcomer's instant match, planned and not yet stored (``plan_instant``)."""

    plan: RoundPlan
    data: RoundInput
    seed: int
    now: datetime


async def plan_instant(services: Services, community: Community, settings: CommunitySettings,
                       learner_id: int) -> InstantPlan | None:
    """Plan a newcomer's match at once when a good partner already waits
    (``instant_match``); None when there is none.

    Only the newcomer's own block (mode and topic) is planned, with the round's engine and
    rules; other waiting learners are left for the next full round. Like a round, it loads
    in a read-only unit of work and solves with none open; ``store_instant`` stores it.
    """
    assert community.id is not None
    now = services.clock.now()
    async with services.uow_factory(writes=False) as uow:
        data = await load(uow, community, settings, now)
    me = next((c for c in data.candidates if c.learner_id == learner_id), None)
    if me is None:
        return None
    block = [c for c in data.candidates
             if c.mode.mode_class == me.mode.mode_class and c.topic_key == me.topic_key]
    seed = new_seed(services, now)
    plan = await solve(services, block, settings, now, seed, data.blocked, data.past)
    mine = [mp for mp in plan.matches if any(lid == learner_id for lid, _ in mp.members)]
    if not mine:
        return None
    return InstantPlan(RoundPlan(mine[:1], {}, {**plan.figures, "instant": True}), data, seed,
                       now)


async def store_instant(uow: UnitOfWork, community: Community, settings: CommunitySettings,
                        planned: InstantPlan) -> Match | None:
    """Store a planned instant match in this writing unit, under the community lock and
    only if its members all still wait (``store_plan``); None when it was not stored (or,
    for support, was offered to the supporter: core/services/support_offers.py)."""
    assert community.id is not None
    await uow.lock_community(community.id, wait=True)
    rnd = await uow.rounds.add(Round(community.id, planned.seed, planned.now,
                                     finished_at=planned.now, figures=planned.plan.figures))
    stored = await store_plan(uow, community, settings, rnd, planned.plan, planned.data.learners,
                              planned.data.profiles, planned.now)
    return stored[0] if stored else None


def summary(outcome: RoundOutcome, *, dry_run: bool, as_data: bool = False) -> Reply:
    """The round as moderators see it: each match with its reasons, then who waits and why.
    ``as_data`` (`peermatch round --json`): only the headline as text, the round as
    ``outcome_json`` in ``data`` (each built only when asked for: at 100,000 learners
    either costs about a second)."""
    plan, learners = outcome.plan, outcome.learners
    head = "🔍 **Dry run** (nothing was changed)" if dry_run else "✅ **Round done**"
    headline = (f"{head}: {plural(len(plan.matches), 'match')}, {len(plan.unmatched)} still "
                f"waiting (seed {outcome.round.seed}).")
    if as_data:
        return Reply(text=headline, data=outcome_json(outcome))
    lines = [headline]
    for i, mp in enumerate(plan.matches, 1):
        names = ", ".join(learners[lid].display_name if lid in learners else str(lid)
                          for lid, _ in mp.members)
        when = f"; first suggested time {ts(mp.times[0][0])}" if mp.times else ""
        # core/services/support_offers.py: made once the supporter accepts
        ask = " (offered to the supporter first)" if mp.kind.is_support else ""
        lines.append(f"{i}. **{mp.kind.label}**{ask}: {names}: {' · '.join(mp.reasons)}{when}")
    for lid, why in sorted(plan.unmatched.items()):
        name = learners[lid].display_name if lid in learners else str(lid)
        lines.append(f"- waiting: {name}: {why}")
    return Reply(text="\n".join(lines))


def outcome_json(outcome: RoundOutcome) -> dict[str, Any]:
    """The round as JSON-able data (for `peermatch round --json`)."""
    learners = outcome.learners
    # A round's suggested times are a few hundred distinct half-hours shared by tens of
    # thousands of matches: each is formatted once (keyed with its zone, as equal instants
    # in two zones print differently).
    iso: dict[tuple[datetime, Any], str] = {}

    def at(instant: datetime) -> str:
        key = (instant, instant.tzinfo)
        text = iso.get(key)
        if text is None:
            text = iso[key] = instant.isoformat()
        return text

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
                "times": [[at(a), at(b)] for a, b in mp.times],
            }
            for mp in outcome.plan.matches
        ],
        "unmatched": [
            {**who(lid), "reason": why} for lid, why in sorted(outcome.plan.unmatched.items())
        ],
        "figures": outcome.plan.figures,
        "seconds": {k: round(v, 3) for k, v in outcome.seconds.items()},
    }


async def match_now(ctx: Ctx, args: dict[str, Any]) -> Reply:
    """`/peeradmin match-now [dry_run]`."""
    dry = bool(args.get("dry_run", False))
    # The round works in units of its own: end this command's transaction first (keeping a
    # first contact's rows), so that no write lock is held while the engine works.
    await ctx.uow.commit()
    outcome = await run_round(ctx.services, ctx.community, ctx.settings, dry_run=dry)
    return summary(outcome, dry_run=dry)
