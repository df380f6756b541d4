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
from collections.abc import Iterable
from typing import Any, BinaryIO

from core.model import Feedback, Learner, Match, Profile, QueueEntry

FORMATS = ("csv", "xlsx")
MIME = {"csv": "text/csv",
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: str) -> str:
    """A cell a spreadsheet would run as a formula, made text with a leading ``'``."""
    return "'" + value if value.startswith(_FORMULA_START) else value


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
        if self.fmt == "csv":
            cells = [[neutralise(str(r.get(c, ""))) for c in self.columns] for r in rows]
            self.rows += len(cells)
            self._write_csv(cells)
            return
        for r in rows:
            self.rows += 1
            self._sheet.append([self._cell(str(r.get(c, ""))) for c in self.columns])

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


def learner_rows(learners: list[Learner], profiles: dict[int, Profile],
                 entries: dict[int, QueueEntry]) -> list[dict[str, str]]:
    rows = []
    for learner in learners:
        p = profiles.get(learner.id or 0)
        e = entries.get(learner.id or 0)
        rows.append({
            "user_id": learner.platform_user_id, "display_name": learner.display_name,
            "mode": p.mode.value if p else "", "topic": p.topic if p else "",
            "languages": ", ".join(p.languages) if p else "", "timezone": p.timezone if p else "",
            "availability": p.availability if p else "", "cohort": p.cohort if p else "",
            "country": p.country if p else "", "setup": p.setup.value if p else "",
            "support_kind": p.support_kind if p else "", "capacity": str(p.capacity) if p else "",
            "anonymous": str(p.anonymous).lower() if p else "", "goal": p.goal if p else "",
            "contact": p.contact if p else "", "queue_state": e.state.value if e else "",
            "joined_at": e.joined_at.isoformat() if e else "",
            "banned": str(learner.banned).lower(),
        })
    return rows


def learners_csv(learners: list[Learner], profiles: dict[int, Profile],
                 entries: dict[int, QueueEntry], fmt: str = "csv") -> bytes:
    """Learners with their profile and latest queue entry."""
    return render(learner_rows(learners, profiles, entries), LEARNER_COLUMNS, fmt, "learners")


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
