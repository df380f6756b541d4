"""A round's second step: the engine, with no transaction open and off the event loop."""

from __future__ import annotations

import asyncio
from datetime import datetime
from functools import partial

from core.matching.engine import plan_round
from core.matching.types import Candidate, RoundPlan
from core.services.context import Services
from core.settings import CommunitySettings


async def solve(services: Services, candidates: list[Candidate], settings: CommunitySettings,
                now: datetime, seed: int, blocked: set[frozenset[int]],
                past: set[frozenset[int]]) -> RoundPlan:
    """The engine, off the event loop: a big round takes seconds, and the bot must keep
    answering (and Discord's heartbeat must keep beating) meanwhile. Worker processes, if
    any, come from ``services.task_map`` (``matching_workers``: 1 none, 0 automatic)."""
    return await asyncio.to_thread(partial(
        plan_round, candidates, settings=settings, now=now, seed=seed, blocked=blocked,
        past_partners=past, workers=settings.matching_workers or None,
        map_tasks=services.task_map))
