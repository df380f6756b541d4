"""Quality against exact optima: networkx blossom for pairs, CP-SAT for study groups."""

from __future__ import annotations

import random

import networkx as nx
import numpy as np
import pytest
import rustworkx as rx
from match_factory import WINTER, cand

from core.availability import week_start
from core.matching import support
from core.matching.auction import auction_matching
from core.matching.candidates import make_blocks, pair_adjustments
from core.matching.engine import plan_round
from core.matching.features import build_pool
from core.matching.score import Scorer
from core.matching.types import Candidate
from core.model import Mode
from core.settings import CommunitySettings
from tests import oracle

SETTINGS = CommunitySettings()
ZONES = ["Europe/London", "Africa/Lagos", "Europe/Berlin", "Africa/Nairobi", "America/Sao_Paulo"]
WINDOWS = ["Mon 18:00-21:00", "Tue 19:00-22:00", "Wed 18:00-20:00", "Thu 17:00-21:00",
           "Fri 18:00-23:00", "Sat 09:00-13:00", "Sat 14:00-18:00", "Sun 10:00-16:00"]


def queue(n: int, seed: int, mode: Mode = Mode.STUDY_BUDDY) -> list[Candidate]:
    rng = random.Random(seed)
    return [cand(i, mode=mode, tz=rng.choice(ZONES),
                 avail=", ".join(rng.sample(WINDOWS, rng.randint(2, 4))),
                 langs=rng.choice([("English",), ("English",), ("French", "English"), ("French",)]),
                 cohort=rng.choice(["", "A", "B"]), country=rng.choice(["UK", "Nigeria", "Kenya"]),
                 waited_days=rng.expovariate(1 / 10), rating=rng.choice([None, 3.5, 4.5]))
            for i in range(1, n + 1)]


def exact_pairs(cands: list[Candidate]) -> float:
    pool = build_pool(sorted(cands, key=lambda c: c.learner_id), SETTINGS, week_start(WINTER))
    scorer = Scorer(pool, set(), set())
    total = 0.0
    for block in make_blocks(pool):
        e = oracle.all_edges(pool, block.members, pair_adjustments(pool, [], 0.0))
        g = nx.Graph()
        g.add_weighted_edges_from(zip(e.a.tolist(), e.b.tolist(), e.w.astype(float).tolist(), strict=True))
        total += sum(scorer.score(p) or 0.0 for p in nx.max_weight_matching(g))
    return total


def test_pairs_reach_the_exact_optimum_on_small_queues() -> None:
    engine = best = 0.0
    for seed in range(6):
        cands = queue(random.Random(seed).randint(20, 60), seed)
        plan = plan_round(cands, settings=SETTINGS, now=WINTER, seed=seed)
        got, opt = sum(m.score for m in plan.matches), exact_pairs(cands)
        assert got >= 0.99 * opt
        engine, best = engine + got, best + opt
    assert engine >= 0.995 * best


@pytest.mark.parametrize("n", [300, 900])
def test_auction_is_close_to_blossom(n: int) -> None:
    rng = np.random.default_rng(n)
    a = rng.integers(0, n, n * 8)
    b = rng.integers(0, n, n * 8)
    keep = a < b
    a, b = a[keep], b[keep]
    key = np.unique(a * n + b)
    a, b = key // n, key % n
    w = rng.uniform(10, 30, len(a))
    got = auction_matching(n, a, b, w)
    assert len({x for p in got for x in p}) == 2 * len(got)  # a matching
    weight = {(int(x), int(y)): float(v) for x, y, v in zip(a, b, w, strict=True)}
    g = rx.PyGraph()
    g.add_nodes_from(range(n))
    g.add_edges_from([(int(x), int(y), int(v * 1000)) for x, y, v in zip(a, b, w, strict=True)])
    best = sum(weight[(min(p), max(p))] for p in rx.max_weight_matching(g, weight_fn=int))
    assert sum(weight[p] for p in got) >= 0.98 * best


def test_study_groups_reach_98_percent_of_cp_sat() -> None:
    pytest.importorskip("ortools")
    engine = best = 0.0
    for seed, n in [(1, 16), (2, 18), (3, 20), (4, 16), (5, 24)]:
        got, opt, greedy = oracle.groups_against_cpsat(queue(n, seed, Mode.STUDY_GROUP), SETTINGS, WINTER, seed)
        assert got <= opt + 0.01 and greedy <= opt + 0.01  # plan scores are rounded
        engine, best = engine + got, best + opt
    assert engine >= 0.98 * best


def test_sparse_support_assignment_matches_the_dense_one(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(3)
    cands = [cand(i, mode=Mode.NEED_SUPPORT, tz=rng.choice(ZONES), support_kind=rng.choice(["A", "B"]),
                  avail=", ".join(rng.sample(WINDOWS, 3)), waited_days=rng.uniform(0, 30)) for i in range(1, 121)]
    cands += [cand(i, mode=Mode.OFFER_SUPPORT, tz=rng.choice(ZONES), support_kind=rng.choice(["A", "B"]),
                   capacity=rng.randint(1, 3), avail=", ".join(rng.sample(WINDOWS, 4))) for i in range(200, 250)]
    dense = plan_round(cands, settings=SETTINGS, now=WINTER, seed=1)
    monkeypatch.setattr(support, "DENSE_CELLS", 0)
    sparse = plan_round(cands, settings=SETTINGS, now=WINTER, seed=1)
    assert oracle.violations(sparse, cands, SETTINGS, WINTER, set()) == []
    assert sum(m.score for m in sparse.matches) >= 0.995 * sum(m.score for m in dense.matches)


def test_a_block_too_big_for_blossom_is_still_near_exact() -> None:
    # 800 study buddies on one topic: the auction path (> 600 learners) with dual re-ranking
    cands = queue(800, 11)
    plan = plan_round(cands, settings=SETTINGS, now=WINTER, seed=3)
    assert oracle.violations(plan, cands, SETTINGS, WINTER, set()) == []
    ref = oracle.reference(plan, cands, SETTINGS, WINTER, set(), set(), exact=True)
    assert ref["pct_exact"] >= 99.5 and ref["pct_greedy"] > 101
