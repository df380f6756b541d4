"""Exact study groups for a handful of learners: whole tiny blocks and local repairs.

Feasibility is inherited by subsets (a common language, compatible setups and enough
time together for five means the same for any three of them), so feasible groups are
enumerated depth-first with pruning; a dynamic programme over subsets then packs them
(each state chooses the group of its lowest learner, or leaves that learner out).
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache

from core.matching.score import Partial, Scorer

EXACT_MAX = 14  # learners solved exactly (2^14 states at most)
GROUPS_MAX = 4000  # feasible groups considered at most; beyond, the caller falls back

Packing = list[tuple[tuple[int, ...], float]]


def feasible(
    scorer: Scorer, ids: list[int], lo: int, hi: int
) -> Iterator[tuple[tuple[int, ...], float]]:
    """Every feasible group of lo..hi of ``ids`` with its score (``ids`` ascending).

    The score's parts (node terms, pair affinities, past pairs) are summed as members are
    added, so each group costs one member's pairs, not all of its pairs (a repair region of
    nine dense learners has ~340 feasible groups). The region's pair affinities and past
    pairs are tabled once (by position in ``ids``): a repair enumerates a few hundred
    groups of the same dozen learners, and the per-pair lookups were most of its time."""
    n = len(ids)
    node = [scorer.node[x] for x in ids]
    pref = [scorer.pref[x] for x in ids]
    aff_of = [[scorer.affinity(ids[i], ids[j]) if i != j else 0.0 for i in range(n)]
              for j in range(n)]
    past_of = [[1 if i != j and ids[i] in scorer.past.get(ids[j], ()) else 0
                for i in range(n)] for j in range(n)]
    any_past = any(map(any, past_of))
    total = scorer.total

    def grow(prefix: tuple[int, ...], where: tuple[int, ...], prefs: tuple[int, ...],
             state: Partial | None, k: int, nodes: float, aff: float, past: int
             ) -> Iterator[tuple[tuple[int, ...], float]]:
        for j in range(k, n):
            x = ids[j]
            now = scorer.extend(state, prefix, x)
            if now is None:
                continue
            g = (*prefix, x)
            at = (*where, j)
            mine = prefs + (pref[j],)
            aff_g = aff + sum(map(aff_of[j].__getitem__, where))
            past_g = past + sum(map(past_of[j].__getitem__, where)) if any_past else 0
            nodes_g = nodes + node[j]
            if len(g) >= lo:
                v = total(g, now[2], nodes_g, aff_g, past_g, fit=True, fits=mine.count(len(g)))
                if v > 0:
                    yield g, v
            if len(g) < hi:
                yield from grow(g, at, mine, now, j + 1, nodes_g, aff_g, past_g)
    yield from grow((), (), (), None, 0, 0.0, 0.0, 0)


def exact(scorer: Scorer, ids: list[int], lo: int, hi: int,
          limit: int = GROUPS_MAX) -> Packing | None:
    """The best packing of ``ids`` into groups, or None if there are more than ``limit``
    feasible groups to pack."""
    pos = {x: i for i, x in enumerate(ids)}
    by_low: dict[int, list[tuple[int, float, tuple[int, ...]]]] = {}
    for count, (g, v) in enumerate(feasible(scorer, ids, lo, hi)):
        if count >= limit:
            return None
        mask = 0
        for x in g:
            mask |= 1 << pos[x]
        by_low.setdefault(pos[g[0]], []).append((mask, v, g))

    @cache
    def best(mask: int) -> tuple[float, tuple[tuple[int, ...], ...]]:
        if mask == 0:
            return 0.0, ()
        low = (mask & -mask).bit_length() - 1
        top = best(mask & ~(1 << low))  # the lowest learner stays out
        for gm, v, g in by_low.get(low, ()):
            if gm & mask == gm:
                rest = best(mask & ~gm)
                if v + rest[0] > top[0]:
                    top = (v + rest[0], (g, *rest[1]))
        return top

    _, groups = best((1 << len(ids)) - 1)
    best.cache_clear()
    return [(g, scorer.score(g, fit=True) or 0.0) for g in groups]
