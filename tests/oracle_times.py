"""Bench judges for issue 12: hours together at the same number of pairs, and big study-group
blocks against a time-limited CP-SAT. Not used by rounds; OR-Tools is a development
dependency, imported lazily.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import numpy as np

from core.availability import week_start
from core.matching.candidates import Edges, make_blocks, pair_adjustments
from core.matching.features import Pool, build_pool
from core.matching.groupexact import feasible
from core.matching.score import SLOT_HOURS, Scorer, pair_matrix
from core.matching.types import Candidate, RoundPlan
from core.model import Mode
from tests.oracle import all_edges


def capped_hours(pool: Pool, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Each pair's shared hours (quarter-hour slots), capped at the useful maximum."""
    ov = np.zeros(len(a), dtype=np.int64)
    for k in range(pool.words.shape[1]):
        ov += np.bitwise_count(pool.words[a, k] & pool.words[b, k])
    return np.minimum(ov * SLOT_HOURS, pool.w.overlap_cap_hours)


def _engine_hours(plan: RoundPlan, pool: Pool) -> tuple[int, float]:
    """The engine's pairs on the pair blocks (a trio counts as one) and their capped hours."""
    index = {c.learner_id: i for i, c in enumerate(pool.cands)}
    pairs, hours = 0, 0.0
    for mp in plan.matches:
        if mp.kind not in (Mode.STUDY_BUDDY, Mode.ACCOUNTABILITY):
            continue
        idx = [index[lid] for lid, _ in mp.members]
        pairs += 1
        shared = float(pool.slots[idx].min(axis=0).sum()) * SLOT_HOURS
        hours += min(shared, pool.w.overlap_cap_hours)
    return pairs, hours


def _engine_block_pairs(plan: RoundPlan, pool: Pool,
                        block_of: np.ndarray) -> dict[int, list[tuple[int, int, float]]]:
    """The engine's pairs on the pair blocks by block id: (a, b, capped hours), pool
    indices. A trio counts as one pair: its best-overlap pair stands for it (a matching of
    the same size), its hours are what all three share (never more than that pair's)."""
    index = {c.learner_id: i for i, c in enumerate(pool.cands)}
    out: dict[int, list[tuple[int, int, float]]] = {}
    cap = pool.w.overlap_cap_hours
    for mp in plan.matches:
        if mp.kind not in (Mode.STUDY_BUDDY, Mode.ACCOUNTABILITY):
            continue
        idx = [index[lid] for lid, _ in mp.members]
        shared = min(float(pool.slots[idx].min(axis=0).sum()) * SLOT_HOURS, cap)
        two = [(x, y) for k, x in enumerate(idx) for y in idx[k + 1:]]
        x, y = max(two, key=lambda p: float(pool.slots[list(p)].min(axis=0).sum()))
        out.setdefault(int(block_of[x]), []).append((min(x, y), max(x, y), shared))
    return out


def _blossom_max_card(n: int, a: np.ndarray, b: np.ndarray, h: np.ndarray) -> tuple[int, float]:
    """Exact: the most pairs of the graph (local ids) and, among matchings with that many,
    the most hours (rustworkx blossom with ``max_cardinality=True``, integer quarter-hour
    weights so no float ties)."""
    import rustworkx as rx

    g = rx.PyGraph(multigraph=False)
    g.add_nodes_from(range(n))
    q = np.rint(h / SLOT_HOURS).astype(np.int64)
    g.add_edges_from(list(zip(a.tolist(), b.tolist(), q.tolist(), strict=True)))
    mate = rx.max_weight_matching(g, max_cardinality=True, weight_fn=int)
    pairs = np.array(sorted(mate), dtype=np.int64).reshape(-1, 2)
    if not len(pairs):
        return 0, 0.0
    key = {(int(x), int(y)): float(v) for x, y, v in zip(a.tolist(), b.tolist(), h.tolist(),
                                                          strict=True)}
    hours = sum(key.get((int(x), int(y)), key.get((int(y), int(x)), 0.0)) for x, y in pairs)
    return len(pairs), hours


def _top_per_node(n: int, a: np.ndarray, b: np.ndarray, v: np.ndarray, t: int) -> np.ndarray:
    """Indices of the edges that are among an endpoint's ``t`` largest ``v`` (either end)."""
    ends = np.r_[a, b]
    e = np.r_[np.arange(len(a)), np.arange(len(a))]
    order = np.lexsort((-np.r_[v, v], ends))
    ends, e = ends[order], e[order]
    first = np.searchsorted(ends, np.arange(n))
    rank = np.arange(len(ends)) - first[ends]
    return np.unique(e[rank < t])


def cardinality_bound(n: int, a: np.ndarray, b: np.ndarray, h: np.ndarray, k: int,
                      must: np.ndarray, *, rounds: int = 8, start: int = 24,
                      add: int = 12) -> tuple[float, bool]:
    """An upper bound on the most hours of any matching with exactly ``k`` pairs of the
    graph (local ids, every compatible edge in memory), and whether it is the LP optimum.

    LP duality with the number of pairs fixed: for y >= 0 and any lambda with y_i + y_j + lambda
    >= h_ij on every edge, each matching M of k pairs has ``hours(M) <= sum(y) + lambda * k``.
    (y, lambda): HiGHS's optimum of that dual on a working set of edges (each node's ``start``
    best by hours plus ``must``, a matching of k pairs that keeps the LP feasible; HiGHS's
    interior point, with crossover); then every edge is checked, and where one is not covered
    both its ends are raised by half of their worst shortfall (so every edge is covered: the
    bound is valid); the ``add`` most violated edges per node join the working set and the LP is
    solved again (row generation; every round's bound is valid, the smallest is kept). When no
    edge is violated the bound is the LP optimum over every edge. The fractional LP lacks the
    odd-set rows, so this is >= the exact optimum."""
    from scipy.optimize import linprog
    from scipy.sparse import csr_matrix

    work = np.union1d(_top_per_node(n, a, b, h, start), must)
    best = float("inf")
    for _ in range(rounds):
        wa, wb, wh = a[work], b[work], h[work]
        m = len(work)
        rows = np.r_[np.arange(m), np.arange(m), np.arange(m)]
        cols = np.r_[wa, wb, np.full(m, n)]
        lhs = csr_matrix((-np.ones(3 * m), (rows, cols)), shape=(m, n + 1))
        cost = np.r_[np.ones(n), float(k)]
        # the interior-point solver: ~4x faster than dual simplex on these degenerate LPs
        res = linprog(cost, A_ub=lhs, b_ub=-wh, bounds=[(0, None)] * n + [(None, None)],
                      method="highs-ipm")
        if res.status != 0:
            raise RuntimeError(f"LP failed: {res.message}")
        y, lam = np.asarray(res.x[:n], dtype=np.float64), float(res.x[n])
        slack = h - lam - y[a] - y[b]
        bad = slack > 1e-7
        if not bad.any():
            return min(best, float(res.fun)), True
        worst = np.zeros(n)
        np.maximum.at(worst, a[bad], slack[bad])
        np.maximum.at(worst, b[bad], slack[bad])
        best = min(best, float(y.sum() + worst.sum() / 2 + lam * k))
        viol = np.flatnonzero(bad)
        more = viol[_top_per_node(n, a[viol], b[viol], slack[viol], add)]
        work = np.union1d(work, more)
    return best, False


def hours_by_block(plan: RoundPlan, cands: list[Candidate], settings: Any, now: datetime,
                   blocked: set[frozenset[int]], *, exact_nodes: int = 3_000,
                   rounds: int = 8,
                   progress: Callable[[str], None] | None = None) -> dict[str, float]:
    """The engine's capped hours together on the pair blocks against the best possible with
    the same number of pairs in each block, computed block by block.

    Blocks (mode class, topic key, language/setup component: ``make_blocks``) share no
    compatible pair, so matchings in different blocks are independent and the best with
    the engine's pairs in every block is the sum of each block's best with its pairs. In a
    block of at most ``exact_nodes`` learners where the engine has the most pairs possible
    (checked with an exact maximum-cardinality blossom on every compatible edge), that is
    the exact maximum-hours matching among maximum-cardinality ones. Elsewhere (bigger
    blocks, or fewer engine pairs than possible) it is ``cardinality_bound``: an LP bound
    with the number of pairs fixed at the engine's, over every compatible edge of the block.
    When the engine has the most pairs in every block, the per-block sum is also the best
    over the whole community at its total number of pairs. ``progress`` hears a line per
    bounded block (they take minutes at 100,000)."""
    pool = build_pool(sorted(cands, key=lambda c: c.learner_id), settings, week_start(now), now)
    adjust = pair_adjustments(pool, blocked, float("-inf"))
    blocks = [bl for bl in make_blocks(pool)
              if bl.mode_class in ("pair", "accountability") and len(bl.members) >= 2]
    block_of = np.full(len(pool.cands), -1, dtype=np.int64)
    for i, bl in enumerate(blocks):
        block_of[bl.members] = i
    engine = _engine_block_pairs(plan, pool, block_of)
    out = {"eng_pairs": 0.0, "eng_hours": 0.0, "best_hours": 0.0, "exact_blocks": 0.0,
           "bounded_blocks": 0.0, "exact_pairs": 0.0, "short_blocks": 0.0,
           "lp_optimal_blocks": 0.0}
    for i, bl in enumerate(blocks):
        mine = engine.get(i, [])
        k, hours = len(mine), sum(v for _, _, v in mine)
        out["eng_pairs"] += k
        out["eng_hours"] += hours
        if not k:
            continue  # nothing to compare (the judge counts the engine's pairs only)
        m = bl.members
        e = all_edges(pool, m, adjust)
        a, b = np.searchsorted(m, e.a), np.searchsorted(m, e.b)
        ma = np.searchsorted(m, [x for x, _, _ in mine])
        mb = np.searchsorted(m, [y for _, y, _ in mine])
        key = np.unique(np.r_[a * len(m) + b, ma * len(m) + mb])  # the engine's pairs too
        a, b = key // len(m), key % len(m)
        h = capped_hours(pool, m[a], m[b]).astype(np.float64)
        if len(m) <= exact_nodes:
            most, best = _blossom_max_card(len(m), a, b, h)
            if most == k:
                out["best_hours"] += best
                out["exact_blocks"] += 1
                out["exact_pairs"] += k
                continue
            out["short_blocks"] += 1  # the engine has fewer pairs than possible here
        must = np.searchsorted(key, ma * len(m) + mb)
        bound, lp_opt = cardinality_bound(len(m), a, b, h, k, must, rounds=rounds)
        out["best_hours"] += bound
        out["bounded_blocks"] += 1
        out["lp_optimal_blocks"] += lp_opt
        if progress:
            progress(f"{bl.mode_class}/{bl.topic_key}: {len(m)} learners, {len(a)} edges, "
                     f"engine {k} pairs {hours:.1f} h, bound {bound:.1f} h "
                     f"({'LP optimum' if lp_opt else 'row generation stopped'})")
    out["pct_hours"] = 100 * out["eng_hours"] / out["best_hours"] if out["best_hours"] else 100.0
    out["exact_share"] = out["exact_pairs"] / out["eng_pairs"] if out["eng_pairs"] else 1.0
    return out


def _lp_duals(n: int, a: np.ndarray, b: np.ndarray, h: np.ndarray) -> np.ndarray:
    """Optimal y of ``min sum y  s.t. y_a + y_b >= h, y >= 0`` (the dual of the fractional
    matching LP) on the given edges (local ids), by HiGHS."""
    from scipy.optimize import linprog
    from scipy.sparse import csr_matrix

    if not len(a):
        return np.zeros(n)
    rows = np.r_[np.arange(len(a)), np.arange(len(a))]
    lhs = csr_matrix((-np.ones(2 * len(a)), (rows, np.r_[a, b])), shape=(len(a), n))
    res = linprog(np.ones(n), A_ub=lhs, b_ub=-h, bounds=(0, None), method="highs")
    return np.asarray(res.x, dtype=np.float64)


def _feasible_duals(pool: Pool, m: np.ndarray, blocked_local: set[tuple[int, int]],
                    y: np.ndarray, extra: int = 4) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``y`` raised where an edge of the *whole* block (every compatible pair, no pruning)
    is not covered: y_i + max(0, max_j h_ij - y_j - y_i). Raising only ever helps the
    other constraints, so the result is feasible for the full block. Also returns each
    row's ``extra`` most violated pairs (local ids a, b) for the next LP."""
    out = y.copy()
    slots = pool.slots[m].astype(np.float32)
    step = max(1, 2_000_000 // len(m))
    cap = np.float32(pool.w.overlap_cap_hours)
    yf = y.astype(np.float32)
    va: list[np.ndarray] = []
    vb: list[np.ndarray] = []
    for r0 in range(0, len(m), step):
        r = m[r0:r0 + step]
        ok = np.isfinite(pair_matrix(pool, r, m, slots[r0:r0 + step], slots))
        ok[np.arange(len(r)), np.arange(r0, r0 + len(r))] = False  # nobody pairs with self
        for i, j in blocked_local:
            if r0 <= i < r0 + len(r):
                ok[i - r0, j] = False
        h = np.minimum(slots[r0:r0 + step] @ slots.T * np.float32(SLOT_HOURS), cap)
        slack = np.where(ok, h - yf[None, :] - yf[r0:r0 + len(r), None], -np.inf)
        out[r0:r0 + len(r)] = y[r0:r0 + len(r)] + np.maximum(slack.max(axis=1), 0)
        kk = min(extra, slack.shape[1])
        top = np.argpartition(-slack, kk - 1, axis=1)[:, :kk]
        bad = np.take_along_axis(slack, top, axis=1) > 1e-3
        rows = np.broadcast_to(np.arange(r0, r0 + len(r))[:, None], top.shape)
        va.append(rows[bad])
        vb.append(top[bad])
    return out, np.concatenate(va), np.concatenate(vb)


def hours_bound(plan: RoundPlan, cands: list[Candidate], settings: Any, now: datetime,
                blocked: set[frozenset[int]], seed: int = 1,
                rounds: int = 3) -> dict[str, float]:
    """The engine's capped hours together on the pair blocks against an *upper bound* on
    the most capped hours of any matching (so also of any with the engine's number of
    pairs). Scales to 100,000 learners: no blossom, no stored list of every edge.

    By LP duality every matching M has ``hours(M) <= sum_i y_i`` for any y >= 0 with
    y_i + y_j >= h_ij on every compatible pair. y: the optimal duals of the fractional
    matching LP on the engine's candidate graph (HiGHS), raised by one scan over every
    pair of the block until feasible; the scan's most violated pairs join the LP and it is
    solved again, up to ``rounds`` times (column generation; every round's bound is valid,
    the smallest is kept). It does not fix the number of pairs: matchings with fewer pairs
    can hold more capped hours. On the 1,000-learner bench queue: bound 838.0 h, best
    matching of any size 833.5 h (the LP's integrality gap is small), best with the most
    pairs 804.5 h (exact, ``hours_by_block``); the engine 790.5 h. At 10,000 one
    round gave 11,854.5 h, three 11,672.5 h (exact at the same pairs: 11,525 h); at 100,000
    one round 209,560.5 h, two 163,409.75 h (the engine 136,536.5 h): still loose there.
    """
    from core.matching.engine import K_PAIRS
    from core.matching.pairgraph import pair_candidates

    pool = build_pool(sorted(cands, key=lambda c: c.learner_id), settings, week_start(now), now)
    adjust = pair_adjustments(pool, blocked, float("-inf"))
    pairs, eng_hours = _engine_hours(plan, pool)
    bound = 0.0
    for block in make_blocks(pool):
        m = block.members
        if block.mode_class not in ("pair", "accountability") or len(m) < 2:
            continue
        e = pair_candidates(pool, m, K_PAIRS, adjust, seed)
        a, b = np.searchsorted(m, e.a), np.searchsorted(m, e.b)
        local = {int(x): k for k, x in enumerate(m.tolist())}
        cut = {(local[i], local[j]) for i in m.tolist() for j, v in adjust.get(i)
               if j in local and v == float("-inf")}
        best = float("inf")
        for _ in range(rounds):  # column generation: each round's bound is valid
            lo, hi = np.minimum(a, b), np.maximum(a, b)
            key = np.unique(lo * len(m) + hi)
            a, b = key // len(m), key % len(m)
            y = _lp_duals(len(m), a, b, capped_hours(pool, m[a], m[b]).astype(np.float64))
            fixed, va, vb = _feasible_duals(pool, m, cut, y)
            best = min(best, float(fixed.sum()))
            if not len(va):
                break  # the LP's duals cover every pair: the LP bound itself
            a, b = np.concatenate([a, va]), np.concatenate([b, vb])
        bound += best
    return {"eng_pairs": float(pairs), "eng_hours": eng_hours, "bound_hours": bound,
            "pct_bound": 100 * eng_hours / bound if bound else 100.0}


def group_columns(scorer: Scorer, edges: Edges, n: int, lo: int, hi: int,
                  k: int) -> list[tuple[tuple[int, ...], float]]:
    """Feasible groups whose members are all among the lowest member's ``k`` best
    neighbours (by pair score), with the engine's group score."""
    near: dict[int, list[tuple[float, int]]] = {}
    for a, b, w in zip(edges.a.tolist(), edges.b.tolist(), edges.w.tolist(), strict=True):
        near.setdefault(a, []).append((w, b))
        near.setdefault(b, []).append((w, a))
    seen: dict[tuple[int, ...], float] = {}
    for i in range(n):
        best = sorted(near.get(i, []), reverse=True)[:k]
        ids = sorted({i, *(j for _, j in best)})
        for g, v in feasible(scorer, ids, lo, hi):
            if i in g:
                seen.setdefault(g, v)
    return sorted(seen.items())


def big_groups_vs_cpsat(cands: list[Candidate], settings: Any, now: datetime, seed: int, *,
                        seconds: float, k: int = 8) -> dict[str, float]:
    """One study-group block: the engine's total group score against CP-SAT set packing
    over ``group_columns`` plus the engine's own groups (so CP-SAT can only do better;
    time-limited; its proven bound holds for those columns)."""
    from ortools.sat.python import cp_model

    from core.matching.engine import plan_round
    from tests.oracle import all_edges as every_edge

    plan = plan_round(cands, settings=settings, now=now, seed=seed)
    engine = sum(m.score for m in plan.matches)
    engine_s = float(plan.figures["seconds"]["wall"])  # type: ignore[index]
    pool = build_pool(sorted(cands, key=lambda c: c.learner_id), settings, week_start(now), now)
    scorer = Scorer(pool, set(), set())
    n = len(pool.cands)
    edges = every_edge(pool, np.arange(n, dtype=np.int64), pair_adjustments(pool, set(), 0.0))
    cols = group_columns(scorer, edges, n, settings.group_min, settings.group_max, k)
    index = {c.learner_id: i for i, c in enumerate(pool.cands)}
    mine = {tuple(sorted(index[lid] for lid, _ in m.members)) for m in plan.matches}
    known = {g for g, _ in cols}
    cols += [(g, scorer.score(g, fit=True) or 0.0) for g in sorted(mine - known)]  # a start
    model = cp_model.CpModel()
    x = [model.new_bool_var(f"g{c}") for c in range(len(cols))]
    member_of: dict[int, list[int]] = {}
    for c, (g, _) in enumerate(cols):
        for i in g:
            member_of.setdefault(i, []).append(c)
    for lst in member_of.values():
        model.add_at_most_one(x[c] for c in lst)
    model.maximize(sum(round(v * 1000) * x[c] for c, (_, v) in enumerate(cols)))
    for c, (g, _) in enumerate(cols):  # the engine's plan as a hint: CP-SAT starts there
        model.add_hint(x[c], g in mine)
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 2
    solver.parameters.max_time_in_seconds = seconds
    solver.parameters.random_seed = seed
    status = solver.solve(model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):  # nothing found in the time
        return {"engine": engine, "cpsat": float("nan"), "bound": float("nan"),
                "columns": len(cols), "engine_s": engine_s}
    chosen = [c for c in range(len(cols)) if solver.value(x[c])]
    best = sum(cols[c][1] for c in chosen)
    in_groups = sum(len(m.members) for m in plan.matches)
    cp_members = sum(len(cols[c][0]) for c in chosen)
    return {"engine": engine, "cpsat": best, "bound": solver.best_objective_bound / 1000,
            "columns": len(cols), "engine_s": engine_s, "engine_members": in_groups,
            "cpsat_members": cp_members, "engine_groups": len(plan.matches),
            "cpsat_groups": len(chosen), "optimal": float(status == cp_model.OPTIMAL)}
