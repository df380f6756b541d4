"""Blocks and candidate edges.

A *block* holds the learners that can possibly meet: same mode class and same topic key
(exact hard keys), further split into the connected components of language/setup
compatibility (also exact: nobody in one component can be matched with anybody in another).
Inside a block each learner keeps only their ``k`` best partners, scored for a chunk of rows
at a time with numpy, so memory stays at ``chunk x block`` floats and there is never a
Python loop over all pairs.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from core.matching.features import F32, I64, Pool
from core.matching.score import NEG, pair_matrix
from core.model import Mode

MODE_CLASS = {
    Mode.STUDY_BUDDY: "pair", Mode.ACCOUNTABILITY: "accountability",
    Mode.STUDY_GROUP: "group", Mode.OFFER_SUPPORT: "support", Mode.NEED_SUPPORT: "support",
}
CHUNK_CELLS = 4_000_000  # rows x columns scored at once: ~16 MB per float32 matrix


@dataclass
class Block:
    mode_class: str
    topic_key: str
    members: I64  # global indices into the pool, ascending


@dataclass
class Edges:
    """Candidate pairs as parallel arrays of global indices (a < b) and full pair scores."""

    a: I64
    b: I64
    w: F32

    def __len__(self) -> int:
        return len(self.a)


def make_blocks(pool: Pool) -> list[Block]:
    """Exact partition of the pool by mode class, topic key and compatibility component."""
    keyed: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, c in enumerate(pool.cands):
        keyed[(MODE_CLASS[c.mode], c.topic_key)].append(i)
    out: list[Block] = []
    for (mc, topic), idx in sorted(keyed.items()):
        members = np.array(idx, dtype=np.int64)
        for comp in _components(pool, members):
            out.append(Block(mc, topic, comp))
    return out


def _components(pool: Pool, members: I64) -> list[I64]:
    codes = np.unique(pool.compat[members])
    parent = {int(c): int(c) for c in codes}

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    sub = pool.compat_table[np.ix_(codes, codes)]
    for r, c in zip(*np.nonzero(np.isfinite(sub)), strict=True):
        ra, rb = find(int(codes[r])), find(int(codes[c]))
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    roots = np.array([find(int(x)) for x in pool.compat[members]], dtype=np.int64)
    return [members[roots == r] for r in np.unique(roots)]


def pair_adjustments(pool: Pool, pairs: Iterable[frozenset[int]], value: float) -> dict[tuple[int, int], float]:
    """(i, j) global index pairs (both orders) -> value, for pairs inside the pool."""
    where = {c.learner_id: i for i, c in enumerate(pool.cands)}
    out: dict[tuple[int, int], float] = {}
    for pair in pairs:
        ids = [where.get(x) for x in pair]
        if len(ids) == 2 and ids[0] is not None and ids[1] is not None:
            out[(ids[0], ids[1])] = out[(ids[1], ids[0])] = value
    return out


def top_k_edges(pool: Pool, rows: I64, cols: I64, k: int, adjust: dict[tuple[int, int], float],
                *, kinds: bool = False) -> Edges:
    """Each row's ``k`` best columns (all of them when few) as scored edges.

    ``rows`` and ``cols`` may be the same block (pairs) or two sides (supporters). ``adjust``
    maps (row, col) global pairs to ``-inf`` (blocked) or the past-partner penalty.
    Edges with a score <= 0 are dropped: the matching would never take them.
    """
    w = pool.w
    same = rows is cols
    k = min(k, len(cols) - (1 if same else 0))
    if k <= 0 or len(rows) == 0:
        return _empty()
    by_row: dict[int, list[tuple[int, float]]] = defaultdict(list)
    if adjust:
        pos = {int(g): p for p, g in enumerate(cols)}
        rowset = set(map(int, rows))
        for (i, j), v in adjust.items():
            if i in rowset and j in pos:
                by_row[i].append((pos[j], v))
    colf = pool.slots[cols].astype(np.float32)
    rowf = colf if same else pool.slots[rows].astype(np.float32)
    node_c = pool.node[cols]
    step = max(1, CHUNK_CELLS // max(1, len(cols)))
    out_a, out_b, out_w = [], [], []
    for r0 in range(0, len(rows), step):
        r = rows[r0:r0 + step]
        s = pair_matrix(pool, r, cols, rowf[r0:r0 + step], colf, kinds=kinds)
        if same:
            s[np.arange(len(r)), np.arange(r0, r0 + len(r))] = NEG
        for local, g in enumerate(r):
            for c, v in by_row.get(int(g), ()):
                s[local, c] += np.float32(v)
        s += node_c[None, :]
        top = np.argpartition(-s, k - 1, axis=1)[:, :k] if k < len(cols) else (
            np.broadcast_to(np.arange(len(cols)), (len(r), len(cols))))
        val = np.take_along_axis(s, top, axis=1) + pool.node[r][:, None] + np.float32(w.base)
        ok = val > 0
        out_a.append(np.broadcast_to(r[:, None], top.shape)[ok])
        out_b.append(cols[top[ok]])
        out_w.append(val[ok])
    if not out_a:
        return _empty()
    return Edges(np.concatenate(out_a), np.concatenate(out_b), np.concatenate(out_w).astype(np.float32))


def undirected(e: Edges) -> Edges:
    """Deduplicate edges found from both ends; orient a < b; deterministic order."""
    if len(e) == 0:
        return e
    a, b = np.minimum(e.a, e.b), np.maximum(e.a, e.b)
    key = a * (int(max(a.max(), b.max())) + 1) + b
    _, first = np.unique(key, return_index=True)
    return Edges(a[first], b[first], e.w[first])


def _empty() -> Edges:
    return Edges(np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.float32))
