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
