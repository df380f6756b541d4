"""docs/architecture.md stays true: every path it names exists, and so does every section
that a docstring sends the reader to."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "architecture.md"
TOP = ("core", "adapters", "bot", "migrations", "tests", "bench", "docs")
# A path in backticks: `core/services/dispatch.py`, `adapters/slack/`, `README.md`; a trailing
# "(...)" or " name" after the path (`core/services/delivery.py` `expired`) is not part of it.
_PATH = re.compile(r"`((?:" + "|".join(TOP) + r")/[\w./-]*|[\w-]+\.(?:md|toml|ini|py))`")
# A section reference in a docstring: the document's path, a comma, then one or more quoted
# titles ("A" and "B"); a title may wrap onto the next line.
_SECTION_REF = re.compile(r'docs/architecture\.md,\s+((?:"[^"]+"(?:\s*(?:and|,)\s*)?)+)')


def named_paths(text: str) -> set[str]:
    """Every repository path the text names in backticks."""
    return {m.group(1).rstrip("/") for m in _PATH.finditer(text)}


def sections(text: str) -> set[str]:
    return {line.lstrip("#").strip() for line in text.splitlines() if line.startswith("## ")}


def test_the_document_names_paths_at_all() -> None:
    # A guard for the test itself: a regex that matched nothing would pass vacuously.
    paths = named_paths(DOC.read_text(encoding="utf-8"))
    assert {"core/services/dispatch.py", "adapters/slack/flow.py", "bot/scheduler.py",
            "core/messages.py", "tests/fakes.py"} <= paths
    assert named_paths("see `core/nothing_here.py` and `adapters/slack/`") == {
        "core/nothing_here.py", "adapters/slack"}


def test_every_path_named_in_the_architecture_document_exists() -> None:
    missing = sorted(p for p in named_paths(DOC.read_text(encoding="utf-8"))
                     if not (ROOT / p).exists())
    assert missing == []


def test_the_document_keeps_the_sections_others_rely_on() -> None:
    assert {"Layers", "The flow of one command", "Where each rule lives",
            "The outbox and its exactly-once rules", "Testing offline",
            "What happens when ..."} <= sections(DOC.read_text(encoding="utf-8"))


def test_sections_referenced_from_the_code_exist() -> None:
    have = sections(DOC.read_text(encoding="utf-8"))
    referenced: dict[str, str] = {}
    for top in ("core", "adapters", "bot", "tests"):
        for path in (ROOT / top).rglob("*.py"):
            for m in _SECTION_REF.finditer(path.read_text(encoding="utf-8")):
                for title in re.findall(r'"([^"]+)"', m.group(1)):
                    referenced[" ".join(title.split())] = str(path.relative_to(ROOT))
    assert referenced, "no docstring refers to docs/architecture.md sections"
    assert {t: p for t, p in referenced.items() if t not in have} == {}


def test_no_code_refers_to_the_design_document_that_is_not_in_the_repository() -> None:
    old_name = re.compile(r"\b" + "DES" + r"IGN\b")  # spelt apart so this file passes a grep
    offenders = [str(p.relative_to(ROOT)) for top in ("core", "adapters", "bot", "tests")
                 for p in (ROOT / top).rglob("*.py")
                 if old_name.search(p.read_text(encoding="utf-8"))]
    assert offenders == []


def _rule_rows(text: str) -> list[str]:
    """The rows of the "Where each rule lives" table."""
    section = text.split("## Where each rule lives", 1)[1].split("\n## ", 1)[0]
    return [line for line in section.splitlines() if line.startswith("| ") and ".py" in line]


def test_every_function_the_rule_table_names_is_defined_in_its_row_modules() -> None:
    rows = _rule_rows(DOC.read_text(encoding="utf-8"))
    assert len(rows) >= 20
    missing = []
    for row in rows:
        sources = "\n".join((ROOT / p).read_text(encoding="utf-8")
                            for p in named_paths(row) if p.endswith(".py"))
        # `Learner.is_paused`, `name_for`: the last part must be a def or class of the row.
        for name in re.findall(r"`(?:[A-Z]\w*\.)?([a-z_]\w*)`", row):
            if not re.search(rf"^\s*(?:async\s+)?(?:def|class)\s+{name}\b", sources, re.M):
                missing.append(f"{name} ({row.split('|')[1].strip()})")
    assert missing == []
