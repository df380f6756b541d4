"""Exports for spreadsheets (issue 11, "Export"): formulas neutralised, a BOM for Excel,
XLSX cells that stay text, display names in match exports. The last test goes through the
real `/peeradmin export` path on SQLite."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import load_workbook

from core import exports
from core.model import Feedback, Learner, Match, MatchMember, Mode, Profile, QueueEntry
from tests.helpers import Bot

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
EVIL = '=HYPERLINK("http://evil.example","click")'


def _learners() -> tuple[list[Learner], dict[int, Profile], dict[int, QueueEntry]]:
    ana = Learner(1, "123456789012345678", "أمينة 李娜", id=1)
    ben = Learner(1, "U0BEN", "Ben", id=2)
    profiles = {
        1: Profile(1, Mode.STUDY_BUDDY, "Python", ("English",), "Europe/London", "Flexible",
                   goal=EVIL, contact="+447700900001"),
        2: Profile(2, Mode.STUDY_BUDDY, "Python", ("English",), "Europe/London", "Flexible",
                   goal="-1 exam", contact="00447700900002"),
    }
    entries = {1: QueueEntry(1, 1, Mode.STUDY_BUDDY, T0)}
    return [ana, ben], profiles, entries


def _read_csv(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


@pytest.mark.parametrize("text", [EVIL, "+1+2", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd"])
def test_formula_like_cells_are_neutralised(text: str) -> None:
    assert exports.neutralise(text) == "'" + text
    for safe in ("Ana", "0044770090012", "a=b", ""):
        assert exports.neutralise(safe) == safe


@given(st.lists(st.text(alphabet=st.sampled_from("=+-@\t\r\x00a '"), max_size=4)
                | st.text(), max_size=6))
def test_a_row_is_neutralised_exactly_as_each_of_its_cells(cells: list[str]) -> None:
    # The one-regex-per-row fast path (issue 9.7) must never let a formula start through.
    assert exports.neutralise_row(list(cells)) == [exports.neutralise(c) for c in cells]


def test_csv_starts_with_a_bom_and_keeps_names_ids_and_phones() -> None:
    data = exports.learners_csv(*_learners())
    assert data.startswith(b"\xef\xbb\xbf")  # Excel then reads UTF-8, not the code page
    rows = _read_csv(data)
    assert rows[0]["display_name"] == "أمينة 李娜"
    assert rows[0]["user_id"] == "123456789012345678"
    assert rows[0]["goal"] == "'" + EVIL  # shown as text, never a live link
    assert rows[0]["contact"] == "'+447700900001" and rows[1]["contact"] == "00447700900002"
    assert rows[1]["goal"] == "'-1 exam"


def test_xlsx_cells_are_text_and_read_back_exactly() -> None:
    data = exports.learners_csv(*_learners(), fmt="xlsx")
    sheet = load_workbook(io.BytesIO(data)).active
    assert sheet is not None
    header = [c.value for c in sheet[1]]
    col = {name: i for i, name in enumerate(header)}
    ana, ben = sheet[2], sheet[3]
    for cell in (ana[col["user_id"]], ana[col["contact"]], ben[col["contact"]],
                 ana[col["goal"]], ana[col["capacity"]]):
        assert cell.data_type == "s" and cell.number_format == "@"
    assert ana[col["user_id"]].value == "123456789012345678"  # not 1.23456789012346e+17
    assert ben[col["contact"]].value == "00447700900002"  # the leading zeros stay
    assert ana[col["goal"]].value == EVIL  # a string cell: text, not a formula
    assert ana[col["display_name"]].value == "أمينة 李娜"
    with pytest.raises(ValueError, match="unknown export format"):
        exports.learners_csv(*_learners(), fmt="ods")


def test_match_and_feedback_exports_carry_display_names_and_aliases() -> None:
    learners, _, _ = _learners()
    by_id = {lr.id or 0: lr for lr in learners}
    lee = Learner(1, "U0LEE", "Lee Secret", id=3)
    by_id[3] = lee
    pair = Match(1, Mode.STUDY_BUDDY, [MatchMember(1), MatchMember(2)], ["same topic"], T0, id=7)
    support = Match(1, Mode.NEED_SUPPORT, [MatchMember(2, "supporter"),
                                           MatchMember(3, "supported", alias="Anonymous owl")],
                    ["support"], T0, id=8)
    rows = _read_csv(exports.matches_csv([pair, support], by_id))
    assert rows[0]["member_names"] == "أمينة 李娜; Ben"
    assert rows[0]["members"] == "123456789012345678 U0BEN"
    assert rows[1]["member_names"] == "Ben; Anonymous owl" and "Lee" not in str(rows[1])
    feedback = [Feedback(8, 3, 2, {"clarity": 5}, "thanks", T0)]
    [fb] = _read_csv(exports.feedback_csv(feedback, {8: support}, by_id))
    assert fb["from_name"] == "Anonymous owl" and fb["to_name"] == "Ben"
    assert "U0LEE" not in str(fb) and "Secret" not in str(fb)


async def test_the_admin_export_neutralises_what_a_learner_typed(sqlite_storage: Any) -> None:
    bot = Bot(sqlite_storage)
    assert (await bot.join("ana", goal=EVIL)).ok
    reply = await bot.run("mod", "peeradmin export", what="learners")
    [file] = reply.attachments
    assert file.content.startswith(b"\xef\xbb\xbf")
    [row] = [r for r in _read_csv(file.content) if r["user_id"] == "ana"]
    assert row["goal"] == "'" + EVIL


async def test_exports_walk_the_community_a_page_at_a_time(sqlite_storage: Any,
                                                           monkeypatch: Any) -> None:
    from core.services import reports

    monkeypatch.setattr(reports, "EXPORT_PAGE", 2)
    monkeypatch.setattr(reports, "MATCH_PAGE", 1)
    bot = Bot(sqlite_storage)
    for user in ("ana", "ben", "cai", "dee", "eve"):
        assert (await bot.join(user)).ok
    assert (await bot.run("mod", "peeradmin match-now")).ok
    async with sqlite_storage.uow_factory() as uow:
        community = await uow.communities.by_external("test", bot.community)
        learners, n = await reports.export_csv(uow, community.id, "learners")
        matches, m = await reports.export_csv(uow, community.id, "matches")
    rows = _read_csv(learners)
    assert n == len(rows) == 6  # five learners and the moderator, each once, in id order
    assert [r["user_id"] for r in rows] == ["ana", "ben", "cai", "dee", "eve", "mod"]
    assert {r["queue_state"] for r in rows[:5]} <= {"matched", "waiting"}
    pairs = _read_csv(matches)
    assert m == len(pairs) == 2 and all(len(p["members"].split()) == 2 for p in pairs)
    assert learners.count(b"\xef\xbb\xbf") == 1  # one BOM, at the start, not one per page
