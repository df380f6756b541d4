"""Fuzz over import files (issue 11, scope 10): any bytes, any cells, any encoding: no
unhandled exception, every row accounted for, and nothing stored for a row reported as
rejected or skipped."""

from __future__ import annotations

import asyncio
import csv
import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.services.context import Services
from core.services.import_file import read_table
from core.services.importing import import_table
from core.settings import CommunitySettings
from tests.core.services.test_importing import GOOGLE, row
from tests.fakes import FakeClock, InMemoryStorage

CELLS = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)


def _run(data: bytes) -> None:
    storage = InMemoryStorage()
    services = Services(storage.uow_factory, FakeClock(), CommunitySettings())
    table = read_table(data)
    report = asyncio.run(import_table(services, "discord", "g1", table))
    assert report.accounted == report.total == len(table.records) + len(table.unreadable)
    stored = len(storage.tables["queue"])
    assert stored == report.imported + report.updated


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=600))
def test_any_bytes(data: bytes) -> None:
    _run(data)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(st.lists(CELLS, max_size=14), max_size=8),
       good=st.integers(0, 3), delimiter=st.sampled_from([",", ";", "\t"]),
       encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252"]))
def test_messy_rows_among_good_ones(rows: list[list[str]], good: int, delimiter: str,
                                    encoding: str) -> None:
    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter).writerows([GOOGLE, *[row(i) for i in range(good)],
                                                    *rows])
    _run(buf.getvalue().encode(encoding, errors="replace"))
