"""Duals of the fractional matching LP from an optimal assignment on the double cover.

Pair matching on a big block solves a maximum-weight *assignment* on the bipartite double
cover (core/matching/auction.py): every learner is a bidder and an item, an edge i-j gives
arcs i->j and j->i, a bidder may stay alone at value 0. Its LP dual has a profit u_i per
bidder and a price p_j per item, u_i + p_j >= w_ij on every arc, u, p >= 0; at the optimum
u_i + p_j = w_ij on the arcs assigned. ``y_i = (u_i + p_i) / 2`` is then feasible for the
fractional matching LP (y_i + y_j >= w_ij) and optimal for it: column generation
(core/matching/pairgraph.py) ranks every partner j of i by ``w_ij - y_j``.

The solver gives the assignment, not the duals. Given an optimal assignment they are
shortest-path distances: with u_i = w_{i, owned(i)} - p_{owned(i)} (0 and no item when i
stays alone), an arc i->j is satisfied iff p_{owned(i)} <= p_j + w_{i, owned(i)} - w_ij,
u_i >= 0 iff p_{owned(i)} <= w_{i, owned(i)}, and an item nobody holds has p = 0. The
largest prices meeting these bounds are found by Bellman-Ford relaxation, vectorised over
the arcs (no negative cycle exists when the assignment is optimal). The relaxation stops
after ``rounds`` sweeps even if not settled (then the duals are close, not exact, which is
still what the ranking needs: measured, it settles in a few dozen sweeps on the 100,000
bench's blocks).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]


def assignment_duals(n: int, a: I64, b: I64, w: F64, owned: I64,
                     rounds: int = 200) -> F64:
    """y per node (local ids 0..n-1) from ``owned`` (owned[i]: the item bidder i holds in a
    maximum-weight assignment of the double cover of edges a-b with weights w, or -1)."""
    src = np.concatenate([a, b])
    dst = np.concatenate([b, a])
    ww = np.concatenate([w, w]).astype(np.float64)
    held = np.full(n, 0.0)  # w of each bidder's assigned arc (0 when alone)
    has = owned >= 0
    key = src * n + dst
    order = np.argsort(key)
    at = order[np.searchsorted(key[order], np.flatnonzero(has) * n + owned[has])]
    held[has] = ww[at]
    holder = np.full(n, -1, dtype=np.int64)  # who holds each item
    holder[owned[has]] = np.flatnonzero(has)
    price = np.where(holder >= 0, held[np.maximum(holder, 0)], 0.0)  # from u >= 0
    # arc i->j bounds the price of i's item: p[owned i] <= p[j] + held[i] - w_ij
    mine = has[src]
    item, other, cost = owned[src[mine]], dst[mine], held[src[mine]] - ww[mine]
    for _ in range(rounds):
        bound = np.full(n, np.inf)
        np.minimum.at(bound, item, price[other] + cost)
        new = np.minimum(price, bound)
        if np.allclose(new, price, rtol=0, atol=1e-9):
            break
        price = new
    price = np.maximum(price, 0.0)
    profit = np.where(has, held - price[np.maximum(owned, 0)], 0.0)
    # bidders alone (or any arc still short after the last sweep): raise to cover every arc
    short = np.maximum(ww - profit[src] - price[dst], 0.0)
    lift = np.zeros(n)
    np.maximum.at(lift, src, short)
    return (profit + lift + price) / 2
