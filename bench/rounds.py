"""A matching round end to end, as an operator runs it: `peermatch round --json` in its own
process on a database holding N learners imported with `peermatch import` (the Google Forms
export of bench/import.py), on SQLite or PostgreSQL.

Prints, per N: the phases the round reports (load: queue, profiles, ratings, blocks, past
partners; solve: the engine; store: the matches, their queue updates and outbox rows), the
process's wall time from start to exit (imports, start-up and JSON output included), the
engine's own figure, and the peak RSS of the round's process and of its largest worker.

    .venv/bin/python bench/rounds.py --learners 1000 --learners 10000 [--db postgres]
    .venv/bin/python bench/rounds.py --learners 100000 --dry-run
    .venv/bin/python bench/rounds.py --learners 100000 --matching-workers 0  # a worker per core
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("bench_import", ROOT / "bench" / "import.py")
assert _spec is not None and _spec.loader is not None
bench_import = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_import)

PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432"
# `peermatch` itself, with the process's peak memory printed on stderr when it exits.
_WRAPPER = """
import atexit, json, resource, sys
def _rss():
    me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print("BENCH-RSS " + json.dumps({"self_kib": me, "children_kib": kids}), file=sys.stderr)
atexit.register(_rss)
from bot.cli import main
sys.argv[0] = "peermatch"
raise SystemExit(main(sys.argv[1:]))
"""


def run(*args: str, cwd: Path, url: str) -> subprocess.CompletedProcess[str]:
    env = bench_import.product_env(cwd, url)
    if (cwd / "bench.toml").exists():  # --matching-workers
        env["PEERMATCH_CONFIG"] = str(cwd / "bench.toml")
    return subprocess.run([sys.executable, "-c", _WRAPPER, *args], cwd=cwd, env=env,
                          capture_output=True, text=True, check=False)


def _psql(sql: str) -> None:
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "test", "-qc", sql],
                   check=True, capture_output=True)


def one(n: int, cwd: Path, url: str, dry_run: bool) -> str:
    rows, _ = bench_import.make_rows(n, 0.0)
    (cwd / "export.csv").write_bytes(bench_import.export_bytes(rows))
    assert run("db", "upgrade", cwd=cwd, url=url).returncode == 0
    where = ["--platform", "discord", "--community", "bench"]
    started = time.perf_counter()
    imported = run("import", "export.csv", *where, cwd=cwd, url=url)
    import_s = time.perf_counter() - started
    if imported.returncode not in (0, 1):
        raise SystemExit(imported.stderr)
    started, cpu = time.perf_counter(), bench_import._children_cpu()
    result = run("round", "--json", "--seed", "7", *where, *(["--dry-run"] if dry_run else []),
                 cwd=cwd, url=url)
    total, cpu = time.perf_counter() - started, bench_import._children_cpu() - cpu
    if result.returncode != 0:
        raise SystemExit(result.stderr[-3000:])
    plan = json.loads(result.stdout)
    rss = json.loads(next(line for line in result.stderr.splitlines()
                          if line.startswith("BENCH-RSS "))[len("BENCH-RSS "):])
    phases = plan.get("seconds", {})
    engine = (plan.get("figures", {}).get("seconds") or {}).get("wall")
    return (f"{n:>7} learners ({'dry run' if dry_run else 'stored'}): "
            f"load {phases.get('load', 0):6.2f} s · solve {phases.get('solve', 0):6.2f} s · "
            f"store {phases.get('store', 0):6.2f} s · total {total:6.2f} s (process; "
            f"CPU {cpu:.1f} s, load {os.getloadavg()[0]:.1f}) · "
            f"engine alone {engine} s · peak RSS {rss['self_kib'] / 1024:,.0f} MiB "
            f"(largest worker {rss['children_kib'] / 1024:,.0f} MiB) · "
            f"{len(plan['matches'])} matches, {len(plan.get('unmatched', []))} waiting · "
            f"import {import_s:5.1f} s")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--learners", type=int, action="append",
                    help="queue sizes (repeatable; default 1,000 and 10,000)")
    ap.add_argument("--dry-run", action="store_true", help="preview the round (store nothing)")
    ap.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    ap.add_argument("--pg-url", default=PG_URL, help="server URL without a database name")
    ap.add_argument("--matching-workers", type=int, default=None,
                    help="[community] matching_workers for the round (default: the bot's, 1; "
                         "0 = a worker process per core)")
    opts = ap.parse_args()
    os.environ.pop("PEERMATCH_TEST_POSTGRES_URL", None)
    for n in opts.learners or [1_000, 10_000]:
        with tempfile.TemporaryDirectory() as tmp:
            cwd = Path(tmp)
            if opts.matching_workers is not None:
                (cwd / "bench.toml").write_text(
                    f"[community]\nmatching_workers = {opts.matching_workers}\n")
            if opts.db == "sqlite":
                print(one(n, cwd, f"sqlite+aiosqlite:///{cwd / 'bench.db'}", opts.dry_run))
                continue
            name = f"bench_rounds_{os.getpid()}_{n}"
            _psql(f'CREATE DATABASE "{name}"')
            try:
                print(one(n, cwd, f"{opts.pg_url}/{name}", opts.dry_run) + " · PostgreSQL")
            finally:
                _psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
