"""The candidate kernel: score a chunk of rows against many columns and keep the top k.

Speed comes from doing almost everything in one matrix product (BLAS, both cores):
every learner becomes a feature row, left side ``[c * halves | geo bonus row | cohort
one-hot * w | kind one-hot * w]`` and right side ``[halves | geo one-hot | cohort one-hot |
kind one-hot]`` (halves: free quarter hours per half hour), so ``left @ right.T`` is
``c * ~shared hours + geography + cohort (+ kind)`` for the whole chunk at once. The
overlap cap, the hard minimum and the whole-session rule are left to the exact re-scoring
of the few kept pairs (``score.pair_scores``): the ranking key is an uncapped estimate;
what is stored is exact.

The top k per row avoids a full ``argpartition`` (slow on rows with many equal values):
columns are padded to ``width * G`` and viewed as width x G; the maxima of the G strided
groups (a fast, contiguous reduction) pick the k best groups, which must contain the k best
entries; only those width * k entries are ranked.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from core.matching.features import F32, I64, Pool

W = 32
TIE_DIMS = 8  # dimensions of the tie-breaking term (see Encoder)
TIE = np.float32(0.01)  # its largest size in score units: below any real difference
BIG = np.float32(1e4)  # "impossible": far below any real key
CHUNK_CELLS = 1 << 20


class Encoder:
    """Block-local one-hot encodings, so the feature width stays small.

    Both sides also carry ``TIE_DIMS`` columns of a seeded random unit vector per learner,
    so ``left @ right.T`` adds a tie-breaker smaller than ``TIE`` that differs from row to
    row: on a queue of near-identical learners whole blocks tie, and without it every row
    would keep the same first k columns (the lowest positions), making a few hundred hubs
    that everyone lists and a graph with room for far fewer pairs than the block (measured
    on bench/import.py's 100,000 queue: 1,555 pairs for 6,348 accountability learners).
    Neighbouring directions pick different columns, so the lists spread over the tie.
    """

    def __init__(self, pool: Pool, members: I64, *, kinds: bool, seed: int = 0):
        self.pool = pool
        self.kinds = kinds
        # drawn for the block's members only (sorted): a draw per pool learner cost seconds
        # over a realistic round's hundreds of kernel calls
        self._members = np.sort(members)
        rng = np.random.default_rng(seed)
        self._tie_left = _unit(rng.standard_normal((len(members), TIE_DIMS))) * TIE
        self._tie_right = _unit(rng.standard_normal((len(members), TIE_DIMS)))
        self.geo = np.unique(pool.geo[members])
        coh = pool.cohort[members]
        self.coh = np.unique(coh[coh >= 0])
        kind = pool.kind[members]
        self.kind = np.unique(kind[kind >= 0]) if kinds else np.empty(0, np.int64)
        self._time_cols, self._time_mult = _distinct_columns(_halves(pool, self._members))

    def _onehot(self, idx: I64, codes: I64, vocab: I64, value: float) -> F32:
        out = np.zeros((len(idx), len(vocab)), dtype=np.float32)
        if len(vocab):
            pos = np.minimum(np.searchsorted(vocab, codes), len(vocab) - 1)
            hit = vocab[pos] == codes
            out[np.flatnonzero(hit), pos[hit]] = value
        return out

    def halves(self, idx: I64) -> F32:
        """Quarter-hour slots summed per half hour (0, 1 or 2), one column per distinct
        half-hour column of the block (``idx`` must be members): the kernel's time features
        at half the width of the slots (the kept pairs are re-scored on the exact slots)."""
        return _halves(self.pool, idx)[:, self._time_cols].astype(np.float32)

    def left(self, idx: I64) -> F32:
        p, w = self.pool, self.pool.w
        # a half hour both have whole is 2 * 2 = 4 units: 1/8 h each; a kept column stands
        # for every identical one it replaced, so the left side counts it that many times
        unit = self._time_mult * np.float32(0.125 * w.overlap_per_hour)
        parts = [self.halves(idx) * unit[None, :],
                 p.geo_table[p.geo[idx]][:, self.geo],
                 self._onehot(idx, p.cohort[idx], self.coh, w.same_cohort)]
        if self.kinds:
            parts.append(self._onehot(idx, p.kind[idx], self.kind, w.support_kind))
        parts.append(self._tie_left[np.searchsorted(self._members, idx)])
        return np.ascontiguousarray(np.concatenate(parts, axis=1), dtype=np.float32)

    def right(self, idx: I64) -> F32:
        p = self.pool
        parts = [self.halves(idx),
                 self._onehot(idx, p.geo[idx], self.geo, 1.0),
                 self._onehot(idx, p.cohort[idx], self.coh, 1.0)]
        if self.kinds:
            parts.append(self._onehot(idx, p.kind[idx], self.kind, 1.0))
        parts.append(self._tie_right[np.searchsorted(self._members, idx)])
        return np.ascontiguousarray(np.concatenate(parts, axis=1), dtype=np.float32)


def _halves(pool: Pool, idx: I64) -> npt.NDArray[np.uint8]:
    s = pool.slots[idx]
    out: npt.NDArray[np.uint8] = s[:, 0::2] + s[:, 1::2]
    return out


def _distinct_columns(h: npt.NDArray[np.uint8]) -> tuple[I64, F32]:
    """The time columns worth a feature: of the columns not empty for the whole block, one
    per distinct column, with how many columns it stands for. ``sum_c l_c r_c`` over
    identical columns is that column's product times their number, so merging them leaves
    ``left @ right.T`` as it was while the product shrinks (a block whose learners chose
    from a few availability answers has a few dozen distinct half hours, not 336: the
    matrix product was most of a 100,000-learner round's pair phase)."""
    used = np.flatnonzero(h.any(axis=0))
    if not len(used):
        return used.astype(np.int64), np.zeros(0, dtype=np.float32)
    cols = np.ascontiguousarray(h[:, used].T)
    seen: dict[bytes, int] = {}  # a column's bytes -> its place in ``keep``
    keep: list[int] = []
    count: list[int] = []
    for j in range(len(used)):  # hashing each column: np.unique(axis=0) sorts them, slower
        at = seen.setdefault(cols[j].tobytes(), len(keep))
        if at == len(keep):
            keep.append(int(used[j]))
            count.append(0)
        count[at] += 1
    return np.array(keep, dtype=np.int64), np.array(count, dtype=np.float32)


def _unit(x: npt.NDArray[np.float64]) -> F32:
    out: F32 = (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)
    return out


def width_for(k: int) -> int:
    """Group width: the k best groups hold k * width entries to rank, keep that small."""
    return W if k <= 16 else 8


def padded(right: F32, width: int = W) -> tuple[F32, int]:
    """Columns padded with zeros to width * G rows; returns (right, G). The caller gives
    the padding an impossible bias."""
    n = len(right)
    g = max(1, -(-n // width))
    r = np.zeros((g * width, right.shape[1]), dtype=np.float32)
    r[:n] = right
    return r, g


def top_k(s: F32, k: int, groups: int) -> tuple[I64, I64, F32]:
    """(row, column, value) of each row's k largest entries above -BIG/2 (s has
    width*groups columns, viewed as width x groups)."""
    n = s.shape[0]
    width = s.shape[1] // groups
    gmax = s.reshape(n, width, groups).max(axis=1)
    kg = min(k, groups)
    if kg < groups:
        tg = np.argpartition(-gmax, kg - 1, axis=1)[:, :kg]
    else:
        tg = np.broadcast_to(np.arange(groups), (n, groups))
    cand = (np.arange(width)[None, :, None] * groups + tg[:, None, :]).reshape(n, -1)
    vals = np.take_along_axis(s, cand, axis=1)
    kk = min(k, cand.shape[1])
    if kk < cand.shape[1]:
        best = np.argpartition(-vals, kk - 1, axis=1)[:, :kk]
        cand = np.take_along_axis(cand, best, axis=1)
        vals = np.take_along_axis(vals, best, axis=1)
    keep = vals > -BIG / 2
    rows = np.broadcast_to(np.arange(n)[:, None], cand.shape)
    return rows[keep].astype(np.int64), cand[keep].astype(np.int64), vals[keep]


def score_chunks(left: F32, r: F32, b: F32, groups: int, k: int,
                 own: I64 | None = None) -> tuple[I64, I64, F32]:
    """Top-k (row, column, key) of ``left @ r.T + b`` for every row of ``left`` (``r``
    padded by ``padded``, ``b`` -BIG on the padding); ``own[i]`` is row i's own column
    (or -1): never its own candidate."""
    step = max(1, CHUNK_CELLS // len(r))
    out_r: list[I64] = []
    out_c: list[I64] = []
    out_v: list[F32] = []
    for r0 in range(0, len(left), step):
        mine = None if own is None else own[r0:r0 + step]
        ri, ci, vi = _chunk_top(left[r0:r0 + step], r, b, groups, k, mine)
        out_r.append(ri + r0)
        out_c.append(ci)
        out_v.append(vi)
    return np.concatenate(out_r), np.concatenate(out_c), np.concatenate(out_v)


def _chunk_top(chunk: F32, right: F32, bias: F32, groups: int, k: int,
               own: I64 | None) -> tuple[I64, I64, F32]:
    s = chunk @ right.T
    s += bias[None, :]
    if own is not None:
        has = np.flatnonzero(own >= 0)
        s[has, own[has]] = -BIG
    return top_k(s, k, groups)


def kth_best(left: F32, right: F32, extra: F32, q: int) -> npt.NDArray[np.float32]:
    """Each row's q-th largest of ``left @ right.T + extra`` (extra: rows x cols)."""
    s = left @ right.T + extra
    q = max(1, min(q, s.shape[1]))
    return np.sort(s, axis=1)[:, s.shape[1] - q]  # sort: partition crawls on equal values
