"""The matching engine's inputs and outputs: plain values, no storage.

core/services/rounds.py turns the queue into ``Candidate``s, calls
``core.matching.engine.plan_round`` and stores the ``RoundPlan`` it returns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from core.availability import Availability
from core.model import Mode, Setup


@dataclass(frozen=True)
class Candidate:
    """One waiting learner as the engine sees them."""

    learner_id: int
    mode: Mode
    topic: str  # as shown to people
    topic_key: str  # the hard-constraint key: the topic's family, casefolded
    languages: frozenset[str]
    timezone: str  # IANA
    availability: Availability
    cohort: str = ""
    country: str = ""
    setup: Setup = Setup.ANY
    support_kind: str = ""
    capacity: int = 1  # offer-support: free seats this round
    group_size: int = 0  # study-group: preferred size (0 = community default)
    waited_days: float = 0.0
    rating: float | None = None  # average received rating 1-5, if any
    display_name: str = ""


@dataclass
class MatchPlan:
    """A match the round will make. ``members`` are (learner_id, role) with role
    'peer', 'supporter' or 'supported'."""

    kind: Mode
    members: list[tuple[int, str]]
    score: float
    reasons: list[str]
    times: list[tuple[datetime, datetime]] = field(default_factory=list)  # UTC slots


@dataclass
class RoundPlan:
    matches: list[MatchPlan]
    unmatched: dict[int, str]  # learner_id -> why no match yet, in words
    figures: dict[str, Any] = field(default_factory=dict)  # counts, timings, total score
