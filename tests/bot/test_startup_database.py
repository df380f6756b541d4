"""`peermatch run` refuses a database it cannot write, with a clear message (issue 10.6):
before, a read-only SQLite file started anyway and answered "Sorry" to every command."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from adapters.sql import migrate

ROOT = Path(__file__).resolve().parents[2]


def _run(url: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PEERMATCH_CONFIG": str(tmp_path / "none.toml"),
           "PEERMATCH_BOT_PLATFORMS": "console"}
    # stdin is not a terminal: a bot that did start would serve its outbox until killed.
    return subprocess.run([sys.executable, "-m", "bot.cli", "--database", url, "run"],
                          cwd=tmp_path, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=120, check=False)


def test_run_refuses_a_read_only_sqlite_file(tmp_path: Path) -> None:
    db = tmp_path / "data" / "peermatch.db"
    migrate.upgrade(f"sqlite+aiosqlite:///{db}")
    for path in (db, db.parent):  # the file, and the folder its -wal/-shm files live in
        path.chmod(stat.S_IRUSR | stat.S_IXUSR if path.is_dir() else stat.S_IRUSR)
    try:
        url = f"sqlite+aiosqlite:///{db}"
        if os.geteuid() == 0:
            # root writes through file modes; open the chmod'ed file the way SQLite opens
            # a file it may not write (read-only), as any other user would get it.
            url = f"sqlite+aiosqlite:///file:{db}?mode=ro&uri=true"
        done = _run(url, tmp_path)
    finally:
        db.parent.chmod(stat.S_IRWXU)
        db.chmod(stat.S_IRUSR | stat.S_IWUSR)
    assert done.returncode == 3, (done.stdout, done.stderr)
    assert "cannot be used: it does not take writes" in done.stderr
    assert "PeerMatch running" not in done.stderr + done.stdout
