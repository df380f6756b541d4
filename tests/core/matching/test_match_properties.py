"""Invariants on random queues (hypothesis): hard constraints, bounds, determinism."""

from __future__ import annotations

import random
from dataclasses import replace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from match_factory import WINTER, groups_of

from core.availability import parse_availability
from core.matching.engine import plan_round
from core.matching.types import Candidate
from core.model import Mode, Setup
from core.settings import CommunitySettings
from tests import oracle

AVAIL = ["Mon-Fri 18:00-21:00", "Sat-Sun 10:00-14:00", "Flexible", "Tue/Thu 19:00-22:00",
         "Mon 07:00-09:00, Wed 12:00-13:30", "daily 20:00-23:00", "Fri 22:00-02:00"]
ZONES = ["Europe/London", "Africa/Lagos", "America/Lima", "Asia/Kolkata"]
LANGS = [("English",), ("Spanish",), ("English", "Spanish"), ("Portuguese",), ("Portuguese", "English")]


@st.composite
def queues(draw: st.DrawFn) -> tuple[list[Candidate], set[frozenset[int]], set[frozenset[int]], int]:
    n = draw(st.integers(2, 28))
    out = []
    for lid in range(1, n + 1):
        mode = draw(st.sampled_from(list(Mode)))
        topic = draw(st.sampled_from(["Python", "Statistics"]))
        out.append(Candidate(
            learner_id=lid * 7, mode=mode, topic=topic, topic_key=topic.casefold(),
            languages=frozenset(draw(st.sampled_from(LANGS))), timezone=draw(st.sampled_from(ZONES)),
            availability=parse_availability(draw(st.sampled_from(AVAIL))),
            cohort=draw(st.sampled_from(["", "A", "B"])), country=draw(st.sampled_from(["", "UK", "Peru"])),
            setup=draw(st.sampled_from(list(Setup))), support_kind=draw(st.sampled_from(["", "Exam prep"])),
            capacity=draw(st.integers(0, 3)), group_size=draw(st.integers(0, 5)),
            waited_days=draw(st.floats(0, 60)), rating=draw(st.none() | st.floats(1, 5)),
            display_name=f"L{lid}"))
    ids = [c.learner_id for c in out]
    pairs = st.tuples(st.sampled_from(ids), st.sampled_from(ids)).filter(lambda p: p[0] != p[1])
    blocked = {frozenset(p) for p in draw(st.lists(pairs, max_size=6))}
    past = {frozenset(p) for p in draw(st.lists(pairs, max_size=6))}
    return out, blocked, past, draw(st.integers(0, 2**31))


def _plan(cands: list[Candidate], blocked: set[frozenset[int]], past: set[frozenset[int]],
          seed: int, settings_: CommunitySettings):
    return plan_round(cands, settings=settings_, now=WINTER, seed=seed, blocked=blocked, past_partners=past)


SETTINGS = [CommunitySettings(), CommunitySettings(min_overlap_hours=3, group_min=3, group_max=4),
            CommunitySettings(min_overlap_hours=0.5, group_min=2, group_max=3, max_supporter_capacity=2)]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(q=queues(), which=st.integers(0, len(SETTINGS) - 1))
def test_hard_constraints_never_break(q, which: int) -> None:
    cands, blocked, past, seed = q
    s = SETTINGS[which]
    plan = _plan(cands, blocked, past, seed, s)
    # no one in two matches, languages, setups, exact overlap >= minimum, sizes, capacities,
    # blocked pairs, everyone matched or told why: all checked with the exact intervals
    assert oracle.violations(plan, cands, s, WINTER, blocked) == []
    for m in plan.matches:
        assert m.reasons and all(isinstance(r, str) and r for r in m.reasons)
        assert m.score > 0


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(q=queues())
def test_same_queue_and_seed_give_the_same_plan(q) -> None:
    cands, blocked, past, seed = q
    first = _plan(cands, blocked, past, seed, SETTINGS[0])
    shuffled = list(cands)
    random.Random(seed).shuffle(shuffled)
    again = _plan(shuffled, set(blocked), set(past), seed, SETTINGS[0])
    assert first.matches == again.matches
    assert first.unmatched == again.unmatched


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(q=queues())
def test_blocked_and_unpaired_are_never_rematched(q) -> None:
    cands, _, past, seed = q
    everyone = [replace(c, mode=Mode.STUDY_BUDDY, topic="Python", topic_key="python",
                        languages=frozenset({"English"}), setup=Setup.ANY) for c in cands]
    blocked = {frozenset((a.learner_id, b.learner_id)) for a, b in zip(everyone, everyone[1:], strict=False)}
    plan = _plan(everyone, blocked, past, seed, SETTINGS[0])
    for g in groups_of(plan):
        assert not any(frozenset((a, b)) in blocked for a in g for b in g if a != b)
