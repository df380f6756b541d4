"""The fractional matching LP's duals recovered from an optimal double-cover assignment."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import linprog
from scipy.sparse.csgraph import min_weight_full_bipartite_matching

from core.matching.duals import assignment_duals


def _graph(n: int, m: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a = rng.integers(0, n, m)
    b = rng.integers(0, n, m)
    keep = a < b
    key = np.unique(a[keep] * n + b[keep])
    a, b = key // n, key % n
    w = rng.integers(1, 40, len(a)).astype(np.float64)  # integers: many ties
    return a, b, w


def _optimal_assignment(n: int, a: np.ndarray, b: np.ndarray, w: np.ndarray) -> np.ndarray:
    me = np.arange(n)
    shift = float(w.max()) + 1.0
    m = sp.csr_matrix((np.r_[w + shift, w + shift, np.full(n, shift)],
                       (np.r_[a, b, me], np.r_[b, a, n + me])), shape=(n, 2 * n))
    bidder, item = min_weight_full_bipartite_matching(m, maximize=True)
    owned = np.full(n, -1, dtype=np.int64)
    owned[bidder] = np.where(item < n, item, -1)
    return owned


def _lp_value(n: int, a: np.ndarray, b: np.ndarray, w: np.ndarray) -> float:
    rows = np.r_[np.arange(len(a)), np.arange(len(a))]
    lhs = sp.csr_matrix((-np.ones(2 * len(a)), (rows, np.r_[a, b])), shape=(len(a), n))
    res = linprog(np.ones(n), A_ub=lhs, b_ub=-w, bounds=(0, None), method="highs")
    return float(res.fun)


@pytest.mark.parametrize("seed", range(6))
def test_duals_are_feasible_and_optimal(seed: int) -> None:
    n = 60 + 20 * seed
    a, b, w = _graph(n, 4 * n, seed)
    y = assignment_duals(n, a, b, w, _optimal_assignment(n, a, b, w))
    assert np.all(y >= -1e-9)
    assert np.all(y[a] + y[b] >= w - 1e-6)  # feasible: every edge covered
    assert y.sum() == pytest.approx(_lp_value(n, a, b, w), abs=1e-6)  # and optimal


def test_duals_of_a_poor_assignment_are_still_feasible() -> None:
    """Nobody assigned (not optimal): the lift still covers every edge, so ranking by them
    never rests on an infeasible price."""
    n = 50
    a, b, w = _graph(n, 200, 9)
    y = assignment_duals(n, a, b, w, np.full(n, -1, dtype=np.int64))
    assert np.all(y[a] + y[b] >= w - 1e-6)
