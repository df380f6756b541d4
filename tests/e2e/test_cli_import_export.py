"""`peermatch import --dry-run`, a cp1252 `;` export with a bad row, and `peermatch export
--format xlsx`, run as an operator would (real processes, a real SQLite file)."""

from __future__ import annotations

import io
from pathlib import Path

from openpyxl import load_workbook

from tests.e2e.test_cli import peermatch, workdir  # noqa: F401 - the fixture

EXPORT = (
    "Timestamp;Email Address;Discord ID;Name;What are you looking for?;Topic / module;"
    "Languages;Time zone;When are you free each week?;Score\r\n"
    "2026-03-01 10:00:00;ana@example.org;123456789012345678;José;Find a Study Buddy;Python;"
    "English;Europe/Paris;Mon-Fri 18:00-21:00, Sat 10:00-14:00;5\r\n"
    "2026-03-01 11:00:00;ben@example.org;223456789012345678;Zoë;study-buddy;Python;"
    "English;Europe/Berlin;Mon-Fri 18:00-21:00;4;stray\r\n"
)


def test_dry_run_then_import_then_xlsx_export(workdir: Path) -> None:  # noqa: F811
    assert peermatch("db", "upgrade", cwd=workdir).returncode == 0
    (workdir / "form.csv").write_bytes(EXPORT.encode("cp1252"))
    args = ("import", "form.csv", "--platform", "discord", "--community", "g1")
    preview = peermatch(*args, "--dry-run", cwd=workdir)
    out = preview.stdout
    assert "cp1252, semicolon-separated, 2 rows" in out, preview.stderr
    assert '"Discord ID" -> user id' in out
    assert '"Email Address" -> ignored ("Discord ID" gives the user id)' in out
    assert '"When are you free each week?" -> availability' in out
    assert '"Score" -> ignored (not understood)' in out
    assert "line 2: would import: 123456789012345678 would be queued" in out
    assert "line 3: would reject: 11 cells but the header has 10" in out
    assert "Traceback" not in preview.stderr
    nothing = peermatch("export", "learners", "--platform", "discord", "--community", "g1",
                        cwd=workdir)
    assert nothing.returncode != 0 and "no discord community 'g1'" in nothing.stderr

    real = peermatch(*args, cwd=workdir)
    assert real.returncode == 1  # one row rejected
    summary = "Imported 1 learners; 0 already imported; 0 updated; 0 skipped; 1 rejected"
    assert summary in real.stdout
    assert "1/1" not in real.stderr  # no progress bar when stderr is not a terminal...
    again = peermatch(*args, "--progress", cwd=workdir)  # ...unless asked for
    assert again.stderr.endswith("] 1/1\n"), again.stderr
    assert "Imported 0 learners; 1 already imported" in again.stdout
    assert peermatch("export", "learners", "--platform", "discord", "--community", "g1",
                     "--format", "xlsx", "--out", "l.xlsx", cwd=workdir).returncode == 0
    sheet = load_workbook(io.BytesIO((workdir / "l.xlsx").read_bytes())).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    header = list(rows[0])
    assert len(rows) == 2
    assert rows[1][header.index("user_id")] == "123456789012345678"
    assert rows[1][header.index("display_name")] == "José"
