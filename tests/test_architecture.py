"""Rules of the house that code review alone would miss."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# What core/ must never import; ruff's TID251 (banned-api in pyproject.toml) enforces it.
PLATFORM_DATABASE_SCHEDULER = {"discord", "slack_bolt", "slack_sdk", "sqlalchemy", "aiosqlite",
                               "asyncpg", "apscheduler", "alembic", "aiohttp"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def _ruff_banned_imports(root: Path, *paths: str) -> subprocess.CompletedProcess[str]:
    """Run only ruff's banned-import rule (TID251) under `root` with that tree's pyproject."""
    return subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", "--select", "TID251",
         "--output-format", "concise", *paths],
        cwd=root, capture_output=True, text=True, check=False,
    )


def test_ruff_bans_platform_database_and_scheduler_libraries_in_core() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    lint = config["tool"]["ruff"]["lint"]
    assert "TID251" in lint["select"]
    banned = set(lint["flake8-tidy-imports"]["banned-api"])
    assert banned >= PLATFORM_DATABASE_SCHEDULER
    assert banned >= {"gc", "multiprocessing", "uuid", "threadpoolctl", "matplotlib.pyplot"}


def test_core_imports_no_platform_database_or_scheduler_library() -> None:
    result = _ruff_banned_imports(ROOT, "core")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_ban_reports_core_and_spares_adapters(tmp_path: Path) -> None:
    # A throwaway tree with the real configuration proves the rule can fail, and that the
    # per-file-ignores limit it to core/ (adapters/sql must import sqlalchemy).
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    offending = "import sqlalchemy\nfrom discord import ui\n"
    for package in ("core", "adapters"):
        (tmp_path / package).mkdir()
        (tmp_path / package / "offender.py").write_text(offending, encoding="utf-8")
    result = _ruff_banned_imports(tmp_path, "core", "adapters")
    reported = [line for line in result.stdout.splitlines() if "TID251" in line]
    assert result.returncode == 1
    assert sorted(line.split(":")[0].replace("\\", "/") for line in reported) == [
        "core/offender.py", "core/offender.py"]
    assert any("`sqlalchemy` is banned" in line for line in reported)
    assert any("`discord` is banned" in line for line in reported)


def test_core_never_reads_the_wall_clock() -> None:
    pattern = re.compile(r"datetime\.(utcnow|now)\(|date\.today\(|time\.time\(")
    offenders = [str(p.relative_to(ROOT)) for p in (ROOT / "core").rglob("*.py")
                 if pattern.search(p.read_text(encoding="utf-8"))]
    assert offenders == []


def test_only_the_sql_adapter_and_migrations_import_sqlalchemy() -> None:
    allowed = ("adapters/sql", "migrations", "tests", "bench")
    offenders = [str(p.relative_to(ROOT)) for p in ROOT.rglob("*.py")
                 if ".venv" not in p.parts and "sqlalchemy" in _imports(p)
                 and not str(p.relative_to(ROOT)).startswith(allowed)]
    assert offenders == []


def test_adapters_do_not_import_each_other() -> None:
    platforms = ("discord", "slack", "console")
    for name in platforms:
        for path in (ROOT / "adapters" / name).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            for other in platforms:
                if other != name:
                    assert f"adapters.{other}" not in text, f"{path} imports adapters.{other}"


# Process-wide effects belong to bot/ (bot/process.py), injected into the core as ports.
PROCESS_WIDE = {"gc", "multiprocessing", "concurrent.futures.process", "threadpoolctl", "uuid",
                "matplotlib.pyplot", "ctypes"}


def _process_wide_uses(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[str] = []
    for node in ast.walk(tree):
        modules: list[str] = []
        if isinstance(node, ast.Import):
            modules = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
        found += [m for m in modules if m in PROCESS_WIDE or m.split(".")[0] in PROCESS_WIDE
                  or m == "concurrent.futures.ProcessPoolExecutor" or m == "os.fork"]
        if isinstance(node, ast.Attribute) and node.attr in ("fork", "use", "sched_setaffinity"):
            base = node.value
            if isinstance(base, ast.Name) and base.id in ("os", "matplotlib"):
                found.append(f"{base.id}.{node.attr}")
    return found


def test_core_has_no_process_wide_effects() -> None:
    offenders = {str(p.relative_to(ROOT)): _process_wide_uses(p)
                 for p in (ROOT / "core").rglob("*.py") if _process_wide_uses(p)}
    assert offenders == {}


def test_the_process_wide_check_finds_what_it_looks_for(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("import gc\nimport os\nimport matplotlib\nfrom uuid import uuid4\n"
                      "from concurrent.futures import ProcessPoolExecutor\n"
                      "import matplotlib.pyplot as plt\nos.fork()\nmatplotlib.use('Agg')\n",
                      encoding="utf-8")
    assert sorted(_process_wide_uses(sample)) == sorted(
        ["gc", "uuid", "uuid.uuid4", "concurrent.futures.ProcessPoolExecutor",
         "matplotlib.pyplot", "os.fork", "matplotlib.use"])
