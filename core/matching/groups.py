"""Study groups: pairs, then pairs of pairs, then local search; exact for tiny blocks.

1. maximum-weight matching into pairs on the candidate graph;
2. maximum-weight matching of those pairs into groups of four (a pair's candidates are the
   pairs of its members' graph neighbours);
3. local search over moves, swaps and insertions of single learners between neighbouring
   groups, counting a group below the minimum size as worth nothing (so the search fills
   or empties it);
4. groups still below the minimum are dissolved and their members told why.

Blocks of at most ``EXACT_MAX`` learners are solved exactly (dynamic programming over
subsets), which is also how a handful of neighbouring groups get re-solved ("repair").
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from itertools import combinations

import numpy as np

from core.matching.candidates import Edges
from core.matching.pairs import max_weight_pairs, neighbours
from core.matching.score import Scorer

EXACT_MAX = 9
Group = tuple[int, ...]


class Groups:
    """A partition of a block's learners into groups (some possibly undersized)."""

    def __init__(self, scorer: Scorer, lo: int, hi: int):
        self.scorer, self.lo, self.hi = scorer, lo, hi
        self.groups: dict[int, list[int]] = {}
        self.where: dict[int, int] = {}
        self._next = 0

    def value(self, members: Sequence[int]) -> float | None:
        """A group's worth: its score, 0 while undersized, None if it may not exist."""
        n = len(members)
        if n < self.lo:
            return 0.0
        if n > self.hi:
            return None
        return self.scorer.score(members, fit=True)

    def add(self, members: Sequence[int]) -> None:
        gid = self._next
        self._next += 1
        self.groups[gid] = list(members)
        for m in members:
            self.where[m] = gid

    def put(self, gid: int | None, members: list[int]) -> None:
        if gid is None:
            return
        self.groups[gid] = members
        for m in members:
            self.where[m] = gid

    def drop(self, m: int) -> None:
        self.where.pop(m, None)

    def total(self) -> float:
        return sum(self.value(g) or 0.0 for g in self.groups.values())


def solve(scorer: Scorer, members: np.ndarray, edges: Edges, seed: int, lo: int, hi: int,
          passes: int = 6) -> list[tuple[list[int], float]]:
    """Groups of sizes lo..hi for one block, with their scores."""
    ids = sorted(members.tolist())
    if len(ids) <= EXACT_MAX:
        best = exact(scorer, ids, lo, hi)
        return [(list(g), v) for g, v in best]
    adj = neighbours(edges)
    state = construct(scorer, edges, adj, lo, hi, seed)
    local_search(state, ids, adj, seed, passes)
    out = []
    for g in state.groups.values():
        v = state.value(g)
        if len(g) >= lo and v is not None:
            out.append((sorted(g), v))
    return sorted(out)


def construct(scorer: Scorer, edges: Edges, adj: dict[int, list[int]], lo: int, hi: int,
              seed: int) -> Groups:
    """Pairs by matching, then pairs of pairs by matching (when four is allowed)."""
    state = Groups(scorer, lo, hi)
    pairs = max_weight_pairs(edges, seed)
    if lo <= 4 <= hi and len(pairs) > 1:
        owner = {m: k for k, p in enumerate(pairs) for m in p}
        qa, qb, qw = [], [], []
        for k, (a, b) in enumerate(pairs):
            others = {owner[v] for v in adj.get(a, []) + adj.get(b, []) if v in owner}
            for q in sorted(o for o in others if o > k):
                v = scorer.score(pairs[k] + pairs[q], fit=True)
                if v is not None:
                    qa.append(k)
                    qb.append(q)
                    qw.append(v)
        quad = Edges(np.array(qa, np.int64), np.array(qb, np.int64), np.array(qw, np.float32))
        used: set[int] = set()
        for k, q in max_weight_pairs(quad, seed):
            state.add(pairs[k] + pairs[q])
            used.update((k, q))
        pairs = [p for k, p in enumerate(pairs) if k not in used]
    for p in pairs:
        state.add(p)
    return state


def local_search(state: Groups, ids: list[int], adj: dict[int, list[int]], seed: int,
                 passes: int) -> None:
    """First-improvement moves and swaps of single learners toward neighbouring groups."""
    order = [ids[i] for i in np.random.default_rng(seed).permutation(len(ids))]
    for _ in range(passes):
        moved = False
        for m in order:
            if _improve(state, m, adj.get(m, [])):
                moved = True
        if not moved:
            break


def _improve(state: Groups, m: int, near: list[int]) -> bool:
    val = state.value
    src = state.where.get(m)
    s_old = state.groups[src] if src is not None else []
    s_new = [x for x in s_old if x != m]
    v_src_old, v_src_new = val(s_old) or 0.0, val(s_new)
    if v_src_new is None:
        return False
    best = (1e-6, None, None)  # (gain, target gid, swapped member)
    targets = sorted({state.where[v] for v in near if v in state.where} - {src})
    for t in targets:
        t_old = state.groups[t]
        v_t_old = val(t_old) or 0.0
        moved = val(t_old + [m])
        if moved is not None:
            gain = v_src_new + moved - v_src_old - v_t_old
            if gain > best[0]:
                best = (gain, t, None)
        for x in t_old:
            t_new = [y for y in t_old if y != x] + [m]
            v_t_new = val(t_new)
            if v_t_new is None:
                continue
            back = val(s_new + [x]) if src is not None else 0.0
            if back is None:
                continue
            gain = back + v_t_new - v_src_old - v_t_old
            if gain > best[0]:
                best = (gain, t, x)
    _, t, x = best
    if t is None:
        return False
    t_members = [y for y in state.groups[t] if y != x] + [m]
    state.put(t, t_members)
    if x is None:
        state.put(src, s_new)
    elif src is None:
        state.drop(x)
    else:
        state.put(src, s_new + [x])
    if src is not None and not state.groups[src]:
        del state.groups[src]
    return True


def exact(scorer: Scorer, ids: list[int], lo: int, hi: int) -> list[tuple[Group, float]]:
    """The best set of groups among a few learners (dynamic programming over subsets)."""
    n = len(ids)

    @lru_cache(maxsize=None)
    def best(mask: int) -> tuple[float, tuple[Group, ...]]:
        if mask == 0:
            return 0.0, ()
        first = (mask & -mask).bit_length() - 1
        rest = mask & ~(1 << first)
        top = best(rest)  # `first` stays unmatched
        others = [i for i in range(n) if rest >> i & 1]
        for size in range(lo - 1, hi):
            for combo in combinations(others, size):
                g = (ids[first], *(ids[i] for i in combo))
                v = scorer.score(g, fit=True)
                if v is None:
                    continue
                m = rest
                for i in combo:
                    m &= ~(1 << i)
                sub = best(m)
                if v + sub[0] > top[0]:
                    top = (v + sub[0], (tuple(sorted(g)), *sub[1]))
        return top

    total, groups = best((1 << n) - 1)
    return [(g, scorer.score(g, fit=True) or 0.0) for g in groups]
