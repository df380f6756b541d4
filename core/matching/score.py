"""The match score: one formula for pairs, trios, groups and supporter assignments.

With ``w = settings.weights`` and ``H`` the weekly hours *everyone* in the match shares
(UTC, over the coming week, DST-aware, half-hour slots)::

    pair(i, j)  = w.base
                + w.overlap_per_hour * min(H, w.overlap_cap_hours)
                + w.same_cohort                       if same cohort
                + max(w.same_country if same country,
                      w.near_offset_per_hour * (3 - |UTC offset difference in hours|), 0)
                + w.same_setup                        if both prefer the same setup (not "any")
                + w.support_kind                      supporter <-> learner: kind offered = needed
                + node(i) + node(j)
                + w.past_partner                      if they were matched before (negative)
    node(i)     = w.wait_per_week * min(weeks waited, w.wait_cap_weeks)
                + w.rating * (average rating received - 3)      when rated

A group S (|S| >= 3) reduces to the pair formula at |S| = 2: every member brings half the
base, their node term, half the capped common overlap and half their *average* affinity
with the others, plus ``w.group_size_fit`` if the group has the size they asked for::

    group(S) = sum_i (w.base / 2 + node(i)) + |S| / 2 * w.overlap_per_hour * min(H, cap)
             + sum_{i<j} affinity(i, j) / (|S| - 1) + sum_{i<j} past(i, j) + fit

Because every match carries ``w.base`` (per two people), the solver prefers matching two
more learners to giving two others an extra hour together; the wait term makes long
waiters win ties and then some.
"""

from __future__ import annotations

from collections.abc import Sequence
from math import ceil

import numpy as np

from core.matching.features import F32, I64, Pool

NEG = np.float32(-np.inf)


def min_slots(pool: Pool) -> int:
    """The hard minimum overlap in half-hour slots."""
    return max(0, ceil(pool.settings.min_overlap_hours * 2 - 1e-9))


def pair_matrix(pool: Pool, rows: I64, cols: I64, a: F32, b: F32, *, kinds: bool = False) -> F32:
    """Pair terms for rows x cols without base and node terms: ``-inf`` where a hard
    constraint (language, setup, overlap) fails. ``a``/``b`` are the rows' and columns'
    slot rows as float32 so the overlap is one BLAS product."""
    w = pool.w
    ov = a @ b.T  # shared half-hour slots
    s = pool.compat_table[pool.compat[rows][:, None], pool.compat[cols][None, :]]
    s += pool.geo_table[pool.geo[rows][:, None], pool.geo[cols][None, :]]
    s += np.float32(w.same_cohort) * (pool.cohort[rows][:, None] == pool.cohort[cols][None, :])
    if kinds:
        s += np.float32(w.support_kind) * (pool.kind[rows][:, None] == pool.kind[cols][None, :])
    s += np.float32(w.overlap_per_hour) * np.minimum(ov * np.float32(0.5), np.float32(w.overlap_cap_hours))
    s[ov < min_slots(pool) - 0.5] = NEG
    return s


class Scorer:
    """Scalar scores and feasibility for a few members at a time (groups, trios, checks)."""

    def __init__(self, pool: Pool, blocked: set[frozenset[int]], past: set[frozenset[int]]):
        self.pool = pool
        self.blocked = blocked
        self.past = past
        self.need = min_slots(pool)
        self._cache: dict[tuple[int, ...], float | None] = {}

    def ids(self, i: int, j: int) -> frozenset[int]:
        c = self.pool.cands
        return frozenset((c[i].learner_id, c[j].learner_id))

    def affinity(self, i: int, j: int, *, kinds: bool = False) -> float:
        """Pair terms other than overlap, base and node: setup, geography, cohort, kind."""
        p, w = self.pool, self.pool.w
        s = float(p.compat_table[p.compat[i], p.compat[j]]) + float(p.geo_table[p.geo[i], p.geo[j]])
        s += w.same_cohort if p.cohort[i] == p.cohort[j] else 0.0
        if kinds and p.kind[i] == p.kind[j]:
            s += w.support_kind
        return s

    def past_term(self, i: int, j: int) -> float:
        return self.pool.w.past_partner if self.ids(i, j) in self.past else 0.0

    def common_bits(self, members: Sequence[int]) -> int:
        bits = -1
        for m in members:
            bits &= self.pool.bits(m)
        return bits

    def feasible(self, members: Sequence[int]) -> bool:
        """Hard constraints of a whole match: one common language, compatible setups,
        enough common time, nobody blocked. (Mode and topic are fixed by the block.)"""
        p = self.pool
        langs = p.lang_sets[int(p.compat[members[0]])]
        setup = 15
        for m in members:
            langs = langs & p.lang_sets[int(p.compat[m])]
            setup &= p.setup_bits[int(p.compat[m])]
        if not langs or not setup:
            return False
        if self.common_bits(members).bit_count() < self.need:
            return False
        return not any(self.ids(a, b) in self.blocked
                       for k, a in enumerate(members) for b in members[k + 1:])

    def score(self, members: Sequence[int], *, kinds: bool = False, fit: bool = False) -> float | None:
        """The score of a match (formula above), or None when it breaks a hard constraint."""
        key = tuple(sorted(members))
        if key in self._cache:
            return self._cache[key]
        val: float | None = None
        if self.feasible(key):
            val = self._value(key, kinds=kinds, fit=fit)
        self._cache[key] = val
        return val

    def _value(self, m: tuple[int, ...], *, kinds: bool, fit: bool) -> float:
        p, w = self.pool, self.pool.w
        n = len(m)
        hours = self.common_bits(m).bit_count() / 2
        total = n * w.base / 2 + sum(float(p.node[i]) for i in m)
        total += n / 2 * w.overlap_per_hour * min(hours, w.overlap_cap_hours)
        aff = past = 0.0
        for k, a in enumerate(m):
            for b in m[k + 1:]:
                aff += self.affinity(a, b, kinds=kinds)
                past += self.past_term(a, b)
        total += aff / (n - 1) + past
        if fit:
            default = p.settings.group_default
            total += w.group_size_fit * sum(
                1 for i in m if (p.cands[i].group_size or default) == n)
        return total
