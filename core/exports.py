"""Exports for spreadsheets: CSV (UTF-8 with a BOM) or XLSX.

- Excel reads a CSV without a BOM as the local code page and garbles Arabic or Chinese
  names: CSV starts with a UTF-8 BOM.
- A cell starting with ``= + - @``, a tab or a carriage return is a formula to Excel,
  LibreOffice and Google Sheets (``=HYPERLINK("http://evil.example","click")`` in a goal):
  in CSV such a cell gets a leading ``'`` (the OWASP advice), so it shows as text.
- Both are written as they go (``ExportWriter``), a page of rows at a time.
- In XLSX every cell is written as a string with the Text format: 18-digit Discord ids and
  phone numbers stay exactly as typed (no 4.47e+17, no lost leading 0), and a cell starting
  with ``=`` is text, never a formula.
- Match and feedback exports carry display names beside the ids. An anonymous learner
  appears under their alias, in names and ids alike, so no export links them to their
  supporter.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from typing import Any, BinaryIO

from core.model import Feedback, Learner, Match, Profile, QueueEntry
from core.ports import LearnerExportRow

FORMATS = ("csv", "xlsx")
MIME = {"csv": "text/csv",
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


# A cell that starts a formula, anywhere in a row joined with NUL before every cell: one
# regex search per row instead of a check per cell (1.8 million cells at 100,000 learners).
# Every cell's start follows a NUL in the joined text, so no formula start can be missed; a
# NUL inside a cell at most sends that row to the per-cell check (never a miss).
_FORMULA_IN_ROW = re.compile("\x00[" + re.escape("".join(_FORMULA_START)) + "]")


def neutralise(value: str) -> str:
    """A cell a spreadsheet would run as a formula, made text with a leading ``'``."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def neutralise_row(cells: list[str]) -> list[str]:
    """``neutralise`` on every cell of a row; the row itself when no cell needs it."""
    if _FORMULA_IN_ROW.search("\x00" + "\x00".join(cells)) is None:
        return cells
    return [neutralise(c) for c in cells]


class ExportWriter:
    """Rows in, a file out, a page at a time: nothing but the current page is held, so a
    community of 100,000 learners is exported in bounded memory (issue 9.7).

    ``sink`` is any binary file (an open file, ``sys.stdout.buffer``, a ``BytesIO``).
    ``close()`` finishes the file (XLSX is written out then); the sink stays open."""

    def __init__(self, sink: BinaryIO, columns: list[str], fmt: str, title: str) -> None:
        if fmt not in FORMATS:
            raise ValueError(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")
        self.sink, self.columns, self.fmt, self.rows = sink, columns, fmt, 0
        if fmt == "csv":
            sink.write(BOM)  # the BOM Excel needs to read UTF-8
            self._write_csv([columns])
        else:
            self._start_xlsx(title)

    def _start_xlsx(self, title: str) -> None:
        # Imported on use: openpyxl is slow to import and only exports need it (it ships
        # no type hints; no stubs installed here).
        from openpyxl import Workbook  # type: ignore[import-untyped]
        from openpyxl.cell import WriteOnlyCell  # type: ignore[import-untyped]

        self._book = Workbook(write_only=True)  # rows go to a temporary file, not memory
        self._sheet = self._book.create_sheet(title[:31])

        def text(value: str) -> Any:
            cell = WriteOnlyCell(self._sheet, value=value)
            cell.data_type = "s"  # a string, even "=..." (openpyxl would make it a formula)
            cell.number_format = "@"
            return cell

        self._cell = text
        self._sheet.append([text(c) for c in self.columns])

    def write(self, rows: Iterable[dict[str, Any]]) -> None:
        """Append rows (dicts by column; a missing column is an empty cell)."""
        self.write_cells([str(r.get(c, "")) for c in self.columns] for r in rows)

    def write_cells(self, rows: Iterable[list[str]]) -> None:
        """Append rows given as their cells, in the order of ``columns``."""
        if self.fmt == "csv":
            cells = [neutralise_row(r) for r in rows]
            self.rows += len(cells)
            self._write_csv(cells)
            return
        for r in rows:
            self.rows += 1
            self._sheet.append([self._cell(c) for c in r])

    def _write_csv(self, cells: list[list[str]]) -> None:
        text = io.StringIO()
        csv.writer(text, lineterminator="\n").writerows(cells)
        self.sink.write(text.getvalue().encode("utf-8"))

    def close(self) -> None:
        """Finish the file (the sink stays open for its owner)."""
        if self.fmt == "xlsx":
            self._book.save(self.sink)


BOM = "\ufeff".encode()


def render(rows: list[dict[str, Any]], columns: list[str], fmt: str, title: str) -> bytes:
    """The rows as a file in ``fmt`` ("csv" or "xlsx")."""
    buf = io.BytesIO()
    writer = ExportWriter(buf, columns, fmt, title)
    writer.write(rows)
    writer.close()
    return buf.getvalue()


LEARNER_COLUMNS = ["user_id", "display_name", "mode", "topic", "languages", "timezone",
                   "availability", "cohort", "country", "setup", "support_kind", "capacity",
                   "anonymous", "goal", "contact", "queue_state", "joined_at", "banned"]


def learner_row(learner: Learner, profile: Profile | None,
                entry: QueueEntry | None) -> LearnerExportRow:
    """The export row of a learner given as domain objects (what storage reads directly)."""
    p, e = profile, entry
    return LearnerExportRow(
        learner.id or 0, learner.platform_user_id, learner.display_name, learner.banned,
        p.mode.value if p else None, p.topic if p else None, p.languages if p else None,
        p.timezone if p else None, p.availability if p else None, p.cohort if p else None,
        p.country if p else None, p.setup.value if p else None, p.support_kind if p else None,
        p.capacity if p else None, p.anonymous if p else None, p.goal if p else None,
        p.contact if p else None, e.state.value if e else None, e.joined_at if e else None)


_NO_PROFILE = [""] * 13  # the profile's cells, mode to contact, of a learner without one


def learner_cells(rows: Iterable[LearnerExportRow]) -> list[list[str]]:
    """The cells of ``LEARNER_COLUMNS`` for each learner (empty where there is no profile
    or no queue entry)."""
    out = []
    for r in rows:
        if r.mode is None:
            profile = _NO_PROFILE
        else:
            profile = [r.mode, r.topic or "", ", ".join(r.languages or ()), r.timezone or "",
                       r.availability or "", r.cohort or "", r.country or "", r.setup or "",
                       r.support_kind or "", str(r.capacity), str(bool(r.anonymous)).lower(),
                       r.goal or "", r.contact or ""]
        joined = r.joined_at.isoformat() if r.joined_at is not None else ""
        out.append([r.platform_user_id, r.display_name, *profile, r.queue_state or "", joined,
                    "true" if r.banned else "false"])
    return out


def learners_csv(learners: list[Learner], profiles: dict[int, Profile],
                 entries: dict[int, QueueEntry], fmt: str = "csv") -> bytes:
    """Learners with their profile and latest queue entry."""
    buf = io.BytesIO()
    writer = ExportWriter(buf, LEARNER_COLUMNS, fmt, "learners")
    writer.write_cells(learner_cells(learner_row(lr, profiles.get(lr.id or 0),
                                                 entries.get(lr.id or 0)) for lr in learners))
    writer.close()
    return buf.getvalue()


def _member(match: Match | None, learner_id: int, learners: dict[int, Learner],
            *, name: bool) -> str:
    """How a member appears in an export: the alias when anonymous, else the platform id
    (``name=False``) or the display name (``name=True``)."""
    if match is not None:
        for m in match.members:
            if m.learner_id == learner_id and m.alias:
                return m.alias
    learner = learners.get(learner_id)
    if learner is None:
        return str(learner_id)
    return learner.display_name if name else learner.platform_user_id


MATCH_COLUMNS = ["match_id", "kind", "created_at", "state", "members", "member_names", "roles",
                 "reasons", "score", "suggested_times", "space_id", "ended_reason", "ended_at"]


def match_rows(matches: list[Match], learners: dict[int, Learner]) -> list[dict[str, str]]:
    """The export rows of these matches (``learners``: at least their members)."""
    return [{
        "match_id": str(m.id), "kind": m.kind.value, "created_at": m.created_at.isoformat(),
        "state": m.state.value,
        "members": " ".join(_member(m, i, learners, name=False) for i in m.member_ids()),
        "member_names": "; ".join(_member(m, i, learners, name=True) for i in m.member_ids()),
        "roles": " ".join(mm.role for mm in m.members), "reasons": "; ".join(m.reasons),
        "score": f"{m.score:.3f}",
        "suggested_times": " ".join(a.isoformat() for a, _ in m.suggested_times),
        "space_id": m.space_id, "ended_reason": m.ended_reason,
        "ended_at": m.ended_at.isoformat() if m.ended_at else "",
    } for m in matches]


def matches_csv(matches: list[Match], learners: dict[int, Learner], fmt: str = "csv") -> bytes:
    """Matches with their members' ids and display names (``; `` between names)."""
    return render(match_rows(matches, learners), MATCH_COLUMNS, fmt, "matches")


def feedback_csv(items: list[Feedback], matches: dict[int, Match], learners: dict[int, Learner],
                 fmt: str = "csv") -> bytes:
    """Feedback, one row per rating, with the criteria as columns."""
    criteria = sorted({c for f in items for c in f.scores})
    cols = ["match_id", "session_id", "from", "from_name", "to", "to_name", *criteria,
            "comment", "created_at"]
    rows = []
    for f in items:
        m = matches.get(f.match_id)
        rows.append({"match_id": str(f.match_id), "session_id": str(f.session_id or ""),
                     "from": _member(m, f.from_learner, learners, name=False),
                     "from_name": _member(m, f.from_learner, learners, name=True),
                     "to": _member(m, f.to_learner, learners, name=False),
                     "to_name": _member(m, f.to_learner, learners, name=True),
                     **{c: str(f.scores.get(c, "")) for c in criteria},
                     "comment": f.comment, "created_at": f.created_at.isoformat()})
    return render(rows, cols, fmt, "feedback")
