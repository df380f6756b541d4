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
import numpy.typing as npt

from core.matching.features import F32, I64, Pool
from core.matching.ranking import BIG, Encoder, kth_best, score_chunks, width_for
from core.matching.score import pair_scores

SAMPLE = 256  # learners sampled to estimate each learner's price
EXTRA = 4  # candidates kept beyond k: some fail the exact hard minimum


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
    key: F32 | None = None  # the kernel's ranking key of each (directed edges only)

    def __len__(self) -> int:
        return len(self.a)


def make_blocks(pool: Pool) -> list[Block]:
    """Exact partition of the pool by mode class, topic key and compatibility component."""
    keyed: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, c in enumerate(pool.cands):
        keyed[(c.mode.mode_class, c.topic_key)].append(i)
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


class Adjust:
    """Score changes for a few learner pairs: -inf (blocked) or the past-partner penalty.
    Keyed by global pool index, both directions."""

    def __init__(self) -> None:
        self.by_row: dict[int, list[tuple[int, float]]] = defaultdict(list)
        self._rows: I64 | None = None
        self._keys: I64 | None = None
        self._vals: npt.NDArray[np.float64] = np.zeros(0)
        self._span = 0

    def add(self, i: int, j: int, value: float) -> None:
        self.by_row[i].append((j, value))
        self.by_row[j].append((i, value))
        self._rows = self._keys = None

    def get(self, i: int) -> list[tuple[int, float]]:
        return self.by_row.get(i, [])

    def rows(self) -> I64:
        if self._rows is None:
            self._rows = np.array(sorted(self.by_row), dtype=np.int64)
        return self._rows

    def values(self, a: I64, b: I64) -> npt.NDArray[np.float64]:
        """The change for each pair (a[e], b[e]); 0 for most. Vectorised lookup."""
        out = np.zeros(len(a))
        if not self.by_row or not len(a):
            return out
        if self._keys is None:
            pairs = [(i, j, v) for i, lst in self.by_row.items() for j, v in lst]
            arr = np.array([(i, j) for i, j, _ in pairs], dtype=np.int64)
            self._span = int(arr.max()) + 1
            keys = arr[:, 0] * self._span + arr[:, 1]
            order = np.argsort(keys, kind="stable")
            vals = np.array([v for _, _, v in pairs], dtype=np.float64)[order]
            keys = keys[order]
            # repeated pairs (blocked and past) add up
            uniq, start = np.unique(keys, return_index=True)
            self._keys, self._vals = uniq, np.add.reduceat(vals, start)
        inside = (a < self._span) & (b < self._span)
        key = np.where(inside, a * self._span + b, -1)
        pos = np.minimum(np.searchsorted(self._keys, key), len(self._keys) - 1)
        hit = self._keys[pos] == key
        out[hit] = self._vals[pos[hit]]
        return out


def pair_adjustments(pool: Pool, pairs: Iterable[frozenset[int]], value: float,
                     into: Adjust | None = None) -> Adjust:
    """Adds ``value`` for the learner pairs that are both in the pool."""
    where = {c.learner_id: i for i, c in enumerate(pool.cands)}
    out = Adjust() if into is None else into
    for pair in pairs:
        ids = [where.get(x) for x in pair]
        if len(ids) == 2 and ids[0] is not None and ids[1] is not None:
            out.add(ids[0], ids[1], value)
    return out


def top_k_edges(pool: Pool, rows: I64, cols: I64, k: int, adjust: Adjust,
                *, kinds: bool = False, seed: int = 0, price_k: int = 0,
                exact: bool = True, duals: F32 | None = None) -> Edges:
    """Each row's best ``k`` columns (rows may be the columns themselves), exactly scored.

    Ranking uses *reduced* scores, ``score(i, j) - price(j)``, where ``price(j)`` estimates
    j's own k-th best option (from a sample). Without it everybody's top k would be the same
    few "hubs" (Flexible learners, long waiters) and the graph would hold far fewer
    disjoint good pairs than the queue. Kept pairs are re-scored exactly (cap, hard
    minimum, ``adjust``: -inf for blocked pairs, the past-partner penalty); pairs breaking
    a hard constraint or scoring <= 0 are dropped. ``price_k``: the k the prices are for,
    when more than k candidates are kept (the default: k). ``exact=False`` skips the
    re-scoring: ``w`` is then the kernel's estimate and the caller calls ``rescore``.
    ``duals``: each column's price in score units (one per ``cols``, e.g. from a solved
    assignment), used instead of the sampled estimate: rows then rank by ``score - dual``.
    """
    same = rows is cols
    if len(rows) == 0 or len(cols) - (1 if same else 0) <= 0 or k <= 0:
        return _empty()
    enc = Encoder(pool, rows if same else np.union1d(rows, cols), kinds=kinds, seed=seed)
    left = enc.left(rows)
    right = enc.right(cols)
    if duals is None:
        price = _prices(
            pool, enc, rows, cols, left if same else enc.left(cols), price_k or k, seed, same
        )
    else:  # the kernel's key leaves out base and the column's node term: fold them in
        price = (duals - pool.node[cols] - np.float32(pool.w.base)).astype(np.float32)
    codes, col_codes = pool.compat[rows], pool.compat[cols]
    found_a: list[I64] = []
    found_b: list[I64] = []
    found_k: list[F32] = []
    width = width_for(k + EXTRA)
    # one buffer for every code's columns: fresh 10+ MB arrays each time cost page faults
    buf = np.empty((-(-len(cols) // width) * width, right.shape[1]), dtype=np.float32)
    last = b""
    for code in np.unique(codes).tolist():
        sel = np.flatnonzero(codes == code)
        bonus = pool.compat_table[code, col_codes]
        fit = np.flatnonzero(np.isfinite(bonus))
        if not len(fit):
            continue
        groups = -(-len(fit) // width)
        r = buf[:groups * width]
        sig = np.isfinite(bonus).tobytes()
        if sig != last:  # codes with the same partners reuse the filled buffer
            np.take(right, fit, axis=0, out=r[:len(fit)])
            r[len(fit):] = 0
            last = sig
        own = None
        if same:  # each row's own column among ``fit`` (or -1)
            pos = np.minimum(np.searchsorted(fit, sel), len(fit) - 1)
            own = np.where(fit[pos] == sel, pos, -1)
        bias = np.full(len(r), -BIG, dtype=np.float32)
        bias[:len(fit)] = bonus[fit] - price[fit]
        ri, ci, key = score_chunks(left[sel], r, bias, groups, k + EXTRA, own)
        found_a.append(rows[sel[ri]])
        found_b.append(cols[fit[ci]])
        found_k.append(key)
    if not found_a:
        return _empty()
    a, b = np.concatenate(found_a), np.concatenate(found_b)
    key = np.concatenate(found_k)  # the kernel's ranking key (reduced, uncapped)
    if not exact:
        w = key + price_of(price, cols, b) + pool.node[a] + pool.node[b] + np.float32(pool.w.base)
        return Edges(a, b, w.astype(np.float32), key)
    e = rescore(pool, Edges(a, b, key, key), adjust, kinds=kinds)
    return e


def price_of(price: F32, cols: I64, b: I64) -> F32:
    return price[np.searchsorted(cols, b)] if np.all(np.diff(cols) > 0) else price[
        np.argsort(cols)[np.searchsorted(np.sort(cols), b)]]


def rescore(pool: Pool, e: Edges, adjust: Adjust, *, kinds: bool = False) -> Edges:
    """Exact scores for the edges; drops those breaking a hard constraint or <= 0."""
    w, ok = pair_scores(pool, e.a, e.b, kinds=kinds)
    w += adjust.values(e.a, e.b)
    keep = ok & (w > 0)
    return Edges(e.a[keep], e.b[keep], w[keep].astype(np.float32),
                 None if e.key is None else e.key[keep])


def _prices(pool: Pool, enc: Encoder, rows: I64, cols: I64, left_cols: F32, k: int,
            seed: int, same: bool) -> F32:
    """Each column's estimated k-th best option among ``rows`` (0 when it has few)."""
    sample = rows
    if len(rows) > SAMPLE:
        pick = np.random.default_rng(seed).choice(len(rows), SAMPLE, replace=False)
        sample = rows[np.sort(pick)]
    extra = pool.compat_table[pool.compat[cols]][:, pool.compat[sample]]
    extra = np.where(np.isfinite(extra), extra, -BIG) + pool.node[sample][None, :]
    if same:
        extra[cols[:, None] == sample[None, :]] = -BIG
    q = round(k * len(sample) / len(rows))
    kth = kth_best(left_cols, enc.right(sample), extra.astype(np.float32), q)
    return np.where(kth > -BIG / 2, np.maximum(kth, 0), 0).astype(np.float32)


def best_per_row(e: Edges, key: F32, k: int) -> Edges:
    """Of directed edges listed row by row (as the kernel returns them), each row's k
    with the largest ``key``."""
    if len(e) == 0:
        return e
    heads = np.flatnonzero(np.r_[True, e.a[1:] != e.a[:-1]])
    if len(heads) != len(np.unique(e.a)):  # not row by row: sort first
        order = np.argsort(e.a, kind="stable")
        return best_per_row(Edges(e.a[order], e.b[order], e.w[order]), key[order], k)
    length = np.diff(np.r_[heads, len(e)])
    pos = np.arange(len(e)) - np.repeat(heads, length)
    table = np.full((len(heads), int(length.max())), -np.inf, dtype=np.float32)
    table[np.repeat(np.arange(len(heads)), length), pos] = key
    kk = min(k, table.shape[1])
    top = np.argpartition(-table, kk - 1, axis=1)[:, :kk] if kk < table.shape[1] else (
        np.broadcast_to(np.arange(table.shape[1]), table.shape))
    ok = np.isfinite(np.take_along_axis(table, top, axis=1))
    pick = (heads[:, None] + top)[ok]
    return Edges(e.a[pick], e.b[pick], e.w[pick])


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
