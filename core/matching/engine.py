"""One matching round for one community: ``plan_round``.

The queue is split exactly by its hard keys (mode class, topic key, then the components of
language/setup compatibility); each block keeps every learner's best candidates (numpy:
ranking.py, candidates.py, pairgraph.py) and is solved globally:

* study buddies and accountability partners: maximum-weight matching, exact blossom
  (rustworkx) up to 600 learners a block, an auction (an exact sparse assignment after a
  price war among tied learners) with an exact polish above
  (auction.py); an accountability learner left over joins the pair where they add most,
  as a trio;
* study groups: pairs -> groups of four -> local search + exact repairs (groups.py; exact
  for tiny blocks, groupexact.py);
* supporters <-> learners needing support: assignment with one column per free seat
  (support.py: scipy, dense or sparse).

Every match gets its reasons and suggested times; every learner left over gets a reason.
The (mode class, topic) keys are independent: from ``PARALLEL_FROM`` learners they are
handed to the injected ``TaskMap`` (the bot's runs them in worker processes,
bot/process.py); the plan is the same either way.
The score is documented in ``core.matching.score``. The seed only breaks ties.
"""

from __future__ import annotations

import zlib
from collections import defaultdict
from datetime import datetime
from time import perf_counter, process_time

import numpy as np
import numpy.typing as npt

from core.availability import week_start
from core.matching import groups as group_solver
from core.matching.candidates import (
    Adjust,
    Block,
    make_blocks,
    pair_adjustments,
    top_k_edges,
    undirected,
)
from core.matching.explain import reasons
from core.matching.features import Pool, build_pool
from core.matching.pairgraph import pair_candidates
from core.matching.pairs import attach_trios, max_weight_pairs, neighbours
from core.matching.score import Scorer
from core.matching.slots import SLOT_MINUTES, common_minutes
from core.matching.support import assign
from core.matching.times import best_slots
from core.matching.types import IN_ORDER, Candidate, MatchPlan, RoundPlan, TaskMap
from core.matching.waiting import explain_waiting
from core.model import Mode
from core.settings import CommunitySettings

K_PAIRS = 12  # candidates kept per learner for pair matching
K_GROUPS = 10  # ... for study groups
ALL_EDGES = 80  # study-group blocks up to this size keep every compatible pair

PARALLEL_FROM = 5_000  # learners: below, worker processes are not worth it

Made = tuple[Mode, list[tuple[int, str]], float, bool]  # kind, (index, role), score, trio
# plans, who waits and why, wall seconds and CPU seconds per phase
Solved = tuple[list[MatchPlan], dict[int, str], dict[str, float], dict[str, float]]


def plan_round(candidates: list[Candidate], *, settings: CommunitySettings, now: datetime,
               seed: int, blocked: set[frozenset[int]] | frozenset[frozenset[int]] = frozenset(),
               past_partners: set[frozenset[int]] | frozenset[frozenset[int]] = frozenset(),
               workers: int | None = None, map_tasks: TaskMap = IN_ORDER) -> RoundPlan:
    """Plan the matches of one community's queue (all modes). Pure and deterministic:
    the same candidates, settings, ``now`` and ``seed`` give the same plan.

    ``blocked`` pairs are never matched; ``past_partners`` cost ``weights.past_partner``.
    The independent (mode, topic) keys are solved through ``map_tasks`` with ``workers``
    processes (at most ``map_tasks.processes``); by default all of them from
    ``PARALLEL_FROM`` learners, else 1. The plan is the same.
    """
    t0, c0 = perf_counter(), process_time()
    cands = _unique(candidates)
    start = week_start(now)
    pool = build_pool(cands, settings, start, now)
    block_set = set(blocked)
    past = set(past_partners) - block_set
    scorer = Scorer(pool, block_set, past)
    adjust = pair_adjustments(pool, past, settings.weights.past_partner)
    pair_adjustments(pool, block_set, float("-inf"), into=adjust)
    blocks = make_blocks(pool)
    keyed: dict[tuple[str, str], list[tuple[int, Block]]] = defaultdict(list)
    for number, block in enumerate(blocks):  # blocks come sorted by key
        keyed[(block.mode_class, block.topic_key)].append((number, block))
    tasks = list(keyed.values())
    t_prep, c_prep = perf_counter(), process_time()

    def solve(i: int) -> Solved:
        return _solve_key(pool, scorer, adjust, tasks[i], seed, now)

    if workers is None:
        workers = map_tasks.processes if len(cands) >= PARALLEL_FROM else 1
    workers = max(1, min(workers, map_tasks.processes, len(tasks)))
    costs = [sum(len(b.members) ** 1.5 for _, b in t) for t in tasks]
    solved = map_tasks(solve, costs, workers)
    t_solve = perf_counter()
    plans = [p for part in solved for p in part[0]]
    plans.sort(key=lambda p: (p.kind.value, [x for x, _ in p.members]))
    unmatched = {i: why for part in solved for i, why in part[1].items()}
    spent: dict[str, float] = defaultdict(float)
    cpu: dict[str, float] = defaultdict(float)
    for part in solved:
        for k, v in part[2].items():
            spent[k] += v
        for k, v in part[3].items():
            cpu[k] += v
    t_end = perf_counter()
    figures = _figures(cands, plans, unmatched, len(blocks),
                       {"prepare": t_prep - t0, **dict(sorted(spent.items())),
                        "merge": t_end - t_solve, "wall": t_end - t0}, workers)
    # CPU seconds beside the wall: on a shared machine the wall says how busy the others
    # were; the solve phases are summed over the workers (this process's own CPU is
    # prepare and merge; with workers, their CPU is only in the phases)
    figures["cpu_seconds"] = {"prepare": round(c_prep - c0, 4),
                              **{k: round(v, 4) for k, v in sorted(cpu.items())}}
    return RoundPlan(plans, unmatched, figures)


def _solve_key(pool: Pool, scorer: Scorer, adjust: Adjust, blocks: list[tuple[int, Block]],
               seed: int, now: datetime) -> Solved:
    """The blocks of one (mode class, topic) key: their plans, who waits and why, and
    the wall and CPU seconds spent per phase (summed over workers in the figures)."""
    spent: dict[str, float] = defaultdict(float)
    cpu: dict[str, float] = defaultdict(float)
    made: list[Made] = []
    for number, block in blocks:
        t, c = perf_counter(), process_time()
        made.extend(_solve_block(pool, scorer, block, adjust, _seed(seed, block, number)))
        spent[f"solve_{block.mode_class}"] += perf_counter() - t
        cpu[f"solve_{block.mode_class}"] += process_time() - c
    t, c = perf_counter(), process_time()
    plans = _plans(pool, scorer, made, now)
    spent["reasons_times"] += perf_counter() - t
    cpu["reasons_times"] += process_time() - c
    t, c = perf_counter(), process_time()
    matched = {i for _, members, _, _ in made for i, _ in members}
    idx = np.sort(np.concatenate([b.members for _, b in blocks]))
    left = [i for i in idx.tolist() if i not in matched]
    unmatched: dict[int, str] = {}
    if left:
        lo = pool.settings.group_min if blocks[0][1].mode_class == "group" else 2
        unmatched = explain_waiting(scorer, idx, left, group_min=lo)
    spent["waiting"] += perf_counter() - t
    cpu["waiting"] += process_time() - c
    return plans, unmatched, dict(spent), dict(cpu)


def _unique(candidates: list[Candidate]) -> list[Candidate]:
    """One entry per learner, in id order: the plan must not depend on the input order."""
    seen: dict[int, Candidate] = {}
    for c in candidates:
        seen.setdefault(c.learner_id, c)
    return [seen[k] for k in sorted(seen)]


def _seed(seed: int, block: Block, number: int) -> int:
    return zlib.crc32(f"{seed}:{block.mode_class}:{block.topic_key}:{number}".encode())


def _solve_block(pool: Pool, scorer: Scorer, block: Block,
                 adjust: Adjust, seed: int) -> list[Made]:
    m = block.members
    out: list[Made] = []
    if block.mode_class == "support":
        for sup, need, score in assign(pool, m, adjust, seed):
            out.append(
                (Mode.OFFER_SUPPORT, [(sup, "supporter"), (need, "supported")], score, False)
            )
        return out
    if len(m) < 2:
        return out
    s = pool.settings
    if block.mode_class == "group":
        k = len(m) if len(m) <= ALL_EDGES else K_GROUPS  # small blocks: every pair counts
        edges = undirected(top_k_edges(pool, m, m, k, adjust, seed=seed))
        for members, score in group_solver.solve(scorer, m, edges, seed, s.group_min, s.group_max):
            out.append((Mode.STUDY_GROUP, [(i, "peer") for i in members], score, False))
        return out
    edges = pair_candidates(pool, m, K_PAIRS, adjust, seed)
    pairs = max_weight_pairs(edges, seed)
    kind = pool.cands[int(m[0])].mode
    trios: dict[tuple[int, int], int] = {}
    if block.mode_class == "accountability":
        used = {x for p in pairs for x in p}
        left = np.array([x for x in m.tolist() if x not in used], dtype=np.int64)
        if len(left) and pairs:
            trios = {p: x for x, p in attach_trios(scorer, pairs, left, neighbours(edges)).items()}
    for p in pairs:
        members = [*p, trios[p]] if p in trios else list(p)
        value = scorer.score(members)
        if value is not None:  # always feasible: edges and trios are checked
            out.append((kind, [(i, "peer") for i in sorted(members)], value, p in trios))
    return out


def _plans(pool: Pool, scorer: Scorer, made: list[Made], now: datetime) -> list[MatchPlan]:
    """MatchPlans with reasons and times; times for all matches at once (numpy)."""
    if not made:
        return []
    s = pool.settings
    size = max(len(members) for _, members, _, _ in made)
    idx = np.full((len(made), size), -1, dtype=np.int64)
    for r, (_, members, _, _) in enumerate(made):
        idx[r, :len(members)] = [i for i, _ in members]
    starts = np.ones((len(made), pool.runs.shape[1]), dtype=np.uint8)
    for col in range(size):
        has = idx[:, col] >= 0
        starts[has] &= pool.runs[idx[has, col]]
    offsets = np.where(idx >= 0, pool.offset[np.maximum(idx, 0)].astype(np.float64), np.nan)
    times = best_slots(starts, offsets, pool.start, now, s.session_minutes, s.suggested_times,
                       starts=starts)
    minutes = _common_minutes(pool, idx)
    out = []
    for (kind, members, score, trio), when, h in zip(made, times, (minutes / 60).tolist(),
                                                      strict=True):
        ids = [i for i, _ in members]
        out.append(
            MatchPlan(
                kind=kind,
                members=[(pool.cands[i].learner_id, r) for i, r in members],
                score=round(score, 3),
                reasons=reasons(scorer, ids, kind, h, trio=trio),
                times=when,
            )
        )
    return out


def _common_minutes(pool: Pool, idx: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    """Exact minutes a week each match's members share (rows of ``idx``, -1 padded): what
    the reasons tell people. Where every member's availability starts and ends on quarter
    hours (nearly always) the slots are exact and a popcount says it; else the intervals
    are intersected."""
    words = pool.words
    shared = np.zeros(len(idx), dtype=np.int64)
    real = np.maximum(idx, 0)
    for k in range(words.shape[1]):
        acc = np.full(len(idx), np.uint64(2**64 - 1), dtype=np.uint64)
        for col in range(idx.shape[1]):
            acc &= np.where(idx[:, col] >= 0, words[real[:, col], k], np.uint64(2**64 - 1))
        shared += np.bitwise_count(acc)
    out = (shared * SLOT_MINUTES).astype(np.float64)
    exact = np.where(idx >= 0, pool.week.aligned[real], True).all(axis=1)
    for r in np.flatnonzero(~exact).tolist():
        out[r] = common_minutes(pool.week, [i for i in idx[r].tolist() if i >= 0])
    return out


def _figures(cands: list[Candidate], plans: list[MatchPlan], unmatched: dict[int, str],
             blocks: int, seconds: dict[str, float], workers: int) -> dict[str, object]:
    queued: dict[str, int] = defaultdict(int)
    for c in cands:
        queued[c.mode.value] += 1
    mode_of = {c.learner_id: c.mode.value for c in cands}
    matched: dict[str, int] = defaultdict(int)
    for lid in {lid for p in plans for lid, _ in p.members}:
        matched[mode_of[lid]] += 1
    supporters_used = len({lid for p in plans for lid, r in p.members if r == "supporter"})
    return {
        "queued": len(cands), "matched": len(cands) - len(unmatched), "unmatched": len(unmatched),
        "matches": len(plans), "supporters_used": supporters_used,
        "trios": sum(1 for p in plans if p.kind is Mode.ACCOUNTABILITY and len(p.members) == 3),
        "groups": sum(1 for p in plans if p.kind is Mode.STUDY_GROUP),
        "queued_by_mode": dict(sorted(queued.items())),
        "matched_by_mode": dict(sorted(matched.items())),
        "total_score": round(sum(p.score for p in plans), 3), "blocks": blocks, "workers": workers,
        "seconds": {k: round(v, 4) for k, v in seconds.items()},
    }
