"""Reference solutions and an independent checker, for tests and ``bench/matching.py``.

Not used by rounds. ``violations`` re-checks a plan against ``free_minutes``: an
independent reading of the raw windows, minute by minute, with zoneinfo alone (no code of
``core.availability`` or the engine's slot masks). ``reference`` computes, on the pair and
support blocks, the exact optimum without candidate pruning and a greedy baseline.
``groups_against_cpsat`` needs OR-Tools (a development dependency), imported lazily.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from scipy.optimize import linear_sum_assignment

from core.availability import Availability, week_start
from core.matching.candidates import Adjust, Edges, make_blocks, pair_adjustments
from core.matching.features import Pool, build_pool
from core.matching.groupexact import feasible
from core.matching.pairs import max_weight_pairs
from core.matching.score import Scorer, pair_matrix
from core.matching.support import sides, support_scores
from core.matching.types import Candidate, RoundPlan
from core.model import Mode

_CLASS = {Mode.STUDY_BUDDY: "b", Mode.ACCOUNTABILITY: "a", Mode.STUDY_GROUP: "g",
          Mode.OFFER_SUPPORT: "s", Mode.NEED_SUPPORT: "s"}


WEEK_MINUTES = 7 * 24 * 60


@lru_cache(maxsize=4096)
def _local_readings(tz: str, start: datetime) -> tuple[tuple[int, int, int], ...]:
    """For each UTC minute of the week from ``start``: (local weekday, local minute of the
    day, fold) as zoneinfo reads it. Spring-forward gaps never appear as a reading; the
    second reading of a fall-back fold has fold 1."""
    zone = ZoneInfo(tz)
    out = []
    for m in range(WEEK_MINUTES):
        local = (start + timedelta(minutes=m)).astimezone(zone)
        out.append((local.weekday(), local.hour * 60 + local.minute, local.fold))
    return tuple(out)


def free_minutes(avail: Availability, tz: str, start: datetime) -> np.ndarray:
    """(10080,) bool: the learner is free in that UTC minute of the week from ``start``.

    A minute is free when its local wall-clock reading lies in a window (an overnight
    window's tail on the next day) and it is not the second reading of a fold (a repeated
    hour counts once). Flexible is free all week."""
    if avail.flexible:
        return np.ones(WEEK_MINUTES, dtype=bool)
    day_minutes = np.zeros((7, 2 * 24 * 60), dtype=bool)  # [weekday, minute incl. overnight]
    for w in avail.windows:
        day_minutes[w.day, w.start:w.end] = True
    readings = np.array(_local_readings(tz, start.astimezone(UTC)), dtype=np.int64)
    wd, minute, fold = readings[:, 0], readings[:, 1], readings[:, 2]
    today = day_minutes[wd, minute]
    overnight = day_minutes[(wd - 1) % 7, minute + 24 * 60]
    return (today | overnight) & (fold == 0)


def common_free(members: list[tuple[Availability, str]], start: datetime) -> np.ndarray:
    """Minutes every member is free (``free_minutes`` ANDed)."""
    out = np.ones(WEEK_MINUTES, dtype=bool)
    for avail, tz in members:
        out &= free_minutes(avail, tz, start)
    return out


def longest_run(free: np.ndarray) -> int:
    """The longest stretch of consecutive free minutes."""
    padded = np.concatenate([[0], free.astype(np.int8), [0]])
    edges = np.flatnonzero(np.diff(padded))
    return int((edges[1::2] - edges[0::2]).max()) if len(edges) else 0


def _time_problems(ids: list[int], cs: list[Candidate], times: list[tuple[datetime, datetime]],
                   settings: Any, start: datetime) -> list[str]:
    """The match's common time, whole session and suggested times against ``free_minutes``."""
    out = []
    free = common_free([(c.availability, c.timezone) for c in cs], start)
    if free.sum() / 60 + 1e-9 < settings.min_overlap_hours:
        out.append(f"{ids}: only {free.sum() / 60:.2f} h in common")
    if longest_run(free) < settings.session_minutes:
        out.append(f"{ids}: no whole {settings.session_minutes}-minute session in common")
    if not times:
        out.append(f"{ids}: no suggested time")
    for a, b in times:
        lo, hi = int((a - start).total_seconds() // 60), int((b - start).total_seconds() // 60)
        if lo < 0 or hi > WEEK_MINUTES or not free[lo:hi].all():
            out.append(f"{ids}: suggested {a:%a %H:%M}-{b:%H:%M} UTC outside someone's time")
    return out


def _shape_problems(ids: list[int], cs: list[Candidate], settings: Any) -> list[str]:
    """Who and how many a match of its mode may hold, in words (empty when it fits)."""
    if cs[0].mode in (Mode.OFFER_SUPPORT, Mode.NEED_SUPPORT):
        if sorted(c.mode for c in cs) != sorted([Mode.OFFER_SUPPORT, Mode.NEED_SUPPORT]):
            return [f"{ids}: support match needs one supporter and one learner"]
    elif cs[0].mode is Mode.STUDY_GROUP:
        if not settings.group_min <= len(cs) <= settings.group_max:
            return [f"{ids}: group size {len(cs)}"]
    elif len(cs) not in ((2, 3) if cs[0].mode is Mode.ACCOUNTABILITY else (2,)):
        return [f"{ids}: size {len(cs)}"]
    return []


def violations(plan: RoundPlan, cands: list[Candidate], settings: Any, now: datetime,
               blocked: set[frozenset[int]] | frozenset[frozenset[int]]) -> list[str]:
    """Every hard constraint the plan breaks, in words (empty when none)."""
    by_id = {c.learner_id: c for c in cands}
    start = week_start(now)
    seats: Counter[int] = Counter()
    seen: Counter[int] = Counter()
    out: list[str] = []
    for m in plan.matches:
        ids = [lid for lid, _ in m.members]
        cs = [by_id[i] for i in ids]
        for lid, role in m.members:
            (seats if role == "supporter" else seen)[lid] += 1
        if len({_CLASS[c.mode] for c in cs}) != 1 or len({c.topic_key for c in cs}) != 1:
            out.append(f"{ids}: mixed modes or topics")
        out += _shape_problems(ids, cs, settings)
        if not frozenset.intersection(*(frozenset(x.casefold() for x in c.languages) for c in cs)):
            out.append(f"{ids}: no common language")
        required = {c.setup.kind for c in cs if c.setup.required}
        if len(required) > 1:  # a preference may give way; two different musts cannot
            out.append(f"{ids}: required setups {required}")
        out += _time_problems(ids, cs, m.times, settings, start)
        if any(frozenset((a, b)) in blocked for k, a in enumerate(ids) for b in ids[k + 1:]):
            out.append(f"{ids}: a blocked pair")
    out += [f"{lid}: in {k} matches" for lid, k in seen.items() if k > 1]
    cap = settings.max_supporter_capacity
    out += [f"supporter {lid}: {k} learners" for lid, k in seats.items()
            if k > min(by_id[lid].capacity, cap) or seen[lid]]
    matched = set(seats) | set(seen)
    out += [f"{lid}: matched and unmatched" for lid in matched if lid in plan.unmatched]
    out += [f"{c.learner_id}: neither matched nor told why" for c in cands
            if c.learner_id not in matched and c.learner_id not in plan.unmatched]
    return out


def greedy_pairs(e: Edges) -> list[tuple[int, int, float]]:
    """What most bots do: best edge first, take it if both are still free."""
    used: set[int] = set()
    out = []
    for k in np.argsort(-e.w, kind="stable").tolist():
        a, b = int(e.a[k]), int(e.b[k])
        if a not in used and b not in used:
            used.update((a, b))
            out.append((a, b, float(e.w[k])))
    return out


def reference(plan: RoundPlan, cands: list[Candidate], settings: Any, now: datetime,
              blocked: set[frozenset[int]], past: set[frozenset[int]], *,
              exact: bool) -> dict[str, Any]:
    """Exact (unpruned) and greedy totals on the pair and support blocks vs the engine's."""
    pool = build_pool(sorted(cands, key=lambda c: c.learner_id), settings, week_start(now))
    scorer = Scorer(pool, set(blocked), set(past))
    adjust = pair_adjustments(pool, past, settings.weights.past_partner)
    pair_adjustments(pool, blocked, float("-inf"), into=adjust)
    ex = gr = 0.0
    for block in make_blocks(pool):
        m = block.members
        if block.mode_class in ("pair", "accountability") and len(m) > 1:
            e = all_edges(pool, m, adjust)
            gr += sum(w for _, _, w in greedy_pairs(e))
            if exact:
                ex += sum(scorer.score(p) or 0.0 for p in max_weight_pairs(e, 0, exact_nodes=10**9))
        elif block.mode_class == "support":
            a, b = _support_reference(pool, m, adjust, exact)
            ex, gr = ex + a, gr + b
    index = {c.learner_id: i for i, c in enumerate(pool.cands)}
    engine = 0.0
    for mp in plan.matches:
        if mp.kind is Mode.STUDY_GROUP:
            continue
        idx = [index[lid] for lid, _ in mp.members]
        if len(idx) == 3:  # a trio: count only its weakest pair (pairs are what we compare)
            trio_pairs = ((idx[0], idx[1]), (idx[0], idx[2]), (idx[1], idx[2]))
            engine += min(scorer.score(p) or 0.0 for p in trio_pairs)
        else:
            engine += mp.score
    return {"engine_ps": engine, "exact_ps": round(ex, 1) if exact else None, "greedy_ps": gr,
            "pct_exact": 100 * engine / ex if exact and ex else None,
            "pct_greedy": 100 * engine / gr if gr else 100.0}


def all_edges(pool: Pool, m: np.ndarray, adjust: Adjust) -> Edges:
    """Every compatible pair of a block with a positive score: no pruning at all."""
    out_a, out_b, out_w = [], [], []
    colf = pool.slots[m].astype(np.float32)
    step = max(1, 2_000_000 // len(m))
    for r0 in range(0, len(m), step):
        r = m[r0:r0 + step]
        s = pair_matrix(pool, r, m, colf[r0:r0 + step], colf)
        s += pool.node[r][:, None] + pool.node[m][None, :] + np.float32(pool.w.base)
        for local, g in enumerate(r.tolist()):
            for j, v in adjust.get(g):
                c = int(np.searchsorted(m, j))
                if c < len(m) and m[c] == j:
                    s[local, c] += np.float32(v)
        ri, ci = np.nonzero((s > 0) & (r[:, None] < m[None, :]))
        out_a.append(r[ri])
        out_b.append(m[ci])
        out_w.append(s[ri, ci])
    return Edges(np.concatenate(out_a), np.concatenate(out_b), np.concatenate(out_w))


def _support_reference(pool: Any, m: np.ndarray, adjust: Adjust,
                       exact: bool) -> tuple[float, float]:
    need, sup, seats = sides(pool, m)
    if not len(need) or not len(sup):
        return 0.0, 0.0
    s = support_scores(pool, need, sup, adjust)
    s = np.where(np.isfinite(s), np.maximum(s, 0), 0)
    best = 0.0
    if exact:
        cols = np.repeat(np.arange(len(sup)), seats)
        r, c = linear_sum_assignment(s[:, cols], maximize=True)
        best = float(s[:, cols][r, c].sum())
    left = seats.copy()
    free = np.ones(len(need), bool)
    greedy = 0.0
    flat = np.argsort(-s, axis=None, kind="stable")
    for k in flat.tolist():
        r, c = divmod(k, len(sup))
        if s[r, c] <= 0:
            break
        if free[r] and left[c] > 0:
            free[r], left[c] = False, left[c] - 1
            greedy += float(s[r, c])
    return best, greedy


def groups_against_cpsat(cands: list[Candidate], settings: Any, now: datetime,
                         seed: int) -> tuple[float, float, float]:
    """(engine, CP-SAT optimum, greedy) total group scores on one small study-group queue."""
    from ortools.sat.python import cp_model

    from core.matching.engine import plan_round

    plan = plan_round(cands, settings=settings, now=now, seed=seed)
    engine = sum(m.score for m in plan.matches)
    pool = build_pool(sorted(cands, key=lambda c: c.learner_id), settings, week_start(now))
    scorer = Scorer(pool, set(), set())
    groups = list(feasible(scorer, list(range(len(pool.cands))), settings.group_min,
                           settings.group_max))
    model = cp_model.CpModel()
    x = [model.new_bool_var(f"g{k}") for k in range(len(groups))]
    for i in range(len(pool.cands)):
        model.add_at_most_one(x[k] for k, (g, _) in enumerate(groups) if i in g)
    model.maximize(sum(round(v * 1000) * x[k] for k, (_, v) in enumerate(groups)))
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 2
    solver.parameters.max_time_in_seconds = 60
    solver.solve(model)
    best = sum(v for k, (_, v) in enumerate(groups) if solver.value(x[k]))
    greedy = _greedy_groups(scorer, len(pool.cands), settings.group_min, settings.group_max)
    return engine, best, greedy


def _greedy_groups(scorer: Scorer, n: int, lo: int, hi: int) -> float:
    """Greedy growth: best pair edges first, merge two groups when the union still fits."""
    edges = sorted(((scorer.score((a, b)) or 0.0, a, b) for a in range(n) for b in range(a + 1, n)
                    if scorer.score((a, b)) is not None), reverse=True)
    group: dict[int, tuple[int, ...]] = {i: (i,) for i in range(n)}
    for _, a, b in edges:
        ga, gb = group[a], group[b]
        if ga is gb or len(ga) + len(gb) > hi:
            continue
        union = tuple(sorted(ga + gb))
        if scorer.feasible(union):
            for i in union:
                group[i] = union
    done = {g for g in group.values() if len(g) >= lo}
    return sum(scorer.score(g, fit=True) or 0.0 for g in done)
