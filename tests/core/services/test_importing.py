"""Importing real form exports (issue 11, "Import"): each test names the finding it covers.
Real SQLite through the shared fixtures; files are built as bytes, as operators send them."""

from __future__ import annotations

import codecs
import csv
import io
from typing import Any

import pytest
from sqlalchemy import event

from core.services.context import Services
from core.services.import_file import map_headers, read_table
from core.services.importing import import_table
from core.settings import CommunitySettings
from tests.fakes import FakeClock

GOOGLE = ["Timestamp", "Email Address", "Discord ID", "Name", "What are you looking for?",
          "Topic / module", "Languages", "Time zone", "When are you free each week?",
          "How many learners can you support at once?", "What kind of support can you offer?",
          "Phone"]


def row(i: int, *, mode: str = "Find a Study Buddy", zone: str = "Europe/London",
        name: str = "", capacity: str = "", support: str = "") -> list[str]:
    return ["2026-03-01 10:00:00", f"p{i}@example.org", f"1{i:018d}", name or f"Person {i}",
            mode, "Python", "English", zone, "Mon-Fri 18:00-21:00, Sat 10:00-14:00", capacity,
            support, f"0770090{i:04d}"]


def csv_bytes(headers: list[str], rows: list[list[str]], *, delimiter: str = ",",
              encoding: str = "utf-8") -> bytes:
    buf = io.StringIO()  # quoted as spreadsheets quote: only where a cell needs it
    csv.writer(buf, delimiter=delimiter).writerows([headers, *rows])
    return buf.getvalue().encode(encoding)


def services(storage: Any) -> Services:
    return Services(storage.uow_factory, FakeClock(), CommunitySettings())


async def learners_and_queue(storage: Any) -> tuple[dict[str, Any], int]:
    async with storage.uow_factory() as uow:
        community = await uow.communities.by_external("discord", "g1")
        if community is None:
            return {}, 0
        people = {lr.platform_user_id: lr for lr in await uow.learners.list(community.id)}
        return people, len(await uow.queue.waiting(community.id))


async def test_a_discord_id_column_wins_over_the_email_address(sqlite_storage: Any) -> None:
    table = read_table(csv_bytes(GOOGLE, [row(1), row(2)]))
    report = await import_table(services(sqlite_storage), "discord", "g1", table)
    assert report.imported == 2 and not report.rejected
    people, waiting = await learners_and_queue(sqlite_storage)
    # 19-digit ids stay exact strings; the email is not anyone's user id.
    assert set(people) == {f"1{1:018d}", f"1{2:018d}"} and waiting == 2
    assert people[f"1{1:018d}"].display_name == "Person 1"
    lines = map_headers(GOOGLE, "discord").describe()
    assert '"Email Address" -> ignored ("Discord ID" gives the user id)' in lines
    # On Slack a "Slack ID" column wins over a "Discord ID" one.
    both = map_headers(["Slack ID", "Discord ID", "Email", "Mode"], "slack")
    assert both.fields["user_id"] == 0


async def test_the_bots_own_form_labels_are_recognised(sqlite_storage: Any) -> None:
    mapping = map_headers(GOOGLE, "discord")
    assert mapping.fields["availability"] == GOOGLE.index("When are you free each week?")
    assert mapping.fields["capacity"] == GOOGLE.index("How many learners can you support at once?")
    assert mapping.fields["support_kind"] == GOOGLE.index("What kind of support can you offer?")
    supporter = row(1, mode="Offer support", capacity="3", support="Concepts")
    report = await import_table(services(sqlite_storage), "discord", "g1",
                                read_table(csv_bytes(GOOGLE, [supporter])))
    assert report.imported == 1, report.actions
    people, _ = await learners_and_queue(sqlite_storage)
    async with sqlite_storage.uow_factory() as uow:
        profile = await uow.profiles.get(people[f"1{1:018d}"].id)
    assert profile is not None and profile.capacity == 3 and profile.support_kind == "Concepts"
    assert profile.availability.startswith("Mon-Fri 18:00-21:00")
    assert profile.contact == "07700900001"  # the phone keeps its leading 0


def test_microsoft_forms_headers_are_recognised() -> None:
    headers = ["ID", "Start time", "Completion time", "Email", "Name", "Last modified time",
               "What are you looking for?", "Topic", "Languages", "Time zone", "Availability"]
    mapping = map_headers(headers, "console")
    assert mapping.problem == ""
    assert mapping.fields["timestamp"] == 1 and mapping.fields["user_id"] == 3
    assert 0 not in mapping.fields.values()  # Microsoft's "ID" is a response number


async def test_a_row_with_extra_cells_is_rejected_and_the_others_are_imported(
        sqlite_storage: Any) -> None:
    bad = row(2) + ["an extra cell"]
    table = read_table(csv_bytes(GOOGLE, [row(1), bad, row(3), row(4, zone="Mars/Olympus")]))
    report = await import_table(services(sqlite_storage), "discord", "g1", table)
    assert report.imported == 2 and report.total == 4 and report.accounted == 4
    reasons = dict(report.rejected)
    assert "13 cells but the header has 12" in reasons[3]
    assert "Unknown time zone" in reasons[5]
    people, waiting = await learners_and_queue(sqlite_storage)
    assert waiting == 2 and f"1{2:018d}" not in people


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16-le", "utf-16-be",
                                      "cp1252", "latin-1"])
async def test_every_usual_encoding_is_read(sqlite_storage: Any, encoding: str) -> None:
    names = ["José Ñúñez", "Zoë Ångström"] if encoding in ("cp1252", "latin-1") else [
        "José Ñúñez", "Zoë 李"]
    data = csv_bytes(GOOGLE, [row(1, name=names[0]), row(2, name=names[1])],
                     delimiter=";", encoding=encoding)
    if encoding == "utf-16-le":
        data = codecs.BOM_UTF16_LE + data
    if encoding == "utf-16-be":
        data = codecs.BOM_UTF16_BE + data
    table = read_table(data)
    assert table.delimiter == ";" and table.headers == GOOGLE
    report = await import_table(services(sqlite_storage), "discord", "g1", table)
    assert report.imported == 2, report.actions
    people, _ = await learners_and_queue(sqlite_storage)
    assert sorted(p.display_name for p in people.values()) == sorted(names)


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_the_delimiter_is_detected(delimiter: str) -> None:
    table = read_table(csv_bytes(GOOGLE, [row(1), row(2)], delimiter=delimiter))
    assert table.headers == GOOGLE and all(len(cells) == 12 for _, cells in table.records)


async def test_headers_not_understood_are_named_instead_of_failing_every_row(
        sqlite_storage: Any) -> None:
    data = "Horário;Fuso;Modalidade\n10:00;UTC;par\n".encode()
    report = await import_table(services(sqlite_storage), "discord", "g1", read_table(data))
    assert report.problem and '"Horário"' in report.problem and '"Modalidade"' in report.problem
    assert "user id" in report.problem and len(report.rejected) == report.total == 1
    assert await learners_and_queue(sqlite_storage) == ({}, 0)


async def test_a_dry_run_plans_every_row_and_stores_nothing(sqlite_storage: Any) -> None:
    table = read_table(csv_bytes(GOOGLE, [row(1), row(2, mode="Dancing")]))
    report = await import_table(services(sqlite_storage), "discord", "g1", table, dry_run=True)
    assert [a for _, a, _ in report.actions] == ["imported", "rejected"]
    assert "would be queued" in report.actions[0][2] and "mode 'Dancing'" in report.actions[1][2]
    assert report.summary().startswith("Would import 1 learners")
    async with sqlite_storage.uow_factory() as uow:
        assert await uow.communities.by_external("discord", "g1") is None


async def test_importing_twice_imports_nothing_twice_and_a_later_answer_wins(
        sqlite_storage: Any) -> None:
    first = row(1, name="Old name")
    later = row(1, name="New name")
    table = read_table(csv_bytes(GOOGLE, [first, row(2), later]))
    report = await import_table(services(sqlite_storage), "discord", "g1", table)
    assert report.imported == 2 and report.skipped == [
        (2, "superseded by row 4 (a later answer from the same person)")]
    people, _ = await learners_and_queue(sqlite_storage)
    assert people[f"1{1:018d}"].display_name == "New name"
    again = await import_table(services(sqlite_storage), "discord", "g1", table)
    assert again.imported == 0 and again.already == 2 and again.accounted == 3


async def test_a_known_learner_not_waiting_is_updated_and_queued_again(
        sqlite_storage: Any) -> None:
    table = read_table(csv_bytes(GOOGLE, [row(1)]))
    await import_table(services(sqlite_storage), "discord", "g1", table)
    people, _ = await learners_and_queue(sqlite_storage)
    async with sqlite_storage.uow_factory() as uow:
        entry = await uow.queue.open_for(people[f"1{1:018d}"].id)
        assert entry is not None
        await uow.queue.delete_for(entry.learner_id)
        await uow.commit()
    report = await import_table(services(sqlite_storage), "discord", "g1", table)
    assert report.updated == 1 and report.imported == 0
    assert (await learners_and_queue(sqlite_storage))[1] == 1


async def test_statements_per_import_do_not_grow_with_the_rows(sqlite_storage: Any) -> None:
    """Set-based reads and batched writes: 20 rows and 400 rows in one batch cost the same
    number of statements (no per-row lookup, no per-row reload of the waiting list)."""
    counts = []
    for community, rows in (("g1", 20), ("g2", 400)):
        statements: list[str] = []

        def count(*args: Any) -> None:
            statements.append(str(args[2])[:40])  # noqa: B023 - read at once

        event.listen(sqlite_storage.engine.sync_engine, "before_cursor_execute", count)
        try:
            table = read_table(csv_bytes(GOOGLE, [row(i) for i in range(rows)]))
            report = await import_table(services(sqlite_storage), "discord", community, table)
        finally:
            event.remove(sqlite_storage.engine.sync_engine, "before_cursor_execute", count)
        assert report.imported == rows
        counts.append(len(statements))
    assert counts[1] <= counts[0] + 2, counts  # insertmanyvalues may page big inserts


async def test_batches_are_written_all_or_none_and_every_row_is_reported(
        sqlite_storage: Any) -> None:
    rows = [row(i) for i in range(7)] + [row(99, zone="Nowhere")]
    table = read_table(csv_bytes(GOOGLE, rows))
    done: list[tuple[int, int]] = []
    report = await import_table(services(sqlite_storage), "discord", "g1", table, batch_size=3,
                                progress=lambda d, t: done.append((d, t)))
    assert done == [(3, 8), (6, 8), (8, 8)]
    assert report.imported == 7 and report.accounted == report.total == 8
    assert [line for line, _, _ in report.actions] == list(range(2, 10))


async def test_paused_banned_and_matched_learners_are_not_queued_again(
        sqlite_storage: Any) -> None:
    """The rules of `/peer join` hold for known learners: paused and matched people are
    skipped with the reason, banned people rejected; a supporter may take more learners."""
    from datetime import timedelta

    from core.model import Match, MatchMember, Mode

    table = read_table(csv_bytes(GOOGLE, [row(i) for i in range(4)]))
    svc = services(sqlite_storage)
    await import_table(svc, "discord", "g1", table)
    now = svc.clock.now()
    people, _ = await learners_and_queue(sqlite_storage)
    ids = [people[f"1{i:018d}"] for i in range(4)]
    async with sqlite_storage.uow_factory() as uow:
        for lr in ids:
            await uow.queue.delete_for(lr.id)
        ids[0].paused_until = now + timedelta(days=7)
        ids[1].banned = True
        for lr in ids[:2]:
            await uow.learners.update(lr)
        await uow.matches.add(Match(lr.community_id, Mode.STUDY_BUDDY,
                                    [MatchMember(ids[2].id), MatchMember(ids[3].id)], [], now))
        await uow.commit()
    report = await import_table(svc, "discord", "g1", table)
    why = {line: detail for line, _, detail in report.actions}
    assert why[2].startswith("paused matching until") and why[3] == "banned in this community"
    assert why[4] == why[5] == "already imported (already matched)"
    assert report.imported == report.updated == 0 and report.accounted == 4


async def test_imported_names_lose_bidi_and_zero_width_tricks(sqlite_storage: Any) -> None:
    table = read_table(csv_bytes(GOOGLE, [row(1, name="Ana\u202egnp.exe\u200b")]))
    await import_table(services(sqlite_storage), "discord", "g1", table)
    people, _ = await learners_and_queue(sqlite_storage)
    assert people[f"1{1:018d}"].display_name == "Anagnp.exe"
