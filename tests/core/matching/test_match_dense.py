"""Dense queues: many learners with identical profiles, so whole blocks tie.

bench/import.py's Google-Forms export is like that (four topics, one language, five
availability choices): every pair score in a block takes one of a handful of values. Two
things broke there and are held here: the candidate kernel made everyone list the same
first k partners (hubs; the graph then had room for far fewer pairs than the block), and
the big-block matcher (then an auction) spent seconds to minutes in price wars.
"""

from __future__ import annotations

import numpy as np
import pytest
import rustworkx as rx
from match_factory import WINTER, Mode, Setup, cand, run

from core.availability import week_start
from core.matching.auction import auction_matching
from core.matching.features import build_pool
from core.matching.groupexact import feasible
from core.matching.pairs import EXACT_NODES
from core.matching.score import Scorer
from core.settings import CommunitySettings
from tests import oracle

ZONES = ["Europe/Paris", "Europe/Berlin"]
WINDOWS = ["Mon-Fri 18:00-21:00", "Flexible"]


def test_identical_learners_above_blossom_size_are_all_paired() -> None:
    # 2 zones x 2 windows x 2 setups: 8 kinds of learner, 100 of each, one block
    n = 800
    assert n > EXACT_NODES  # the big-block path
    cands = [cand(i, tz=ZONES[i % 2], avail=WINDOWS[i // 2 % 2],
                  setup=(Setup.VIDEO, Setup.ANY)[i // 4 % 2]) for i in range(1, n + 1)]
    plan = run(cands)
    assert oracle.violations(plan, cands, CommunitySettings(), WINTER, set()) == []
    paired = sum(len(m.members) for m in plan.matches)
    # everyone can meet everyone here: all 800 should be paired (with hubs: 258)
    assert paired >= n - 2


def _blossom(n: int, a: np.ndarray, b: np.ndarray, w: np.ndarray) -> float:
    g = rx.PyGraph()
    g.add_nodes_from(range(n))
    g.add_edges_from([(int(x), int(y), round(v * 1000)) for x, y, v in zip(a, b, w, strict=True)])
    weight = {(int(x), int(y)): float(v) for x, y, v in zip(a, b, w, strict=True)}
    return sum(weight[(min(p), max(p))] for p in rx.max_weight_matching(g, weight_fn=int))


def test_matching_on_a_tied_graph_is_close_to_blossom() -> None:
    # eight distinct weights, as on a dense queue: the assignment's optimum is massively
    # tied; the symmetric nudges and the polish must still give a near-optimal matching
    n = 1200
    rng = np.random.default_rng(5)
    a = rng.integers(0, n, n * 12)
    b = rng.integers(0, n, n * 12)
    key = np.unique(np.minimum(a, b) * n + np.maximum(a, b))
    a, b = key // n, key % n
    keep = a < b
    a, b = a[keep], b[keep]
    w = rng.choice([58.6, 59.5, 61.0, 62.25, 64.0, 65.5, 66.75, 68.1], len(a))
    got = auction_matching(n, a, b, w)
    assert len({x for p in got for x in p}) == 2 * len(got)  # a matching
    weight = {(int(x), int(y)): float(v) for x, y, v in zip(a, b, w, strict=True)}
    assert all(p in weight for p in got)  # only edges of the graph
    assert sum(weight[p] for p in got) >= 0.998 * _blossom(n, a, b, w)


def test_group_scores_summed_member_by_member_equal_the_scorer() -> None:
    # groupexact adds a member's node term, affinities and past pairs as it grows a group;
    # the result must be the scorer's own score of that group (cohorts, zones, setups,
    # group-size preferences and past partners all vary here)
    cands = [cand(i, mode=Mode.STUDY_GROUP, tz=("Europe/Paris", "Europe/London")[i % 2],
                  avail=WINDOWS[i // 2 % 2], setup=(Setup.VIDEO, Setup.ANY, Setup.TEXT)[i % 3],
                  cohort=("A", "B")[i // 3 % 2], group_size=(0, 3, 4, 5)[i % 4],
                  waited_days=float(i % 7) * 5) for i in range(1, 11)]
    settings = CommunitySettings()
    pool = build_pool(cands, settings, week_start(WINTER), WINTER)
    past = {frozenset((1, 2)), frozenset((3, 8)), frozenset((2, 9))}
    scorer = Scorer(pool, set(), past)
    ids = list(range(len(cands)))
    found = list(feasible(scorer, ids, settings.group_min, settings.group_max))
    assert len(found) > 100
    for group, value in found:
        assert value == pytest.approx(scorer.score(group, fit=True), abs=1e-9)
