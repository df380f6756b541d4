"""Supporters <-> learners who need support: a maximum-weight assignment with capacities.

A supporter with ``c`` free seats is ``c`` identical columns, so no supporter can ever get
more learners than seats. Small blocks use scipy's dense ``linear_sum_assignment``; big
ones keep each learner's best supporters and solve the sparse assignment (LAPJVsp), with a
private zero-value "no supporter" column per learner so that a full matching always exists.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import min_weight_full_bipartite_matching

from core.matching.candidates import top_k_edges
from core.matching.features import F32, I64, Pool
from core.matching.score import pair_matrix
from core.model import Mode

DENSE_CELLS = 3_000_000  # learners x seats solved densely
SPARSE_K = 24  # supporters kept per learner in big blocks


def sides(pool: Pool, members: I64) -> tuple[I64, I64, I64]:
    """(learners needing support, supporters with a free seat, their seat counts)."""
    cap_max = pool.settings.max_supporter_capacity
    need = np.array([i for i in members.tolist() if pool.cands[i].mode is Mode.NEED_SUPPORT], np.int64)
    sup_l = [i for i in members.tolist()
             if pool.cands[i].mode is Mode.OFFER_SUPPORT and pool.cands[i].capacity > 0]
    sup = np.array(sup_l, np.int64)
    seats = np.array([min(pool.cands[i].capacity, cap_max) for i in sup_l], np.int64)
    return need, sup, seats


def assign(pool: Pool, members: I64, adjust: dict[tuple[int, int], float],
           seed: int) -> list[tuple[int, int, float]]:
    """(supporter, learner, score) assignments of one block, never over capacity."""
    need, sup, seats = sides(pool, members)
    if len(need) == 0 or len(sup) == 0 or seats.sum() == 0:
        return []
    need = need[np.random.default_rng(seed).permutation(len(need))]  # seeded tie-breaks
    if len(need) * int(seats.sum()) <= DENSE_CELLS:
        return _dense(pool, need, sup, seats, adjust)
    return _sparse(pool, need, sup, seats, adjust)


def support_scores(pool: Pool, need: I64, sup: I64, adjust: dict[tuple[int, int], float]) -> F32:
    a = pool.slots[need].astype(np.float32)
    b = pool.slots[sup].astype(np.float32)
    s = pair_matrix(pool, need, sup, a, b, kinds=True)
    s += pool.node[need][:, None] + pool.node[sup][None, :] + np.float32(pool.w.base)
    if adjust:
        row = {int(g): r for r, g in enumerate(need)}
        col = {int(g): c for c, g in enumerate(sup)}
        for (i, j), v in adjust.items():
            if i in row and j in col:
                s[row[i], col[j]] += np.float32(v)
    return s


def _dense(pool: Pool, need: I64, sup: I64, seats: I64,
           adjust: dict[tuple[int, int], float]) -> list[tuple[int, int, float]]:
    s = support_scores(pool, need, sup, adjust)
    cols = np.repeat(np.arange(len(sup)), seats)
    m = np.where(np.isfinite(s), np.maximum(s, 0), 0)[:, cols]
    r, c = linear_sum_assignment(m, maximize=True)
    out = []
    for i, j in zip(r.tolist(), c.tolist(), strict=True):
        v = float(s[i, cols[j]])
        if np.isfinite(v) and v > 0:
            out.append((int(sup[cols[j]]), int(need[i]), v))
    return out


def _sparse(pool: Pool, need: I64, sup: I64, seats: I64,
            adjust: dict[tuple[int, int], float]) -> list[tuple[int, int, float]]:
    e = top_k_edges(pool, need, sup, SPARSE_K, adjust, kinds=True)
    col_of = {int(g): c for c, g in enumerate(sup)}
    row_of = {int(g): r for r, g in enumerate(need)}
    first = np.concatenate([[0], np.cumsum(seats)[:-1]])
    n_seats = int(seats.sum())
    rows, cols, vals = [], [], []
    value: dict[tuple[int, int], float] = {}
    top = float(e.w.max()) + 1.0 if len(e) else 1.0
    for a, b, w in zip(e.a.tolist(), e.b.tolist(), e.w.tolist(), strict=True):
        r, c = row_of[a], col_of[b]
        value[(r, c)] = w
        for s in range(int(seats[c])):
            rows.append(r)
            cols.append(int(first[c]) + s)
            vals.append(top - w)  # min-cost form; > 0 so scipy keeps the entry
    for r in range(len(need)):  # the way out: no supporter, value 0
        rows.append(r)
        cols.append(n_seats + r)
        vals.append(top)
    g = csr_matrix((vals, (rows, cols)), shape=(len(need), n_seats + len(need)))
    rr, cc = min_weight_full_bipartite_matching(g)
    owner = np.repeat(np.arange(len(sup)), seats)
    out = []
    for r, c in zip(rr.tolist(), cc.tolist(), strict=True):
        if c < n_seats:
            out.append((int(sup[owner[c]]), int(need[r]), value[(r, int(owner[c]))]))
    return out
