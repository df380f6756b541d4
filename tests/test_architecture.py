"""Rules of the house that code review alone would miss."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = {"discord", "slack_bolt", "slack_sdk", "sqlalchemy", "aiosqlite", "asyncpg",
             "apscheduler", "alembic", "aiohttp"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_core_imports_no_platform_database_or_scheduler_library() -> None:
    offenders = {str(p.relative_to(ROOT)): sorted(_imports(p) & FORBIDDEN)
                 for p in (ROOT / "core").rglob("*.py") if _imports(p) & FORBIDDEN}
    assert offenders == {}


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
