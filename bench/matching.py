"""Matching at scale: realistic synthetic queues, the engine's time, memory and quality.

    .venv/bin/python bench/matching.py                 # N = 1,000, 10,000, 100,000
    .venv/bin/python bench/matching.py -n 10000 -n 20000 --seed 7
    .venv/bin/python bench/matching.py --groups        # study groups vs CP-SAT, 16-32 learners
    .venv/bin/python bench/matching.py --big-groups    # one group block of 100/300/1,000

Each N runs in its own process so the peak memory (ru_maxrss) is that round's. Quality is
measured on the pair and support blocks (where the exact optimum is computable): the
engine's total score as a percentage of (a) the exact maximum-weight matching / assignment
on *all* compatible edges, without top-k pruning (N <= 20,000) and (b) a greedy baseline
(sort edges by score, take what fits). Groups are compared with CP-SAT on small instances
(every feasible group) and on single blocks of 100, 300 and 1,000 learners (time-limited,
over the groups of each learner's nearest neighbours plus the engine's own).

"hours %" (issue 12.6): on the pair blocks, the engine's hours together (capped at the
useful maximum) against the most hours possible with the engine's number of pairs in each
block (``tests/oracle_times.hours_by_block``; blocks share no compatible pair, so the
per-block sum is the best for the whole community at those pairs). Blocks of up to
--exact-nodes learners where the engine has the most pairs possible: exact (blossom with
maximum cardinality on every compatible edge). Bigger blocks, or where the engine has fewer
pairs than possible: an LP upper bound with the number of pairs fixed at the engine's, over
every compatible edge (row generation, --lp-rounds). The figure is then a lower bound on the
true percentage; the bench prints how many blocks and what share of the pairs were exact.
--bound-rounds N adds the older, looser LP bound on any matching's hours (any number of
pairs, from the candidate graph; ``hours_bound``).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import random
import resource
import sys
from datetime import UTC, datetime
from pathlib import Path
from time import perf_counter

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.process import WorkerPool  # noqa: E402
from core.availability import Availability, Window  # noqa: E402
from core.matching.engine import plan_round  # noqa: E402
from core.matching.types import Candidate  # noqa: E402
from core.model import Mode, Setup  # noqa: E402
from core.settings import CommunitySettings  # noqa: E402
from tests import oracle, oracle_times  # noqa: E402

NOW = datetime(2026, 3, 26, 17, 0, tzinfo=UTC)  # the week around Europe's DST change

COUNTRIES = [  # name, zone, languages spoken there, share of the community
    ("United Kingdom", "Europe/London", ["English"], 8),
    ("Ireland", "Europe/Dublin", ["English"], 2),
    ("Nigeria", "Africa/Lagos", ["English"], 8),
    ("Ghana", "Africa/Accra", ["English"], 3),
    ("Kenya", "Africa/Nairobi", ["English", "Swahili"], 4),
    ("South Africa", "Africa/Johannesburg", ["English"], 3),
    ("Egypt", "Africa/Cairo", ["Arabic"], 4),
    ("Morocco", "Africa/Casablanca", ["Arabic", "French"], 2),
    ("France", "Europe/Paris", ["French"], 4),
    ("Germany", "Europe/Berlin", ["German"], 4),
    ("Spain", "Europe/Madrid", ["Spanish"], 4),
    ("Portugal", "Europe/Lisbon", ["Portuguese"], 2),
    ("Brazil", "America/Sao_Paulo", ["Portuguese"], 7),
    ("Mexico", "America/Mexico_City", ["Spanish"], 5),
    ("Colombia", "America/Bogota", ["Spanish"], 3),
    ("Peru", "America/Lima", ["Spanish"], 3),
    ("Argentina", "America/Argentina/Buenos_Aires", ["Spanish"], 2),
    ("United States", "America/New_York", ["English"], 8),
    ("Canada", "America/Toronto", ["English", "French"], 3),
    ("India", "Asia/Kolkata", ["Hindi", "English"], 9),
    ("Pakistan", "Asia/Karachi", ["English"], 3),
    ("United Arab Emirates", "Asia/Dubai", ["Arabic", "English"], 2),
    ("Philippines", "Asia/Manila", ["English"], 4),
    ("Australia", "Australia/Sydney", ["English"], 3),
]
US_ZONES = ["America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles"]
TOPICS = ["Python", "Calculus II", "Linear Algebra", "Statistics", "Machine Learning", "JavaScript",
          "Data Science", "Web Development", "Spanish", "English", "Physics", "Chemistry",
          "Organic Chemistry", "Economics", "Algorithms", "Databases", "Discrete Maths", "Biology"]
MODES = [(Mode.STUDY_BUDDY, 40), (Mode.ACCOUNTABILITY, 18), (Mode.STUDY_GROUP, 15),
         (Mode.NEED_SUPPORT, 19), (Mode.OFFER_SUPPORT, 8)]
SETUPS = [
    (Setup.ANY, 45),
    (Setup.VIDEO, 22),
    (Setup.VOICE, 14),
    (Setup.TEXT, 14),
    (Setup.IN_PERSON, 5),
]
KINDS = ["Concepts", "Assignments", "Exam prep", "Motivation", "Career", "Code review"]
COHORTS = ["2025-B", "2026-A", "2026-B", "2026-C", "2027-A"]


def _pick(rng: random.Random, weighted: list[tuple[object, int]]) -> object:
    return rng.choices([x for x, _ in weighted], [w for _, w in weighted])[0]


def _availability(rng: random.Random) -> Availability:
    if rng.random() < 0.05:
        return Availability(flexible=True)
    windows = set()
    for _ in range(rng.randint(2, 6)):
        r = rng.random()
        if r < 0.55:  # a weekday evening
            day, start, length = (
                rng.randint(0, 4),
                rng.choice(range(34, 42)),
                rng.choice([2, 3, 4, 6]),
            )
        elif r < 0.85:  # a weekend day
            day, start, length = (
                rng.randint(5, 6),
                rng.choice(range(18, 34)),
                rng.choice([3, 4, 6, 8]),
            )
        else:  # early morning or lunch
            day, start, length = (
                rng.randint(0, 6),
                rng.choice([12, 13, 14, 24, 25]),
                rng.choice([2, 3]),
            )
        windows.add(Window(day, start * 30, min(start + length, 48) * 30))
    return Availability(False, tuple(sorted(windows, key=lambda w: (w.day, w.start))))


def synthetic_queue(
    n: int, seed: int
) -> tuple[list[Candidate], set[frozenset[int]], set[frozenset[int]]]:
    """n learners of one community, their blocked pairs and past partners."""
    rng = random.Random(seed)
    topic_w = [1 / (r + 1) ** 1.1 for r in range(len(TOPICS))]
    country_w = [c[3] for c in COUNTRIES]
    out: list[Candidate] = []
    for lid in range(1, n + 1):
        country, zone, langs, _ = rng.choices(COUNTRIES, country_w)[0]
        if country == "United States":
            zone = rng.choice(US_ZONES)
        spoken = set(langs) if rng.random() < 0.7 or len(langs) == 1 else {langs[0]}
        if "English" not in spoken and rng.random() < 0.35:
            spoken.add("English")  # bilinguals bridge the language groups
        if spoken == {"English"} and rng.random() < 0.08:
            spoken.add(rng.choice(["Spanish", "French", "Portuguese"]))
        mode = _pick(rng, MODES)
        assert isinstance(mode, Mode)
        setup = _pick(rng, SETUPS)
        assert isinstance(setup, Setup)
        topic = rng.choices(TOPICS, topic_w)[0]
        waited = rng.expovariate(1 / 8) if rng.random() < 0.9 else rng.uniform(21, 70)
        out.append(
            Candidate(
                learner_id=lid,
                mode=mode,
                topic=topic,
                topic_key=topic.casefold(),
                languages=frozenset(spoken),
                timezone=zone,
                availability=_availability(rng),
                cohort=rng.choice(COHORTS) if rng.random() < 0.7 else "",
                country=country,
                setup=setup,
                support_kind=rng.choice(KINDS)
                if mode in (Mode.NEED_SUPPORT, Mode.OFFER_SUPPORT)
                else "",
                capacity=rng.randint(1, 4) if mode is Mode.OFFER_SUPPORT else 1,
                group_size=rng.choice([0, 0, 3, 4, 5]) if mode is Mode.STUDY_GROUP else 0,
                waited_days=waited,
                rating=rng.uniform(2.5, 5) if rng.random() < 0.3 else None,
                display_name=f"Learner {lid}",
            )
        )
    by_key: dict[tuple[str, str], list[int]] = {}
    for c in out:
        by_key.setdefault((c.mode.value, c.topic_key), []).append(c.learner_id)
    past: set[frozenset[int]] = set()
    blocked: set[frozenset[int]] = set()
    for ids in by_key.values():
        for lid in ids:
            if len(ids) > 2 and rng.random() < 0.15:
                other = rng.choice(ids)
                if other != lid:
                    (blocked if rng.random() < 0.2 else past).add(frozenset((lid, other)))
    return out, blocked, past - blocked


def _long_waiters(cands: list[Candidate], matched: set[int]) -> float:
    long = [c.learner_id for c in cands if c.waited_days >= 21]
    return sum(1 for x in long if x in matched) / max(1, len(long))


def run_one(n: int, seed: int, exact_limit: int, bound: int, exact_nodes: int, lp_rounds: int,
            queue: mp.Queue) -> None:  # type: ignore[type-arg]
    cands, blocked, past = synthetic_queue(n, seed)
    settings = CommunitySettings()
    t = perf_counter()
    plan = plan_round(cands, settings=settings, now=NOW, seed=seed, blocked=blocked,
                      past_partners=past, map_tasks=WorkerPool())  # as the bot: a worker per core
    wall = perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # MiB on Linux
    worker = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # the largest worker
    violations = oracle.violations(plan, cands, settings, NOW, blocked)
    matched = {lid for m in plan.matches for lid, _ in m.members}
    row = {"n": n, "wall": wall, "peak_mib": peak, "worker_mib": worker,
           "workers": plan.figures["workers"], "score": plan.figures["total_score"],
           "matched": len(matched) / n, "long": _long_waiters(cands, matched),
           "violations": len(violations), "seconds": plan.figures["seconds"]}
    ref = oracle.reference(plan, cands, settings, NOW, blocked, past, exact=n <= exact_limit)
    row.update(ref)
    t = perf_counter()
    row.update(oracle_times.hours_by_block(
        plan, cands, settings, NOW, blocked, exact_nodes=exact_nodes, rounds=lp_rounds,
        progress=lambda line: print(f"         hours judge, bounded block {line}", flush=True)))
    row["judge_s"] = perf_counter() - t
    if bound:
        row.update(oracle_times.hours_bound(plan, cands, settings, NOW, blocked, seed,
                                            rounds=bound))
    queue.put(row)


def dense_group_queue(n: int, seed: int) -> list[Candidate]:
    """Study-group learners from one region with overlapping evenings: many feasible groups."""
    rng = random.Random(seed)
    zones = ["Europe/London", "Africa/Lagos", "Europe/Berlin", "Africa/Nairobi", "Europe/Madrid"]
    days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    out = []
    for lid in range(1, n + 1):
        windows = []
        for day in rng.sample(days, rng.randint(2, 4)):
            start = rng.choice(range(16, 21))
            windows.append(
                Window(days.index(day), start * 60, (start + rng.choice([2, 3, 4])) * 60)
            )
        out.append(
            Candidate(
                learner_id=lid,
                mode=Mode.STUDY_GROUP,
                topic="Python",
                topic_key="python",
                languages=frozenset(rng.choice([("English",), ("English", "French"), ("French",)])),
                timezone=rng.choice(zones),
                availability=Availability(
                    False, tuple(sorted(set(windows), key=lambda w: (w.day, w.start)))
                ),
                cohort=rng.choice(["", "A", "B"]),
                country=rng.choice(["UK", "Nigeria", "Kenya"]),
                group_size=rng.choice([0, 3, 4, 5]),
                waited_days=rng.expovariate(1 / 10),
                display_name=f"Learner {lid}",
            )
        )
    return out


def groups_vs_cpsat(seed: int) -> None:
    """Study groups: the engine against CP-SAT on single-topic instances of 16-32 learners."""
    print("\nstudy groups vs CP-SAT (exact set packing over all feasible groups), 3 instances each")
    print(
        f"{'learners':>8} {'kind':>6} {'engine':>9} {'CP-SAT':>9} {'% CP-SAT':>9} "
        f"{'greedy %':>9} {'s':>6}"
    )
    for size in (16, 20, 24, 28, 32):
        for kind in ("mixed", "dense"):
            ratios = []
            t = perf_counter()
            for rep in range(3):
                if kind == "mixed":
                    cands, _, _ = synthetic_queue(size * 14, seed + 100 * size + rep)
                    grp = [c for c in cands if c.mode is Mode.STUDY_GROUP][:size]
                    grp = [
                        Candidate(**{**c.__dict__, "topic": "Python", "topic_key": "python"})
                        for c in grp
                    ]
                else:
                    grp = dense_group_queue(size, seed + 100 * size + rep)
                ratios.append(oracle.groups_against_cpsat(grp, CommunitySettings(), NOW, seed))
            eng, best, greedy = (sum(r[i] for r in ratios) for i in range(3))
            print(f"{size:>8} {kind:>6} {eng:>9.1f} {best:>9.1f} {100 * eng / best:>8.2f}% "
                  f"{100 * greedy / best:>8.2f}% {perf_counter() - t:>6.1f}", flush=True)


def group_block(n: int, seed: int) -> list[Candidate]:
    """One study-group block of ``n`` learners from the realistic queue (one topic, one
    language: nothing splits it)."""
    cands, _, _ = synthetic_queue(n * 8, seed)
    grp = [c for c in cands if c.mode is Mode.STUDY_GROUP][:n]
    return [Candidate(**{**c.__dict__, "topic": "Python", "topic_key": "python",
                         "languages": frozenset({"English"}), "setup": c.setup.kind})
            for c in grp]


def big_groups(seed: int, sizes: tuple[int, ...] = (100, 300, 1_000)) -> None:
    """Single study-group blocks against a time-limited CP-SAT (issue 12.4)."""
    print("\nbig study-group blocks vs CP-SAT (set packing over each learner's 8-10 nearest "
          "neighbours' groups + the engine's, time-limited)")
    print(f"{'learners':>8} {'engine':>9} {'CP-SAT':>9} {'bound':>9} {'% CP-SAT':>9} "
          f"{'% bound':>8} {'in groups':>10} {'engine s':>9} {'CP-SAT s':>9}")
    for size in sizes:
        limit = 60.0 if size < 1_000 else 180.0
        r = oracle_times.big_groups_vs_cpsat(group_block(size, seed), CommunitySettings(), NOW,
                                             seed, seconds=limit, k=10 if size < 1_000 else 8)
        members = f"{r.get('engine_members', 0):.0f}/{r.get('cpsat_members', 0):.0f}"
        print(f"{size:>8} {r['engine']:>9.1f} {r['cpsat']:>9.1f} {r['bound']:>9.1f} "
              f"{100 * r['engine'] / r['cpsat']:>8.2f}% {100 * r['engine'] / r['bound']:>7.2f}% "
              f"{members:>10} {r['engine_s']:>9.2f} {limit:>9.0f}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, action="append", help="queue size (repeatable)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--exact-limit", type=int, default=20_000)
    ap.add_argument("--exact-nodes", type=int, default=3_000,
                    help="largest block whose hours at the same pairs are solved exactly")
    ap.add_argument("--lp-rounds", type=int, default=8,
                    help="row-generation rounds of the bound for bigger blocks")
    ap.add_argument("--bound-rounds", type=int, default=0,
                    help="rounds of the older LP bound on any matching's hours (0: skip it)")
    ap.add_argument("--groups", action="store_true", help="only the study-group comparison")
    ap.add_argument("--big-groups", action="store_true", help="only the big group blocks")
    args = ap.parse_args()
    if args.groups or args.big_groups:
        if args.groups:
            groups_vs_cpsat(args.seed)
        if args.big_groups:
            big_groups(args.seed)
        return
    sizes = args.n or [1_000, 10_000, 100_000]
    print(f"{'N':>8} {'wall s':>7} {'peak MiB':>9} {'score':>11} {'matched':>8} {'≥21d':>6} "
          f"{'% exact':>8} {'% greedy':>9} {'viol':>5}")
    ctx = mp.get_context("spawn")
    for n in sizes:
        q: mp.Queue = ctx.Queue()  # type: ignore[type-arg]
        p = ctx.Process(target=run_one, args=(n, args.seed, args.exact_limit, args.bound_rounds,
                                                  args.exact_nodes, args.lp_rounds, q))
        p.start()
        row = q.get()
        p.join()
        exact = f"{row['pct_exact']:.2f}%" if row.get("pct_exact") is not None else "n/a"
        print(f"{n:>8} {row['wall']:>7.2f} {row['peak_mib']:>9.0f} {row['score']:>11.0f} "
              f"{100 * row['matched']:>7.1f}% {100 * row['long']:>5.1f}% {exact:>8} "
              f"{row['pct_greedy']:>8.2f}% {row['violations']:>5}", flush=True)
        print(f"         {row['workers']} worker process(es), largest {row['worker_mib']:.0f} MiB; "
              f"phases: {row['seconds']}  engine pair+support score {row['engine_ps']:.0f}, "
              f"exact {row.get('exact_ps') or 'n/a'}, greedy {row['greedy_ps']:.0f}", flush=True)
        blocks = row["exact_blocks"] + row["bounded_blocks"]
        print(f"         hours together {row['eng_hours']:.1f} for {row['eng_pairs']:.0f} pairs vs "
              f"the best at the same pairs in each block {row['best_hours']:.1f}: "
              f"{row['pct_hours']:.2f}% ({row['exact_blocks']:.0f} of {blocks:.0f} blocks "
              f"exact, {100 * row['exact_share']:.1f}% of the pairs; {row['bounded_blocks']:.0f} "
              f"bounded, {row['short_blocks']:.0f} of them with fewer pairs than possible, "
              f"{row['lp_optimal_blocks']:.0f} at the LP optimum; judge {row['judge_s']:.0f} s)",
              flush=True)
        if "pct_bound" in row:
            print(f"         hours together {row['eng_hours']:.1f} vs an upper bound "
                  f"{row['bound_hours']:.1f} on any matching's (LP duals): "
                  f"{row['pct_bound']:.2f}%", flush=True)
    if not args.n:
        groups_vs_cpsat(args.seed)
        big_groups(args.seed)


if __name__ == "__main__":
    main()
