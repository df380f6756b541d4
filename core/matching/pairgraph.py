"""The candidate graph for pairs: top k by reduced score, then once more with real duals.

Keeping only each learner's top k partners loses the optimum when the k are chosen by raw
score: everyone lists the same popular learners (Flexible people, long waiters). The right
ranking is by *reduced* score ``score(i, j) - y(j)`` with y the LP duals of the matching:
an edge of the optimum is tight, so it ranks first. Two steps get close:

1. the kernel keeps each learner's ``wide`` best by ``score - price`` (price: an estimate
   of the column's own k-th best option); the first k (+ a few) of them are solved;
2. y(j) = half the score of j's pair in that matching (0 if alone); each learner's
   ``wide`` list is re-ranked by ``score - y`` and its first k added.

No second scoring pass is needed. Measured on the 10,000-learner bench: 99.30 % of the
unpruned optimum after step 1, 99.9 % after step 2 (k = 12, wide = 48).
"""

from __future__ import annotations

import numpy as np

from core.matching.candidates import (
    EXTRA,
    Adjust,
    Edges,
    best_per_row,
    top_k_edges,
    undirected,
)
from core.matching.features import I64, Pool
from core.matching.pairs import max_weight_pairs

WIDE = 48


def pair_candidates(pool: Pool, m: I64, k: int, adjust: Adjust, seed: int,
                    wide: int = WIDE) -> Edges:
    """The candidate graph of a pair block (global indices, a < b)."""
    many = top_k_edges(pool, m, m, max(k, wide), adjust, seed=seed, price_k=k)
    if len(many) == 0:
        return many
    assert many.key is not None
    first = undirected(best_per_row(many, many.key, k + EXTRA))
    pairs = max_weight_pairs(first, seed, quick=True)  # a rough matching gives duals enough
    y = np.zeros(len(pool.cands), dtype=np.float32)
    if pairs:
        n = len(pool.cands)
        pa, pb = np.array(pairs, dtype=np.int64).T
        at = np.searchsorted(first.a * n + first.b, pa * n + pb)  # ``first`` is sorted so
        y[pa] = y[pb] = first.w[at] / 2
    second = best_per_row(many, many.w - y[many.b], k)
    both = Edges(np.concatenate([first.a, second.a]), np.concatenate([first.b, second.b]),
                 np.concatenate([first.w, second.w]))
    return undirected(both)
