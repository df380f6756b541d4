"""The learners export reads one statement per page (issue 9.7): the learner, their profile
and latest queue entry joined, whatever the page holds; the file is the same either way."""

from __future__ import annotations

import math
from typing import Any

import pytest

from bot.sample import sample_rows
from core.services import reports
from core.services.importing import import_rows
from tests.helpers import Bot
from tests.sql.test_command_query_budget import counting

PAGE = 50


async def _export_budget(storage: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr(reports, "EXPORT_PAGE", PAGE)
    for name, size in (("small", 20), ("big", 230)):
        bot = Bot(storage, community=name)
        report = await import_rows(bot.services, "test", name, sample_rows(bot.clock.now(), size))
        assert report.imported == size
        async with storage.uow_factory(writes=False) as uow:
            community = await uow.communities.by_external("test", name)
            with counting(storage) as seen:
                data, rows = await reports.export_csv(uow, community.id, "learners")
        assert rows == size
        # A statement per page and the empty page that ends the walk: no read per learner.
        assert len(seen) == math.ceil(size / PAGE) + 1, seen
        assert data.decode("utf-8-sig").count("\n") == size + 1


async def test_the_learners_export_reads_a_statement_per_page_on_sqlite(
        sqlite_storage: Any, monkeypatch: Any) -> None:
    await _export_budget(sqlite_storage, monkeypatch)


@pytest.mark.postgres
async def test_the_learners_export_reads_a_statement_per_page_on_postgres(
        pg_storage: Any, monkeypatch: Any) -> None:
    await _export_budget(pg_storage, monkeypatch)
