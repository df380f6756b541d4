"""Import a Google Forms export the way an operator does: `peermatch import` in its own
process, on a fresh SQLite file in a temporary folder.

The file: ROWS rows (default 10,000), cp1252, `;`-separated (Excel's "CSV" in much of
Europe), names with accents, 5 % bad rows of five kinds (extra cells, no id, unknown zone,
unknown mode, bad availability). Prints the wall time of the import, rows per second and
the report's totals, and checks that every row is accounted for.

    .venv/bin/python bench/import.py [--rows 10000] [--bad 0.05] [--dry-run] [--again]
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEADERS = ["Timestamp", "Email Address", "Discord ID", "Name", "What are you looking for?",
           "Topic / module", "Languages", "Time zone", "When are you free each week?",
           "Preferred setup", "Phone", "Score"]
NAMES = ["José", "Zoë", "Anaïs", "Björn", "Çelik", "Dvorák", "Éloïse", "Frédéric", "Günter",
         "Håkon", "Iñaki", "Jürgen", "Šárka", "Møller", "Noël", "Ørjan"]
MODES = ["Find a Study Buddy", "Study group", "Accountability partner", "study-buddy"]
TOPICS = ["Python", "Data Science", "Calculus", "Spanish"]
ZONES = ["Europe/Paris", "Europe/Berlin", "Europe/Madrid", "America/New_York", "Asia/Kolkata",
         "Africa/Lagos"]
WINDOWS = ["Mon-Fri 18:00-21:00", "Tue/Thu 19:00-22:00", "Sat 10:00-14:00, Sun 14:00-18:00",
           "Flexible", "Mon/Wed 07:00-09:00"]
BAD_KINDS = ("extra cells", "no id", "unknown zone", "unknown mode", "bad availability")


def make_rows(count: int, bad_share: float, seed: int = 11) -> tuple[list[list[str]], int]:
    """The rows and how many of them are bad."""
    rng = random.Random(seed)
    rows, bad = [], 0
    for i in range(count):
        cells = [f"2026-03-{1 + i % 28:02d} {8 + i % 12:02d}:{i % 60:02d}:00",
                 f"person{i}@example.org", str(100000000000000000 + i),
                 f"{rng.choice(NAMES)} {i}", rng.choice(MODES), rng.choice(TOPICS),
                 "English", rng.choice(ZONES), rng.choice(WINDOWS),
                 rng.choice(["video", "voice", "text", "any"]), f"0{rng.randint(6e8, 8e8)}",
                 str(rng.randint(0, 10))]
        if rng.random() < bad_share:
            bad += 1
            kind = BAD_KINDS[bad % len(BAD_KINDS)]
            if kind == "extra cells":
                cells.append("stray")
            elif kind == "no id":
                cells[2] = ""
            elif kind == "unknown zone":
                cells[7] = "Mars/Olympus"
            elif kind == "unknown mode":
                cells[4] = "Dancing"
            else:
                cells[8] = "whenever really"
        rows.append(cells)
    return rows, bad


def export_bytes(rows: list[list[str]]) -> bytes:
    buf = io.StringIO()
    csv.writer(buf, delimiter=";", lineterminator="\r\n").writerows([HEADERS, *rows])
    return buf.getvalue().encode("cp1252")


def _children_cpu() -> float:
    """User + system CPU seconds of the finished child processes so far: on a shared
    machine the wall time says how busy the others were, the CPU time what the work cost."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def product_env(cwd: Path, url: str) -> dict[str, str]:
    """The environment `peermatch` runs in here: this machine sets PYTHONDONTWRITEBYTECODE,
    which would make every process recompile ~600 modules (5-12 s under load, more than
    some of the work measured); the Makefile runs the bot without it, and so do the benches
    (an operator's machine keeps its bytecode)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return {**env, "PYTHONPATH": str(ROOT), "PEERMATCH_CONFIG": str(cwd / "none.toml"),
            "PEERMATCH_DATABASE_URL": url}


def peermatch(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = product_env(cwd, f"sqlite+aiosqlite:///{cwd / 'bench.db'}")
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, check=False)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=10_000)
    ap.add_argument("--bad", type=float, default=0.05, help="share of bad rows")
    ap.add_argument("--dry-run", action="store_true", help="time `import --dry-run` instead")
    ap.add_argument("--again", action="store_true",
                    help="then import the same file a second time (everything already imported)")
    opts = ap.parse_args()
    rows, bad = make_rows(opts.rows, opts.bad)
    with tempfile.TemporaryDirectory() as tmp:
        cwd = Path(tmp)
        (cwd / "export.csv").write_bytes(export_bytes(rows))
        assert peermatch("db", "upgrade", cwd=cwd).returncode == 0
        args = ["import", "export.csv", "--platform", "discord", "--community", "bench"]
        started, cpu_before = time.perf_counter(), _children_cpu()
        result = peermatch(*args, *(["--dry-run"] if opts.dry_run else []), cwd=cwd)
        elapsed, cpu = time.perf_counter() - started, _children_cpu() - cpu_before
        if opts.again:
            started = time.perf_counter()
            again = peermatch(*args, cwd=cwd)
            again_s = time.perf_counter() - started
            line = next((x for x in again.stdout.splitlines() if "learners;" in x), "")
            print(f"second import of the same file: {again_s:.2f} s: {line}")
    out = result.stdout
    if "Traceback" in result.stderr:
        print(result.stderr, file=sys.stderr)
        return 1
    first = out.splitlines()[0] if out else ""
    summary = next((line for line in out.splitlines() if "learners;" in line), "")
    numbers = [int(n) for n in re.findall(r"(\d+) (?:learners|already|updated|skipped|"
                                          r"rejected|rows)", summary)]
    print(f"{first}")
    print(f"rows: {opts.rows} ({bad} bad), process wall time {elapsed:.2f} s, "
          f"{opts.rows / elapsed:,.0f} rows/s (start-up and migrations check included); "
          f"CPU {cpu:.2f} s; load average {os.getloadavg()[0]:.1f}")
    print(f"report: {summary}")
    if len(numbers) == 6:
        imported, already, updated, skipped, rejected, total = numbers
        accounted = imported + already + updated + skipped + rejected
        print(f"accounted for: {accounted} of {total} rows; rejected {rejected} "
              f"(bad rows generated: {bad}); exit code {result.returncode}")
        return 0 if accounted == total == opts.rows else 1
    print(out[-2000:])
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
