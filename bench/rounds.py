"""A matching round end to end, as an operator runs it: `peermatch round --dry-run --json`
in its own process on a SQLite database holding N learners imported with `peermatch import`
(the Google Forms export of bench/import.py). The time covers process start, loading the
queue from the database, the engine and printing the plan; `--real` times a stored round
(matches, DMs and spaces written to the outbox) instead.

    .venv/bin/python bench/rounds.py --learners 10000
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("bench_import", ROOT / "bench" / "import.py")
assert _spec is not None and _spec.loader is not None
bench_import = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_import)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--learners", type=int, action="append",
                    help="queue sizes (repeatable; default 1,000 and 10,000)")
    ap.add_argument("--real", action="store_true", help="store the round (not a dry run)")
    opts = ap.parse_args()
    for n in opts.learners or [1_000, 10_000]:
        rows, _ = bench_import.make_rows(n, 0.0)
        with tempfile.TemporaryDirectory() as tmp:
            cwd = Path(tmp)
            (cwd / "export.csv").write_bytes(bench_import.export_bytes(rows))
            assert bench_import.peermatch("db", "upgrade", cwd=cwd).returncode == 0
            where = ["--platform", "discord", "--community", "bench"]
            imported = bench_import.peermatch("import", "export.csv", *where, cwd=cwd)
            if imported.returncode not in (0, 1):
                print(imported.stderr, file=sys.stderr)
                return 1
            args = ["round", "--json", "--seed", "7", *where]
            started = time.perf_counter()
            result = bench_import.peermatch(*args, *([] if opts.real else ["--dry-run"]),
                                            cwd=cwd)
            elapsed = time.perf_counter() - started
        if result.returncode != 0:
            print(result.stderr, file=sys.stderr)
            return 1
        plan = json.loads(result.stdout)
        engine = (plan.get("figures", {}).get("seconds") or {}).get("wall")
        print(f"{n:>7} learners: round {'stored' if opts.real else 'dry run'} end to end "
              f"{elapsed:6.2f} s; {len(plan['matches'])} matches, "
              f"{len(plan.get('unmatched', []))} waiting; engine alone {engine} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
