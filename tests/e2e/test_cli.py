"""The `peermatch` command line, run as an operator would (a real process, a real SQLite file)."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEADERS = ["Timestamp", "User ID", "Full name", "What are you looking for?", "Topic / module",
           "Languages", "Time zone", "Weekly availability", "Phone"]
GOOD = [
    ["2026-03-01 10:00:00", "U01", "Ada", "Find a Study Buddy", "Python", "English",
     "Europe/London", "Mon-Fri 18:00-21:00", "07700900001"],
    ["2026-03-01 11:00:00", "U02", "Bo", "study-buddy", "python", "English, Spanish",
     "America/New_York", "Mon-Fri 13:00-16:00", "07700900002"],
]
BAD = [
    [
        "2026-03-01 12:00:00",
        "U03",
        "Cy",
        "Find a Study Buddy",
        "Python",
        "English",
        "Mars/Olympus",
        "Mon 18:00-20:00",
        "",
    ],
    ["2026-03-01 12:00:00", "U04", "Di", "Dancing", "Python", "English", "UTC", "Mon 18-20", ""],
    [
        "2026-03-01 12:00:00",
        "U05",
        "Ed",
        "study-buddy",
        "Python",
        "English",
        "UTC",
        "Mon 18-20 and more",
        "",
    ],
]


def peermatch(*args: str, cwd: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PEERMATCH_CONFIG": str(cwd / "none.toml"),
           "PEERMATCH_DATABASE_URL": f"sqlite+aiosqlite:///{cwd / 'pm.db'}"}
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], cwd=cwd, env=env, input=stdin,
                          capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    # Run from a temporary folder but import this checkout.
    os.environ["PYTHONPATH"] = str(ROOT)
    return tmp_path


def _csv(rows: list[list[str]]) -> str:
    buf = io.StringIO()
    csv.writer(buf).writerows([HEADERS, *rows])
    return buf.getvalue()


def test_a_database_that_is_behind_is_refused(workdir: Path) -> None:
    result = peermatch("round", "--dry-run", cwd=workdir)
    assert result.returncode == 2
    assert "peermatch db upgrade" in result.stderr


def test_import_round_export_and_migrations(workdir: Path) -> None:
    assert peermatch("db", "upgrade", cwd=workdir).returncode == 0
    (workdir / "learners.csv").write_text(_csv(GOOD + BAD))
    first = peermatch("import", "learners.csv", cwd=workdir)
    assert first.returncode == 1  # some rows were rejected
    assert "Imported 2 learners" in first.stdout and "3 rejected" in first.stdout
    assert "line 4: rejected" in first.stdout and "Unknown time zone" in first.stdout
    assert "line 5: rejected: mode" in first.stdout
    assert "line 6: rejected" in first.stdout and "didn't" not in first.stdout
    again = peermatch("import", "learners.csv", cwd=workdir)
    assert "Imported 0 learners; 2 already imported" in again.stdout

    preview = peermatch("round", "--dry-run", "--json", "--seed", "7", cwd=workdir)
    assert preview.returncode == 0, preview.stderr
    plan = json.loads(preview.stdout)
    assert plan["dry_run"] is True and len(plan["matches"]) == 1
    assert {m["user_id"] for m in plan["matches"][0]["members"]} == {"U01", "U02"}
    times = [(datetime.fromisoformat(a), datetime.fromisoformat(b))
             for a, b in plan["matches"][0]["times"]]
    assert times and all(a.utcoffset() is not None and a < b for a, b in times)
    real = json.loads(peermatch("round", "--json", "--seed", "7", cwd=workdir).stdout)
    assert real["matches"] == plan["matches"]

    exported = peermatch("export", "learners", cwd=workdir)
    rows = list(csv.DictReader(io.StringIO(exported.stdout)))
    assert {r["user_id"] for r in rows} == {"U01", "U02"}
    assert {r["contact"] for r in rows} == {"07700900001", "07700900002"}
    matches = peermatch("export", "matches", "--out", "m.csv", cwd=workdir)
    assert matches.returncode == 0 and "U01" in (workdir / "m.csv").read_text()

    no_revision = peermatch("db", "downgrade", cwd=workdir)
    assert no_revision.returncode == 2 and "revision" in no_revision.stderr
    unconfirmed = peermatch("db", "downgrade", "base", cwd=workdir)  # no terminal to ask
    assert unconfirmed.returncode == 1 and "--yes" in unconfirmed.stderr
    assert peermatch("round", "--dry-run", cwd=workdir).returncode == 0  # nothing dropped
    assert peermatch("db", "downgrade", "base", "--yes", cwd=workdir).returncode == 0
    assert peermatch("round", cwd=workdir).returncode == 2


def test_console_through_stdin(workdir: Path) -> None:
    assert peermatch("db", "upgrade", cwd=workdir).returncode == 0
    script = "\n".join([
        "as ana",
        "/peer join study-buddy",
        "python",            # topic
        "English",           # languages
        "Europe/London",     # timezone
        "Mon-Fri 18:00-21:00",  # availability
        "", "United Kingdom", "video", "", "",  # cohort, country, setup, goal, contact
        "as ben",
        "/peer join study-buddy topic=Python languages=English timezone=America/New_York "
        "availability=\"Mon-Fri 12:00-17:00\"",
        "/peeradmin queue",
        "as moderator",
        "/peeradmin match-now",
        "as ana",
        "/peer status",
        "/peer unpair we found other partners",
        "quit",
    ]) + "\n"
    result = peermatch("console", cwd=workdir, stdin=script)
    out = result.stdout
    assert result.returncode == 0, result.stderr
    assert "You're in the queue for Study buddy on Python" in out
    assert "for moderators" in out  # ben is not a moderator
    assert "Round done: 1 match," in out
    assert "📨 DM to @ana" in out and "📨 DM to @ben" in out
    assert "Private space #peer-1-python opened for @ana, @ben" in out
    assert "Match #1" in out and "Europe/London" in out
    assert "Your match has ended" in out and "has left match #1" in out
    exported = peermatch("export", "matches", cwd=workdir)
    assert "ended" in exported.stdout and "unpaired: we found other partners" in exported.stdout


def test_demo_without_a_terminal_prints_the_round_and_exits(workdir: Path) -> None:
    result = peermatch("demo", "--learners", "30", cwd=workdir, stdin="")
    assert result.returncode == 0, result.stderr
    assert "Loaded a sample community of 30 learners" in result.stdout
    assert "Round done" in result.stdout and "Why" not in result.stderr
    assert result.stdout.count("Study buddy:") >= 1 and "- waiting:" in result.stdout


def test_version_and_help(workdir: Path) -> None:
    assert peermatch("version", cwd=workdir).stdout.startswith("peermatch ")
    for sub in ([], ["db"], ["round"], ["import"]):
        result = peermatch(*sub, "--help", cwd=workdir)
        assert result.returncode == 0 and "usage: peermatch" in result.stdout


def _default_env(cwd: Path) -> dict[str, str]:
    """No database configured: the CLI's default (var/peermatch.db), as after `make demo`."""
    env = {k: v for k, v in os.environ.items() if k != "PEERMATCH_DATABASE_URL"}
    return {**env, "PEERMATCH_CONFIG": str(cwd / "none.toml")}


def test_after_the_demo_the_cli_looks_at_the_demo_database_and_says_so(workdir: Path) -> None:
    # issue 14.9: `peermatch export learners` after `make demo` looked at another database.
    env = _default_env(workdir)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "bot.cli", *args], cwd=workdir, env=env,
                              input="", capture_output=True, text=True, timeout=120, check=False)

    demo = run("demo", "--learners", "20")
    assert demo.returncode == 0, demo.stderr
    assert "var/demo.db" in demo.stdout
    exported = run("export", "learners")
    assert exported.returncode == 0, exported.stderr
    assert "the demo's (var/demo.db)" in exported.stderr and "upgrade" not in exported.stderr
    assert len(list(csv.reader(io.StringIO(exported.stdout)))) == 21  # header + 20 learners
    assert not (workdir / "var" / "peermatch.db").exists()  # nothing made behind the back


def test_every_command_says_which_database_it_opened(workdir: Path) -> None:
    upgraded = peermatch("db", "upgrade", cwd=workdir)
    assert upgraded.returncode == 0, upgraded.stderr
    exported = peermatch("export", "learners", cwd=workdir)  # no community yet: refused
    for result in (upgraded, exported):
        assert f"peermatch: database sqlite+aiosqlite:///{workdir / 'pm.db'}" in result.stderr
