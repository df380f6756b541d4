"""Pairs: exact maximum-weight matching on a block's candidate graph (rustworkx), and
odd accountability learners joined to a pair as a trio.

rustworkx wants integer weights: scores are scaled to thousandths. The seed only permutes
node labels, which breaks ties between equally good matchings without changing the optimum.
"""

from __future__ import annotations

import numpy as np
import rustworkx as rx

from core.matching.auction import auction_matching, auction_with_duals
from core.matching.candidates import Edges
from core.matching.features import F32, I64
from core.matching.score import Scorer

SCALE = 1000
EXACT_NODES = 600  # above this, blossom gets slow: use the auction (see auction.py)


def max_weight_pairs(edges: Edges, seed: int, *, exact_nodes: int = EXACT_NODES,
                     quick: bool = False) -> list[tuple[int, int]]:
    """A maximum-weight matching of the edges, as sorted (a, b) global index pairs: exact
    (blossom) up to ``exact_nodes`` nodes, the auction beyond (``quick``: a rougher one)."""
    if len(edges) == 0:
        return []
    a, b, back = _relabel(edges, seed)
    if len(back) > exact_nodes:
        pairs = auction_matching(len(back), a, b, edges.w.astype(np.float64), quick=quick)
        return sorted(
            (min(int(back[u]), int(back[v])), max(int(back[u]), int(back[v]))) for u, v in pairs
        )
    wi = np.rint(edges.w.astype(np.float64) * SCALE).astype(np.int64)
    g = rx.PyGraph(multigraph=False)
    g.add_nodes_from(range(len(back)))
    g.add_edges_from(list(zip(a.tolist(), b.tolist(), wi.tolist(), strict=True)))
    mate = rx.max_weight_matching(g, max_cardinality=False, weight_fn=int)
    out = [(int(back[u]), int(back[v])) for u, v in mate]
    return sorted((min(p), max(p)) for p in out)


def auction_duals(edges: Edges, seed: int, size: int) -> F32:
    """The matching LP's duals on the edges, from the auction (no matching is rounded), by
    global index (an array of ``size``; 0 for nodes without edges)."""
    y = np.zeros(size, dtype=np.float32)
    if len(edges) == 0:
        return y
    a, b, back = _relabel(edges, seed)
    y[back] = auction_with_duals(len(back), a, b, edges.w.astype(np.float64),
                                 matching=False)[1]
    return y


def _relabel(edges: Edges, seed: int) -> tuple[I64, I64, I64]:
    """The edges' ends as local ids 0..n-1 in a seeded random order (it breaks ties between
    equally good matchings without changing the optimum), and ``back``: local -> global."""
    nodes = np.unique(np.concatenate([edges.a, edges.b]))
    order = np.random.default_rng(seed).permutation(len(nodes))
    back = np.empty(len(nodes), dtype=np.int64)
    back[order] = nodes
    return order[np.searchsorted(nodes, edges.a)], order[np.searchsorted(nodes, edges.b)], back


def neighbours(edges: Edges) -> dict[int, list[int]]:
    """Adjacency lists of a candidate graph (global indices), best edges first."""
    out: dict[int, list[int]] = {}
    order = np.argsort(-edges.w, kind="stable")
    for u, v in zip(edges.a[order].tolist(), edges.b[order].tolist(), strict=True):
        out.setdefault(u, []).append(v)
        out.setdefault(v, []).append(u)
    return out


def attach_trios(scorer: Scorer, pairs: list[tuple[int, int]], leftovers: I64,
                 adj: dict[int, list[int]], scan_all: int = 400) -> dict[int, tuple[int, int]]:
    """Join each leftover to the pair where it adds the most, at most one per pair.

    Candidates are the pairs of the leftover's graph neighbours (and every pair when the
    block is small). Long waiters choose first. Returns {leftover: pair}.
    """
    owner = {m: p for p in pairs for m in p}
    taken: set[tuple[int, int]] = set()
    out: dict[int, tuple[int, int]] = {}
    node = scorer.pool.node
    for x in sorted(leftovers.tolist(), key=lambda i: (-float(node[i]), i)):
        options = {owner[v] for v in adj.get(x, ()) if v in owner}
        if len(pairs) <= scan_all:
            options.update(pairs)
        best: tuple[float, tuple[int, int]] | None = None
        for p in sorted(options - taken):
            trio = scorer.score((p[0], p[1], x))
            base = scorer.score(p)
            if trio is None or base is None:
                continue
            gain = trio - base
            if gain > 0 and (best is None or gain > best[0]):
                best = (gain, p)
        if best is not None:
            taken.add(best[1])
            out[x] = best[1]
    return out
