"""Study groups: pairs, then pairs of pairs, then local search and exact repairs.

1. maximum-weight matching into pairs on the candidate graph;
2. maximum-weight matching of those pairs into groups of four (a pair's candidates are the
   pairs of its members' graph neighbours);
3. local search: a learner moves to a neighbour's group, swaps with one of its members,
   or founds a group with two free neighbours; a group below the minimum size counts as
   worth nothing, so the search fills or empties it;
4. repair: each group, its neighbouring groups and nearby free learners (at most a dozen
   people) are re-solved exactly (groupexact.py) and replaced when that is better;
5. groups still below the minimum are dissolved and their members told why.

Blocks of at most ``groupexact.EXACT_MAX`` learners are solved exactly. Small blocks get
several seeded restarts and the best result is kept; big blocks get a linear-time search.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations

import numpy as np

from core.matching.candidates import Edges
from core.matching.groupexact import EXACT_MAX, GROUPS_MAX, exact
from core.matching.pairs import max_weight_pairs, neighbours
from core.matching.score import Scorer

REGION = 12  # learners re-solved together in a repair
RESTARTS = 2  # seeded restarts for small blocks
REPAIRS = 2  # rounds of repair + search for small blocks
BIG_REPAIRS = 1  # ... for big blocks: a repair is linear in the block (regions of BIG_REGION)
BIG_REGION = 9  # smaller regions in big blocks: an exact re-solve costs ~2^size
# In big blocks, a region of full groups only (no free learner, none undersized) is
# re-solved only when it has at most this many feasible groups. On a queue of look-alike
# learners (bench/import.py's form export) every subset of a region is a group (~320 for
# nine) and such re-solves were half of a 100,000 round's group phase for 0.15 % of its
# group score; on the realistic bench queue the score is unchanged (regions are sparser).
FULL_REGION_GROUPS = 200
FULL_SEARCH = 100  # blocks up to this size get the full search; bigger ones a linear one
FAN = 6  # in big blocks: neighbours whose groups a learner may join
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
        if best is not None:
            return sorted((list(g), v) for g, v in best)
    adj = neighbours(edges)
    small = len(ids) <= FULL_SEARCH
    tries = []
    for attempt in range(RESTARTS if small else 1):
        state = construct(scorer, edges, adj, lo, hi, seed + attempt, shuffle=attempt > 0)
        local_search(state, ids, adj, seed + attempt, passes if small else 1, everyone=small,
                     fan=len(ids) if small else FAN)
        for _ in range(REPAIRS if small else BIG_REPAIRS):
            if not (repair(state, adj, *((REGION, GROUPS_MAX) if small else (
                    BIG_REGION, FULL_REGION_GROUPS))) and local_search(
                    state, ids, adj, seed, passes if small else 1, everyone=small,
                    fan=len(ids) if small else FAN)):
                break
        tries.append((state.total(), attempt, state))
    state = max(tries, key=lambda t: (t[0], -t[1]))[2]
    out = []
    for g in state.groups.values():
        v = state.value(g)
        if len(g) >= lo and v is not None:
            out.append((sorted(g), v))
    return sorted(out)


def construct(scorer: Scorer, edges: Edges, adj: dict[int, list[int]], lo: int, hi: int,
              seed: int, *, shuffle: bool = False) -> Groups:
    """Pairs by matching, then pairs of pairs by matching (when four is allowed).
    ``shuffle`` jitters the pair scores a little so restarts explore other starts."""
    state = Groups(scorer, lo, hi)
    if shuffle and len(edges):
        noise = np.random.default_rng(seed).uniform(0.7, 1.3, len(edges)).astype(np.float32)
        edges = Edges(edges.a, edges.b, edges.w * noise)
    pairs = max_weight_pairs(edges, seed)
    if lo <= 4 <= hi and len(pairs) > 1:
        owner = {m: k for k, p in enumerate(pairs) for m in p}
        qa, qb, qw = [], [], []
        for k, (a, b) in enumerate(pairs):
            near = adj.get(a, [])[:FAN] + adj.get(b, [])[:FAN]
            others = {owner[v] for v in near if v in owner}
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
                 passes: int, *, everyone: bool = True, fan: int = 8) -> bool:
    """First-improvement moves and swaps of single learners toward neighbouring groups.

    ``everyone=False`` (big blocks) only moves learners who are not yet in a full-size
    group, and ``fan`` bounds how many neighbours' groups each learner tries: the work
    stays linear in the block."""
    order = [ids[i] for i in np.random.default_rng(seed).permutation(len(ids))]
    changed = False
    for _ in range(passes):
        moved = False
        for m in order:
            gid = state.where.get(m)
            if not everyone and gid is not None and len(state.groups[gid]) >= state.lo:
                continue
            near = adj.get(m, [])[:fan]
            if _improve(state, m, near) or (gid is None and _found(state, m, near)):
                moved = True
        changed |= moved
        if not moved:
            break
    return changed


def _found(state: Groups, m: int, near: list[int]) -> bool:
    """A free learner founds a group with two free neighbours (the best such trio)."""
    free = [v for v in near if v not in state.where]
    best: tuple[float, tuple[int, ...]] | None = None
    for u, v in combinations(free[:8], 2):
        if state.lo <= 3 <= state.hi:
            value = state.scorer.score((m, u, v), fit=True)
            if value is not None and value > 0 and (best is None or value > best[0]):
                best = (value, (m, u, v))
    if best is None:
        return False
    state.add(best[1])
    return True


def repair(state: Groups, adj: dict[int, list[int]], size: int = REGION,
           full_limit: int = GROUPS_MAX) -> bool:
    """Re-solve each group with its neighbouring groups and free neighbours exactly;
    ``full_limit``: the most feasible groups a region of full groups only is re-solved
    with (a region with room to fill always gets ``GROUPS_MAX``)."""
    improved = False
    for gid in sorted(state.groups):
        if gid not in state.groups:
            continue
        region = list(state.groups[gid])
        taken = {gid}
        for m in list(region):
            for v in adj.get(m, []):
                other = state.where.get(v)
                if other is None and v not in region and len(region) < size:
                    region.append(v)
                elif other is not None and other not in taken \
                        and len(region) + len(state.groups[other]) <= size:
                    taken.add(other)
                    region.extend(state.groups[other])
        full = len(region) == sum(len(state.groups[t]) for t in taken) and all(
            len(state.groups[t]) >= state.lo for t in taken)
        before = sum(state.value(state.groups[t]) or 0.0 for t in taken)
        best = exact(state.scorer, sorted(region), state.lo, state.hi,
                     full_limit if full else GROUPS_MAX)
        if best is None or sum(v for _, v in best) <= before + 1e-6:
            continue
        for t in taken:
            for m in state.groups.pop(t):
                state.drop(m)
        for m in region:
            state.drop(m)
        for g, _ in best:
            state.add(g)
        improved = True
    return improved


def _best_into(state: Groups, m: int, t: int, has_src: bool, s_new: list[int],
               src_delta: float, best: tuple[float, int | None, int | None],
               ) -> tuple[float, int | None, int | None]:
    """The better of ``best`` and moving ``m`` into group ``t`` (alone, or swapping one of
    its members back into m's old group). ``src_delta``: what m's leaving gains there."""
    val = state.value
    t_old = state.groups[t]
    v_t_old = val(t_old) or 0.0
    moved = val(t_old + [m])
    if moved is not None:
        gain = src_delta + moved - v_t_old
        if gain > best[0]:
            best = (gain, t, None)
    v_src_new = val(s_new) or 0.0
    for x in t_old:
        v_t_new = val([y for y in t_old if y != x] + [m])
        if v_t_new is None:
            continue
        back = val(s_new + [x]) if has_src else 0.0
        if back is None:
            continue
        gain = back - v_src_new + src_delta + v_t_new - v_t_old
        if gain > best[0]:
            best = (gain, t, x)
    return best


def _improve(state: Groups, m: int, near: list[int]) -> bool:
    val = state.value
    src = state.where.get(m)
    s_old = state.groups[src] if src is not None else []
    s_new = [x for x in s_old if x != m]
    v_src_old, v_src_new = val(s_old) or 0.0, val(s_new)
    if v_src_new is None:
        return False
    best: tuple[float, int | None, int | None] = (1e-6, None, None)  # gain, target, swapped
    targets = sorted({state.where[v] for v in near if v in state.where} - {src})
    for t in targets:
        best = _best_into(state, m, t, src is not None, s_new, v_src_new - v_src_old, best)
    _, target, swap = best
    if target is None:
        return False
    state.put(target, [y for y in state.groups[target] if y != swap] + [m])
    if swap is None:
        state.put(src, s_new)
    elif src is None:
        state.drop(swap)
    else:
        state.put(src, s_new + [swap])
    if src is not None and not state.groups[src]:
        del state.groups[src]
    return True
