"""A round's load and store at scale, without the engine: N learners imported from
bench/import.py's form export (the real import path), then the round's own load
(``round_load.load``, read-only unit) and store (``round_store.store_plan`` under the
community lock, in one writing unit, as ``run_round`` does), on SQLite or PostgreSQL.
The store writes the matches and ONE announcement row per match (issue 9.5); then the
dispatcher's first step is timed on its own (``announce.announce_due``: 200 matches per
transaction expanded into their DMs, spaces, check-ins and nudges), delivering nothing.

The plan stored is not the engine's: consecutive waiting learners of one mode and topic
are paired (groups of two; supporters and those they support left waiting). The engine
at 100,000 on these dense queues (4 topics, one language) takes far longer than the rest
of the round on a loaded machine, and is measured by bench/rounds.py and
bench/matching.py; this script measures what the database side costs per match stored.

    .venv/bin/python bench/round_store.py --learners 100000 [--db postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from adapters.sql import migrate  # noqa: E402
from adapters.sql.uow import SqlStorage  # noqa: E402
from core.matching.types import Candidate, MatchPlan, RoundPlan  # noqa: E402
from core.model import Mode, Round  # noqa: E402
from core.services.announce import announce_due  # noqa: E402
from core.services.context import Services  # noqa: E402
from core.services.dispatch import effective_settings  # noqa: E402
from core.services.import_file import read_table  # noqa: E402
from core.services.importing import FixedClock, import_table  # noqa: E402
from core.services.round_load import load  # noqa: E402
from core.services.round_store import store_plan  # noqa: E402

_spec = importlib.util.spec_from_file_location("bench_import", ROOT / "bench" / "import.py")
assert _spec is not None and _spec.loader is not None
bench_import = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_import)
PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432"
NOW = datetime(2026, 3, 30, 12, 0, tzinfo=UTC)  # after every timestamp of the export


def pairs_plan(candidates: list[Candidate]) -> RoundPlan:
    """Consecutive candidates of one (mode, topic) as pairs; the rest wait."""
    by_key: dict[tuple[Mode, str], list[int]] = defaultdict(list)
    for c in candidates:
        if not c.mode.is_support:
            by_key[(c.mode, c.topic_key)].append(c.learner_id)
    matches: list[MatchPlan] = []
    unmatched: dict[int, str] = {}
    for (mode, topic), ids in by_key.items():
        for i in range(0, len(ids) - 1, 2):
            matches.append(MatchPlan(mode, [(ids[i], "peer"), (ids[i + 1], "peer")], 1.0,
                                     [f"both on {topic}"]))
        if len(ids) % 2:
            unmatched[ids[-1]] = "nobody left on the same topic"
    return RoundPlan(matches, unmatched, {"bench": "pairs"})


async def run(url: str, n: int) -> str:
    await asyncio.to_thread(migrate.upgrade, url)
    storage = SqlStorage(url)
    try:
        services = Services(storage.uow_factory, FixedClock(NOW))
        rows, _ = bench_import.make_rows(n, 0.0)
        started = time.perf_counter()
        report = await import_table(services, "discord", "bench",
                                    read_table(bench_import.export_bytes(rows)))
        import_s = time.perf_counter() - started
        async with storage.uow_factory(writes=False) as uow:
            community = await uow.communities.by_external("discord", "bench")
        assert community is not None and community.id is not None
        settings = effective_settings(services, community)
        now = services.clock.now()
        started, cpu = time.perf_counter(), time.process_time()
        async with storage.uow_factory(writes=False) as uow:
            data = await load(uow, community, settings, now)
        load_s, load_cpu = time.perf_counter() - started, time.process_time() - cpu
        plan = pairs_plan(data.candidates)
        started, cpu = time.perf_counter(), time.process_time()
        async with storage.uow_factory() as uow:
            await uow.lock_community(community.id, wait=True)
            rnd = await uow.rounds.add(Round(community.id, 7, now, finished_at=now,
                                             figures=dict(plan.figures)))
            stored = await store_plan(uow, community, settings, rnd, plan, data.learners,
                                      data.profiles, now)
            await uow.commit()
        store_s, store_cpu = time.perf_counter() - started, time.process_time() - cpu
        async with storage.uow_factory(writes=False) as uow:
            rows_out = len(await uow.outbox.keys_starting(community.id, "match:"))
        rss_store = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        started, cpu = time.perf_counter(), time.process_time()
        announced = await announce_due(storage.uow_factory, services.clock, services.defaults)
        fan_s, fan_cpu = time.perf_counter() - started, time.process_time() - cpu
        async with storage.uow_factory(writes=False) as uow:
            rows_after = len(await uow.outbox.keys_starting(community.id, ""))
    finally:
        await storage.dispose()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return (f"{n:>7} learners ({report.imported} imported in {import_s:.1f} s): "
            f"load {load_s:6.2f} s (CPU {load_cpu:.1f}) · store {len(stored):,} of "
            f"{len(plan.matches):,} planned matches {store_s:6.2f} s (CPU {store_cpu:.1f}; "
            f"{rows_out:,} outbox rows keyed match:*; peak RSS then {rss_store:,.0f} MiB, the "
            f"import in the same process included) · dispatcher's expansion of "
            f"{announced:,} announcements {fan_s:6.2f} s (CPU {fan_cpu:.1f}; {rows_after:,} "
            f"outbox rows then) · peak RSS {rss:,.0f} MiB · "
            f"load average {os.getloadavg()[0]:.1f}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--learners", type=int, default=100_000)
    ap.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    ap.add_argument("--pg-url", default=PG_URL, help="server URL without a database name")
    opts = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if opts.db == "sqlite":
            print(asyncio.run(run(f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}",
                                  opts.learners)) + " · SQLite")
            return 0
        name = f"bench_round_store_{os.getpid()}"
        psql = ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "test", "-qc"]
        subprocess.run([*psql, f'CREATE DATABASE "{name}"'], check=True, capture_output=True)
        try:
            print(asyncio.run(run(f"{opts.pg_url}/{name}", opts.learners)) + " · PostgreSQL")
        finally:
            subprocess.run([*psql, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'],
                           check=False, capture_output=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
