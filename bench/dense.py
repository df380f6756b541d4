"""The engine alone on the dense queue of `bench/rounds.py`: N learners of bench/import.py's
Google Forms export (4 topics, one language, five availability choices: whole blocks of
near-identical learners), imported with `peermatch import` into a fresh SQLite file, read
back as the round reads them (`round_load.load`), then `plan_round` in this process, one
worker, one BLAS thread, the garbage collector paused (as the bot's worker pool does).

Prints per N: wall and CPU seconds of `plan_round`, the engine's phases (wall and CPU),
peak RSS, the load average, matched learners, matches and the total score.

    env -u PYTHONDONTWRITEBYTECODE .venv/bin/python bench/dense.py -n 20000 -n 100000
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy is imported

import argparse  # noqa: E402
import asyncio  # noqa: E402
import gc  # noqa: E402
import importlib.util  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
_spec = importlib.util.spec_from_file_location("bench_import", ROOT / "bench" / "import.py")
assert _spec is not None and _spec.loader is not None
bench_import = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_import)

from bot.app import build_app  # noqa: E402
from bot.config import Config  # noqa: E402
from core.matching.engine import plan_round  # noqa: E402
from core.services.dispatch import effective_settings  # noqa: E402
from core.services.round_load import load  # noqa: E402


async def _read(url: str) -> tuple[Any, ...]:
    app = build_app(Config(), database_url=url)
    try:
        async with app.services.uow_factory(writes=False) as uow:
            community = await uow.communities.by_external("discord", "bench")
            assert community is not None
            settings = effective_settings(app.services, community)
            now = app.services.clock.now()
            data = await load(uow, community, settings, now)
        return data.candidates, settings, now, data.blocked, data.past
    finally:
        await app.close()


def one(n: int) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        cwd = Path(tmp)
        rows, _ = bench_import.make_rows(n, 0.0)
        (cwd / "export.csv").write_bytes(bench_import.export_bytes(rows))
        assert bench_import.peermatch("db", "upgrade", cwd=cwd).returncode == 0
        done = bench_import.peermatch("import", "export.csv", "--platform", "discord",
                                      "--community", "bench", cwd=cwd)
        if done.returncode != 0:
            raise SystemExit(done.stderr[-2000:])
        url = f"sqlite+aiosqlite:///{cwd / 'bench.db'}"
        cands, settings, now, blocked, past = asyncio.run(_read(url))
    gc.collect()
    gc.disable()
    wall, cpu = time.perf_counter(), time.process_time()
    plan = plan_round(cands, settings=settings, now=now, seed=7, blocked=blocked,
                      past_partners=past, workers=1)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    gc.enable()
    f = plan.figures
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return (f"{n:>7} learners: plan_round {wall:.1f} s wall, CPU {cpu:.1f} s, peak RSS "
            f"{rss:,.0f} MiB, load {os.getloadavg()[0]:.1f} · matched {f['matched']:,} of "
            f"{f['queued']:,}, {f['matches']:,} matches, score {f['total_score']:,.1f}\n"
            f"         phases (wall): {f['seconds']}\n"
            f"         phases (CPU):  {f['cpu_seconds']}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, action="append", help="queue sizes (default 20,000)")
    for n in ap.parse_args().n or [20_000]:
        print(one(n), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
