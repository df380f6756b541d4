"""The matching engine's inputs and outputs: plain values, no storage.

core/services/rounds.py turns the queue into ``Candidate``s, calls
``core.matching.engine.plan_round`` and stores the ``RoundPlan`` it returns.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, TypeVar

from core.availability import Availability
from core.model import Mode, Setup

T = TypeVar("T")


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
    styles: tuple[str, ...] = ()  # support modes: learning/teaching styles (a soft term)


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


class TaskMap(Protocol):
    """Runs a round's independent tasks: ``[task(i) for i in range(len(costs))]``, results
    in task order, using up to ``workers`` processes (``costs``: estimates, to start the
    biggest first). ``processes`` is the most it can use. The engine never starts a process
    or touches the garbage collector itself: ``bot.process.WorkerPool`` does, in the bot.
    """

    @property
    def processes(self) -> int:
        """How many tasks it can run at once (1: one after the other)."""
        ...

    def __call__(self, task: Callable[[int], T], costs: Sequence[float], workers: int,
                 /) -> list[T]:
        """Every task's result, in task order."""
        ...


class InOrder:
    """The default ``TaskMap``: every task in the calling thread, one after the other."""

    processes = 1

    def __call__(self, task: Callable[[int], T], costs: Sequence[float], _workers: int,
                 /) -> list[T]:
        """``[task(i) for i in range(len(costs))]``."""
        return [task(i) for i in range(len(costs))]


IN_ORDER = InOrder()
