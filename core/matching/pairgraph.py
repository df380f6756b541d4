"""The candidate graph for pairs: top k by reduced score, then once more with real duals.

Keeping only each learner's top k partners loses the optimum when the k are chosen by raw
score: everyone lists the same popular learners (Flexible people, long waiters). The right
ranking is by *reduced* score ``score(i, j) - y(j)`` with y the LP duals of the matching:
an edge of the optimum is tight, so it ranks first. Two steps get close:

1. the kernel keeps each learner's ``wide`` best by ``score - price`` (price: an estimate
   of the column's own k-th best option); the first k (+ a few) of them are solved;
2. y(j) = half the score of j's pair in that matching (0 if alone); each learner's
   ``wide`` list is re-ranked by ``score - y`` and its first k added.

Measured on the 10,000-learner bench: 99.30 % of the unpruned optimum after step 1,
99.9 % after step 2 (k = 12, wide = 48). In blocks of thousands that is not enough: the
price comes from a sample of 256, so it is the best of 256 (about the 50th best of 12,800),
and one unlucky sample or rough matching left a 3,836-learner block of the 100,000 bench
with 1,867 pairs where 1,918 (a perfect matching) were in reach, at 96 % of the unpruned
optimum. So blocks the auction solves (over ``EXACT_NODES``) get

3. instead of step 2, column generation, ``COLUMN_ROUNDS`` times: the auction on the graph
   so far gives the matching LP's duals (``auction_duals``); each learner's ``wide`` list is
   re-ranked by ``score - y(j)`` (step 2 with real duals) and the kernel ranks *every*
   column of the block the same way; each learner's best k of both join the graph. An edge
   the optimum needs and the graph lacks has a positive reduced score, so it ranks near
   the top.

Measured on the 100,000 bench's four biggest blocks (3,836-12,778 learners) over two
seeds: on the 3,836 one 99.93 % of the unpruned optimum's score (blossom on all 1.3 million
compatible pairs; 96.1 % before), and hours together +1.7 % to +10.5 % on the four (the
gain is most where the sample was unlucky); about 2.5x the CPU on those blocks.
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
from core.matching.pairs import EXACT_NODES, auction_duals, max_weight_pairs

WIDE = 48
COLUMN_ROUNDS = 2  # blocks solved by the auction (over EXACT_NODES): see step 3


def pair_candidates(pool: Pool, m: I64, k: int, adjust: Adjust, seed: int,
                    wide: int | None = None) -> Edges:
    """The candidate graph of a pair block (global indices, a < b); ``wide``: the first
    list's length (default ``WIDE``)."""
    wide = WIDE if wide is None else wide
    many = top_k_edges(pool, m, m, max(k, wide), adjust, seed=seed, price_k=k)
    if len(many) == 0:
        return many
    assert many.key is not None
    first = undirected(best_per_row(many, many.key, k + EXTRA))
    if len(m) > EXACT_NODES:
        return _column_generation(pool, m, k, adjust, seed, many, first)
    pairs = max_weight_pairs(first, seed, quick=True)  # a rough matching gives duals enough
    y = np.zeros(len(pool.cands), dtype=np.float32)
    if pairs:
        n = len(pool.cands)
        pa, pb = np.array(pairs, dtype=np.int64).T
        at = np.searchsorted(first.a * n + first.b, pa * n + pb)  # ``first`` is sorted so
        y[pa] = y[pb] = first.w[at] / 2
    return _union(first, best_per_row(many, many.w - y[many.b], k))


def _column_generation(pool: Pool, m: I64, k: int, adjust: Adjust, seed: int,
                       many: Edges, out: Edges) -> Edges:
    """Step 3 (blocks over ``EXACT_NODES``): ``COLUMN_ROUNDS`` times, the LP duals of the
    graph so far re-rank the wide list (step 2 with real duals) and the whole block."""
    for _ in range(COLUMN_ROUNDS):
        y = auction_duals(out, seed, len(pool.cands))
        more = top_k_edges(pool, m, m, k, adjust, seed=seed, duals=y[m])
        out = _union(out, best_per_row(many, many.w - y[many.b], k), more)
    return out


def _union(*parts: Edges) -> Edges:
    return undirected(Edges(np.concatenate([p.a for p in parts]),
                            np.concatenate([p.b for p in parts]),
                            np.concatenate([p.w for p in parts])))
