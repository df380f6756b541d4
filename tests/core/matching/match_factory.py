"""Small builders for matching tests: candidates, plans, lookups."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from core.availability import parse_availability
from core.matching.engine import plan_round
from core.matching.types import Candidate, RoundPlan
from core.model import Mode, Setup
from core.settings import CommunitySettings

WINTER = datetime(2026, 1, 14, 12, 0, tzinfo=UTC)  # a Wednesday, no DST anywhere near
SUMMER = datetime(2026, 7, 15, 12, 0, tzinfo=UTC)
DST_WEEK = datetime(2026, 3, 26, 12, 0, tzinfo=UTC)  # Europe springs forward on Sunday 29th


def cand(lid: int, *, mode: Mode = Mode.STUDY_BUDDY, topic: str = "Calculus II",
         langs: tuple[str, ...] = ("English",), tz: str = "Europe/London",
         avail: str = "Mon-Fri 18:00-21:00", **extra: Any) -> Candidate:
    return Candidate(learner_id=lid, mode=mode, topic=topic, topic_key=topic.casefold(),
                     languages=frozenset(langs), timezone=tz,
                     availability=parse_availability(avail),
                     display_name=extra.pop("display_name", f"Learner {lid}"), **extra)


def run(cands: list[Candidate], *, now: datetime = WINTER, seed: int = 7,
        settings: CommunitySettings | None = None, **kw: Any) -> RoundPlan:
    return plan_round(cands, settings=settings or CommunitySettings(), now=now, seed=seed, **kw)


def groups_of(plan: RoundPlan) -> list[set[int]]:
    return [{lid for lid, _ in m.members} for m in plan.matches]


def partner_of(plan: RoundPlan, lid: int) -> set[int]:
    for g in groups_of(plan):
        if lid in g:
            return g - {lid}
    return set()


__all__ = [
    "DST_WEEK",
    "SUMMER",
    "WINTER",
    "Mode",
    "Setup",
    "cand",
    "groups_of",
    "partner_of",
    "run",
]
