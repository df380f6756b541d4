"""The match score: one formula for pairs, trios, groups and supporter assignments.

With ``w = settings.weights`` and ``H`` the weekly hours *everyone* in the match shares
(UTC, over the coming week, DST-true, merged per learner then counted in whole quarter
hours: core/matching/slots.py)::

    pair(i, j)  = w.base
                + w.overlap_per_hour * min(H, w.overlap_cap_hours)
                + w.same_cohort                       if same cohort
                + max(w.same_country if same country,
                      w.near_offset_per_hour * (3 - |UTC offset difference in hours|), 0)
                + w.same_setup                        if both prefer the same setup (not "any";
                                                      a setup is a hard rule only as "only-...")
                + w.support_kind                      supporter <-> learner: kind offered = needed
                + w.same_style                        supporter <-> learner share a learning
                                                      style (core/matching/styles.py)
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
import numpy.typing as npt

from core.matching.features import F32, I64, Pool
from core.matching.slots import SLOT_MINUTES
from core.matching.styles import style_matrix, style_term

NEG = np.float32(-np.inf)


SLOT_HOURS = SLOT_MINUTES / 60


def min_slots(pool: Pool) -> int:
    """The hard minimum overlap in quarter-hour slots."""
    return max(0, ceil(pool.settings.min_overlap_hours / SLOT_HOURS - 1e-9))


def shared_session(pool: Pool, a: I64, b: I64) -> npt.NDArray[np.bool_]:
    """For index arrays: the pair's common time holds one whole session (a hard rule)."""
    words = pool.run_words
    any_run = np.zeros(len(a), dtype=bool)
    for k in range(words.shape[1]):
        any_run |= (words[a, k] & words[b, k]) != 0
    return any_run


def pair_matrix(pool: Pool, rows: I64, cols: I64, a: F32, b: F32, *, kinds: bool = False) -> F32:
    """Pair terms for rows x cols without base and node terms: ``-inf`` where a hard
    constraint (language, setup, overlap, a whole session in common) fails. ``a``/``b`` are
    the rows' and columns' slot rows as float32 so the overlap is one BLAS product."""
    w = pool.w
    ov = a @ b.T  # shared quarter-hour slots
    session = pool.runs[rows].astype(np.float32) @ pool.runs[cols].astype(np.float32).T
    s = pool.compat_table[pool.compat[rows][:, None], pool.compat[cols][None, :]]
    s += pool.geo_table[pool.geo[rows][:, None], pool.geo[cols][None, :]]
    s += np.float32(w.same_cohort) * (pool.cohort[rows][:, None] == pool.cohort[cols][None, :])
    if kinds:
        s += np.float32(w.support_kind) * (pool.kind[rows][:, None] == pool.kind[cols][None, :])
        if pool.styles is not None:
            s += style_matrix(pool.styles, w.same_style, rows, cols)
    s += np.float32(w.overlap_per_hour) * np.minimum(
        ov * np.float32(SLOT_HOURS), np.float32(w.overlap_cap_hours)
    )
    s[(ov < min_slots(pool) - 0.5) | (session < 0.5)] = NEG
    return s


def pair_scores(
    pool: Pool, a: I64, b: I64, *, kinds: bool = False
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    """Exact pair scores (without past partners) for index arrays, and whether each pair
    meets the hard constraints (language, setup, overlap, a whole session in common).
    Vectorised: no Python per pair."""
    w = pool.w
    words = pool.words
    ov = np.zeros(len(a), dtype=np.int64)
    for k in range(words.shape[1]):  # word by word: no (edges x 6) temporaries
        ov += np.bitwise_count(words[a, k] & words[b, k])
    compat = pool.compat_table[pool.compat[a], pool.compat[b]].astype(np.float64)
    ok = (ov >= min_slots(pool)) & np.isfinite(compat)
    ok[ok] = shared_session(pool, a[ok], b[ok])
    s = np.minimum(ov * SLOT_HOURS, w.overlap_cap_hours) * w.overlap_per_hour + w.base
    s += np.where(ok, compat, 0.0)
    s += pool.geo_table[pool.geo[a], pool.geo[b]]
    s += w.same_cohort * (pool.cohort[a] == pool.cohort[b])
    if kinds:
        s += w.support_kind * (pool.kind[a] == pool.kind[b])
        if pool.styles is not None:
            s += style_term(pool.styles, w.same_style, a, b)
    s += pool.node[a]
    s += pool.node[b]
    return s, ok


class Scorer:
    """Scalar scores and feasibility for a few members at a time (groups, trios, reasons).

    Everything is copied into plain Python lists and ints up front: these methods run
    millions of times in the group search, where numpy scalar access would dominate.
    """

    def __init__(self, pool: Pool, blocked: set[frozenset[int]], past: set[frozenset[int]]):
        self.pool = pool
        self.need = min_slots(pool)
        w = pool.w
        self.w = w
        self.code: list[int] = pool.compat.tolist()
        self.geo: list[int] = pool.geo.tolist()
        self.cohort: list[int] = pool.cohort.tolist()
        self.kind: list[int] = pool.kind.tolist()
        self.styles: list[int] = (pool.styles.tolist() if pool.styles is not None
                                  else [0] * len(pool.cands))
        self.node: list[float] = pool.node.astype(float).tolist()
        self.offset: list[float] = pool.offset.astype(float).tolist()
        self.ctab: list[list[float]] = pool.compat_table.astype(float).tolist()
        self.gtab: list[list[float]] = pool.geo_table.astype(float).tolist()
        self.langs = pool.lang_sets
        self.sbits = pool.setup_bits
        default = pool.settings.group_default
        self.pref = [c.group_size or default for c in pool.cands]
        self.bits = _as_ints(pool.slots)
        self.runs = _as_ints(pool.runs)
        where = {c.learner_id: i for i, c in enumerate(pool.cands)}
        self.blocked = _index_pairs(blocked, where)
        self.past = _index_pairs(past, where)
        self._cache: dict[tuple[tuple[int, ...], bool, bool], float | None] = {}

    def affinity(self, i: int, j: int, *, kinds: bool = False) -> float:
        """Pair terms other than overlap, base and node: setup, geography, cohort, kind."""
        s = self.ctab[self.code[i]][self.code[j]] + self.gtab[self.geo[i]][self.geo[j]]
        if self.cohort[i] == self.cohort[j]:
            s += self.w.same_cohort
        if kinds and self.kind[i] == self.kind[j]:
            s += self.w.support_kind
        if kinds and self.styles[i] & self.styles[j]:
            s += self.w.same_style
        return s

    def common_bits(self, members: Sequence[int]) -> int:
        bits = -1
        for m in members:
            bits &= self.bits[m]
        return bits

    def feasible(self, members: Sequence[int]) -> bool:
        """Hard constraints of a whole match: one common language, compatible setups,
        enough common time holding a whole session, nobody blocked. (Mode and topic are
        fixed by the block.)"""
        code = self.code
        first = code[members[0]]
        langs = self.langs[first]
        setup = 15
        bits = runs = -1
        for m in members:
            c = code[m]
            if c != first:
                langs = langs & self.langs[c]
            setup &= self.sbits[c]
            bits &= self.bits[m]
            runs &= self.runs[m]
        if not langs or not setup or not runs or bits.bit_count() < self.need:
            return False
        if self.blocked:
            for k, a in enumerate(members):
                mine = self.blocked.get(a)
                if mine and any(b in mine for b in members[k + 1:]):
                    return False
        return True

    def extend(self, state: Partial | None, prefix: Sequence[int], m: int) -> Partial | None:
        """``feasible`` one member at a time: the state of ``prefix + [m]`` from the state
        of ``prefix`` (None: empty), or None when the larger group breaks a hard rule.
        Group enumeration (groupexact.py) grows millions of groups this way."""
        c = self.code[m]
        if state is None:
            langs, setup, bits, runs = self.langs[c], self.sbits[c], self.bits[m], self.runs[m]
        else:
            langs, setup = state[0] & self.langs[c], state[1] & self.sbits[c]
            bits, runs = state[2] & self.bits[m], state[3] & self.runs[m]
        if not langs or not setup or not runs or bits.bit_count() < self.need:
            return None
        mine = self.blocked.get(m) if self.blocked else None
        if mine and any(b in mine for b in prefix):
            return None
        return langs, setup, bits, runs

    def value(self, members: tuple[int, ...], *, fit: bool = False) -> float:
        """``score`` of sorted members already known to be feasible (``extend``)."""
        key = (members, False, fit)
        val = self._cache.get(key)
        if val is None:
            val = self._value(members, kinds=False, fit=fit)
            self._cache[key] = val
        return val

    def score(
        self, members: Sequence[int], *, kinds: bool = False, fit: bool = False
    ) -> float | None:
        """The score of a match (formula above), or None when it breaks a hard constraint."""
        key = (tuple(sorted(members)), kinds, fit)
        if key in self._cache:
            return self._cache[key]
        val: float | None = None
        if self.feasible(key[0]):
            val = self._value(key[0], kinds=kinds, fit=fit)
        self._cache[key] = val
        return val

    def _value(self, m: tuple[int, ...], *, kinds: bool, fit: bool) -> float:
        aff = 0.0
        past = 0
        for k, a in enumerate(m):
            mine = self.past.get(a)
            for b in m[k + 1:]:
                aff += self.affinity(a, b, kinds=kinds)
                if mine and b in mine:
                    past += 1
        return self.total(m, self.common_bits(m), sum(self.node[i] for i in m), aff, past,
                          fit=fit)

    def total(self, m: Sequence[int], bits: int, node: float, aff: float, past: int, *,
              fit: bool, fits: int | None = None) -> float:
        """The formula above from a match's parts: its common slots ``bits``, the sum of its
        node terms, of its pair affinities and its number of past pairs (groupexact.py
        sums these one member at a time)."""
        w = self.w
        n = len(m)
        hours = bits.bit_count() * SLOT_HOURS
        total = n * w.base / 2 + node
        total += n / 2 * w.overlap_per_hour * min(hours, w.overlap_cap_hours)
        total += aff / (n - 1) + past * w.past_partner
        if fit:  # ``fits``: how many members asked for this size, when the caller knows
            total += w.group_size_fit * (sum(1 for i in m if self.pref[i] == n)
                                         if fits is None else fits)
        return total


Partial = tuple[frozenset[str], int, int, int]  # common languages, setups, slots, sessions


def _as_ints(rows: npt.NDArray[np.uint8]) -> list[int]:
    """Each 0/1 row as one Python int (bit s = column s): fast ANDs and popcounts."""
    packed = np.packbits(rows, axis=1, bitorder="little")
    return [int.from_bytes(row.tobytes(), "little") for row in packed]


def _index_pairs(pairs: set[frozenset[int]], where: dict[int, int]) -> dict[int, set[int]]:
    """Learner-id pairs as index -> {indices}, both directions, for pairs inside the pool."""
    out: dict[int, set[int]] = {}
    for pair in pairs:
        ids = [where.get(x) for x in pair]
        if len(ids) == 2 and ids[0] is not None and ids[1] is not None:
            out.setdefault(ids[0], set()).add(ids[1])
            out.setdefault(ids[1], set()).add(ids[0])
    return out
