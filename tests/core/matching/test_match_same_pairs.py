"""The bench's "hours together vs the best at the same number of pairs", judged block by
block (``tests/oracle_times.hours_by_block``): the decomposition equals one exact solve over
the whole community, and the LP bound used for big blocks is a valid, tight bound."""

from __future__ import annotations

import itertools
import random

import networkx as nx
import numpy as np
from match_factory import WINTER, cand

from core.availability import week_start
from core.matching.candidates import pair_adjustments
from core.matching.engine import plan_round
from core.matching.features import build_pool
from core.matching.score import SLOT_HOURS
from core.matching.types import Candidate
from core.model import Mode
from core.settings import CommunitySettings
from tests import oracle
from tests.oracle_times import capped_hours, cardinality_bound, hours_by_block

SETTINGS = CommunitySettings()
ZONES = ["Europe/London", "Africa/Lagos", "Europe/Berlin", "Asia/Kolkata", "America/Sao_Paulo"]
WINDOWS = ["Mon 18:00-21:00", "Tue 19:00-22:00", "Wed 18:15-20:45", "Thu 17:00-21:00",
           "Fri 18:00-23:00", "Sat 09:00-13:00", "Sat 14:00-18:00", "Sun 10:00-16:00"]
LANGS = [("English",), ("English",), ("French", "English"), ("French",), ("Spanish",)]


def community(n: int, seed: int) -> list[Candidate]:
    """Study buddies and accountability partners on two topics in four languages (Spanish
    speakers share a language with nobody else: a block of their own)."""
    rng = random.Random(seed)
    return [cand(i, mode=rng.choice([Mode.STUDY_BUDDY, Mode.ACCOUNTABILITY]),
                 topic=rng.choice(["Calculus II", "Python"]), tz=rng.choice(ZONES),
                 avail=", ".join(rng.sample(WINDOWS, rng.randint(2, 4))),
                 langs=rng.choice(LANGS), cohort=rng.choice(["", "A", "B"]),
                 waited_days=rng.expovariate(1 / 10))
            for i in range(1, n + 1)]


def whole_graph_best(cands: list[Candidate], blocked: set[frozenset[int]]) -> tuple[int, float]:
    """Most pairs over every pair-mode learner at once (no blocks), and the most capped
    hours among matchings with that many: networkx blossom, an implementation independent of
    the judge's rustworkx. Only the documented hard keys are applied here by hand (same
    mode class, same topic); languages and setups come from the pair scores."""
    pool = build_pool(sorted(cands, key=lambda c: c.learner_id), SETTINGS, week_start(WINTER))
    idx = np.array([i for i, c in enumerate(pool.cands)
                    if c.mode in (Mode.STUDY_BUDDY, Mode.ACCOUNTABILITY)], dtype=np.int64)
    e = oracle.all_edges(pool, idx, pair_adjustments(pool, blocked, float("-inf")))
    mc = np.array([c.mode.mode_class for c in pool.cands])
    topic = np.array([c.topic_key for c in pool.cands])
    keep = (mc[e.a] == mc[e.b]) & (topic[e.a] == topic[e.b])
    a, b = e.a[keep], e.b[keep]
    h = capped_hours(pool, a, b)
    g = nx.Graph()
    g.add_weighted_edges_from(
        zip(a.tolist(), b.tolist(), np.rint(h / SLOT_HOURS).astype(int).tolist(), strict=True)
    )
    mate = nx.max_weight_matching(g, maxcardinality=True)
    return len(mate), sum(g[x][y]["weight"] for x, y in mate) * SLOT_HOURS


def test_per_block_best_equals_one_solve_over_the_whole_community() -> None:
    compared = 0
    for seed in range(5):
        cands = community(90, seed)
        rng = random.Random(seed)
        blocked = {frozenset(rng.sample(range(1, 91), 2)) for _ in range(6)}
        plan = plan_round(cands, settings=SETTINGS, now=WINTER, seed=seed, blocked=blocked)
        got = hours_by_block(plan, cands, SETTINGS, WINTER, blocked)
        most, best = whole_graph_best(cands, blocked)
        assert got["eng_pairs"] <= most
        assert got["eng_hours"] <= got["best_hours"] + 1e-9
        if got["short_blocks"] == 0:  # the engine has the most pairs in every block
            assert got["eng_pairs"] == most
            assert got["bounded_blocks"] == 0 and got["exact_share"] == 1.0
            assert got["best_hours"] == best
            compared += 1
    assert compared >= 3  # the comparison ran, not only its preconditions


def test_the_lp_bound_holds_and_is_close_on_a_real_block() -> None:
    cands = community(160, 11)
    plan = plan_round(cands, settings=SETTINGS, now=WINTER, seed=3)
    exact = hours_by_block(plan, cands, SETTINGS, WINTER, set())
    lp = hours_by_block(plan, cands, SETTINGS, WINTER, set(), exact_nodes=0, rounds=30)
    assert lp["exact_blocks"] == 0 and lp["bounded_blocks"] >= 4
    assert lp["eng_hours"] == exact["eng_hours"]
    assert exact["best_hours"] <= lp["best_hours"] <= 1.03 * exact["best_hours"]


def brute_force(edges: list[tuple[int, int, float]], k: int) -> float | None:
    """The most weight of any matching with exactly k edges, by enumeration."""
    best = None
    for combo in itertools.combinations(edges, k):
        ends = [x for a, b, _ in combo for x in (a, b)]
        if len(set(ends)) == 2 * k:
            w = sum(v for _, _, v in combo)
            best = w if best is None else max(best, w)
    return best


def test_cardinality_bound_against_enumeration() -> None:
    rng = random.Random(5)
    for trial in range(40):
        bipartite = trial % 2 == 0
        n = rng.randint(4, 8)
        pairs = [(i, j) for i in range(n) for j in range(i + 1, n)
                 if (not bipartite or (i % 2) != (j % 2)) and rng.random() < 0.6]
        if not pairs:
            continue
        edges = [(i, j, rng.choice([0.5, 1.0, 2.25, 4.0, 10.0])) for i, j in pairs]
        a = np.array([e[0] for e in edges])
        b = np.array([e[1] for e in edges])
        h = np.array([e[2] for e in edges])
        for k in range(1, n // 2 + 1):
            truth = brute_force(edges, k)
            if truth is None:
                break
            must = np.array([pairs.index((x, y)) for x, y, _ in
                             next(c for c in itertools.combinations(edges, k)
                                  if len({z for p in c for z in p[:2]}) == 2 * k
                                  and sum(p[2] for p in c) == truth)])
            # a working set of one edge per node: the rows must be generated
            bound, lp_opt = cardinality_bound(n, a, b, h, k, must, rounds=60, start=1, add=1)
            assert lp_opt
            assert bound >= truth - 1e-6
            if bipartite:  # the bipartite matching LP with a cardinality row is integral
                assert abs(bound - truth) < 1e-6
