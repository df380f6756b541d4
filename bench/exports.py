"""Exports and stats on a big community: `peermatch export learners|matches` (its own
process, to a file) and `/peeradmin stats` (through the core's one entry point, chart
included, rendered off the event loop), with N learners stored.

The community: N learners imported from the demo's form rows (the real import path), then,
written straight into the tables for speed (this is set-up, not what is measured), half of
them in N/4 matches, a session for every other match and two ratings for every fourth.

    .venv/bin/python bench/exports.py [--learners 100000] [--db sqlite|postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, update  # noqa: E402

from adapters.sql import migrate  # noqa: E402
from adapters.sql.tables import feedback, match_members, matches, queue_entries, sessions  # noqa: E402
from adapters.sql.uow import SqlStorage  # noqa: E402
from bot.sample import sample_rows  # noqa: E402
from core.services.context import Actor, CommandRequest, Services  # noqa: E402
from core.services.dispatch import handle  # noqa: E402
from core.services.importing import FixedClock, import_rows  # noqa: E402

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432"
# The child's peak RSS from VmHWM (kB): ru_maxrss survives exec on Linux, so a child of this
# bench would report the bench's own peak (the set-up's few hundred MiB), not its own.
_RSS = """
import atexit, sys
def _peak():
    hwm = [ln for ln in open("/proc/self/status") if ln.startswith("VmHWM:")]
    print("BENCH-RSS", hwm[0].split()[1], file=sys.stderr)
atexit.register(_peak)
from bot.cli import main
raise SystemExit(main(sys.argv[1:]))
"""


async def _fill(storage: SqlStorage, n: int) -> int:
    """Import n learners, then matches, sessions and feedback straight into the tables."""
    services = Services(storage.uow_factory, FixedClock(T0))
    report = await import_rows(services, "console", "bench", sample_rows(T0, n))
    assert report.imported == n, report.rejected[:3]
    async with storage.uow_factory() as uow:
        community = await uow.communities.by_external("console", "bench")
        assert community is not None and community.id is not None
        cid = community.id
        entries = await uow.queue.waiting(cid)
        conn: Any = uow.connection  # set-up only: bulk rows straight into the tables
        pairs = [(entries[i].learner_id, entries[i + 1].learner_id)
                 for i in range(0, len(entries) // 2 - 1, 2)]
        when = T0 + timedelta(days=1)
        await conn.execute(insert(matches), [
            {"community_id": cid, "round_id": None, "kind": "study-buddy",
             "reasons": ["both on Python", "6 h a week in common"],
             "suggested_times": [[when.isoformat(), (when + timedelta(hours=1)).isoformat()]],
             "score": 1.0, "space_id": f"space-{i}", "state": "active", "ended_reason": "",
             "ended_at": None, "created_at": when} for i in range(len(pairs))])
        ids = sorted(m.id or 0 for m in await uow.matches.page(cid, 0, 10 ** 9))
        await conn.execute(insert(match_members), [
            {"match_id": mid, "learner_id": lid, "role": "peer", "alias": "", "position": p}
            for mid, pair in zip(ids, pairs, strict=True) for p, lid in enumerate(pair)])
        matched = [lid for pair in pairs for lid in pair]
        for start in range(0, len(matched), 5000):
            await conn.execute(update(queue_entries).where(
                queue_entries.c.learner_id.in_(matched[start:start + 5000]))
                .values(state="matched"))
        await conn.execute(insert(feedback), [
            {"match_id": mid, "session_id": 0, "from_learner": a, "to_learner": b,
             "scores": {"clarity": 4, "engagement": 5}, "comment": "good",
             "created_at": when} for i, (mid, (a, b)) in enumerate(zip(ids, pairs, strict=True))
            if i % 4 == 0])
        await uow.commit()
    booked = [{"match_id": mid, "start": when, "end": when + timedelta(hours=1),
               "booked_by": pairs[i][0], "ics_uid": f"s{mid}@bench", "sequence": 0,
               "state": "booked"} for i, mid in enumerate(ids) if i % 2 == 0]
    # A booked session takes a transaction-scoped advisory lock per member on PostgreSQL
    # (migration 0010): 1,000 sessions a transaction stay well inside the lock table.
    for start in range(0, len(booked), 1000):
        async with storage.uow_factory() as uow:
            conn = uow.connection
            await conn.execute(insert(sessions), booked[start:start + 1000])
            await uow.commit()
    return len(pairs)


def _children_cpu() -> float:
    """User + system CPU seconds of the finished child processes (the `peermatch` one)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _export(what: str, cwd: Path, url: str) -> str:
    # As bench/import.py's product_env: without PYTHONDONTWRITEBYTECODE, as make runs it.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(PYTHONPATH=str(ROOT), PEERMATCH_CONFIG=str(cwd / "none.toml"),
               PEERMATCH_DATABASE_URL=url)
    started, cpu = time.perf_counter(), _children_cpu()
    done = subprocess.run([sys.executable, "-c", _RSS, "export", what, "--community", "bench",
                           "--out", str(cwd / f"{what}.csv")], cwd=cwd, env=env,
                          capture_output=True, text=True, check=False)
    wall, cpu = time.perf_counter() - started, _children_cpu() - cpu
    if done.returncode != 0:
        raise SystemExit(done.stderr[-2000:])
    rss = int(done.stderr.split("BENCH-RSS")[-1].split()[0]) / 1024
    size = (cwd / f"{what}.csv").stat().st_size / 2 ** 20
    return (f"export {what:>8}: {wall:6.2f} s wall, CPU {cpu:5.2f} s (process, start-up "
            "included), "
            f"{size:6.1f} MiB file, peak RSS {rss:,.0f} MiB; {done.stdout.strip()}")


async def _stats(storage: SqlStorage) -> str:
    services = Services(storage.uow_factory, FixedClock(T0 + timedelta(days=9)))
    request = CommandRequest("console", "bench", Actor("mod", "Mod", platform_admin=True),
                             "peeradmin stats")
    # The loop must stay free meanwhile: count how late a 10 ms ticker falls.
    late: list[float] = []

    async def ticker() -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(0.01)
            late.append(time.perf_counter() - before - 0.01)

    ticking = asyncio.create_task(ticker())
    walls, cpus = [], []
    for _ in range(2):  # the first one in a process also imports matplotlib
        started, cpu = time.perf_counter(), time.process_time()
        reply = await handle(services, request)
        walls.append(time.perf_counter() - started)
        cpus.append(time.process_time() - cpu)  # this process's threads (chart) included
    ticking.cancel()
    assert reply.ok and reply.attachments, reply.text
    return (f"/peeradmin stats: {walls[0]:6.2f} s wall (CPU {cpus[0]:.2f} s) first in the "
            f"process, {walls[1]:6.2f} s wall (CPU {cpus[1]:.2f} s) the next (figures and PNG "
            "chart; the bot's process CPU, the database server's not counted on PostgreSQL); "
            "event loop blocked at most "
            f"{1000 * max(late or [0]):.0f} ms; {reply.text.splitlines()[0]}")


async def _run(url: str, cwd: Path, n: int, schema_note: str) -> None:
    await asyncio.to_thread(migrate.upgrade, url)
    storage = SqlStorage(url)
    try:
        started = time.perf_counter()
        pairs = await _fill(storage, n)
        print(f"{n:,} learners, {pairs:,} matches stored in {time.perf_counter() - started:.1f} s"
              f" ({schema_note})")
        print(await _stats(storage))
    finally:
        await storage.dispose()
    for what in ("learners", "matches"):
        print(_export(what, cwd, url))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--learners", type=int, default=100_000)
    ap.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    ap.add_argument("--pg-url", default=PG_URL, help="server URL without a database name")
    opts = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cwd = Path(tmp)
        if opts.db == "sqlite":
            asyncio.run(_run(f"sqlite+aiosqlite:///{cwd / 'bench.db'}", cwd, opts.learners,
                             "SQLite"))
            return 0
        name = f"bench_exports_{os.getpid()}"
        psql = ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "test", "-qc"]
        subprocess.run([*psql, f'CREATE DATABASE "{name}"'], check=True, capture_output=True)
        try:
            asyncio.run(_run(f"{opts.pg_url}/{name}", cwd, opts.learners, "PostgreSQL"))
        finally:
            subprocess.run([*psql, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'],
                           check=False, capture_output=True)
    print(f"(this process's peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024}"
          " MiB, set-up included)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
