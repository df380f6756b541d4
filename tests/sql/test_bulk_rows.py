"""Bulk inserts (``SqlRepository._insert_rows``) store exactly what one-row inserts store.

A round stores its matches through the bulk path: the driver's executemany on SQLite (each
column through SQLAlchemy's own bind processors), ``INSERT ... SELECT FROM unnest`` on
PostgreSQL. A processor skipped there once wrote SQLite datetimes in another text format
(``2026-01-14 12:00:00`` instead of ``2026-01-14 12:00:00.000000``), which sorts and
subtracts differently: the stats' waits came out a day off. Here the same match goes in
both ways and must read back, and be stored, identically.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from adapters.sql.tables import match_members, matches
from core.model import Match, MatchMember, Mode
from tests.helpers import Bot
from tests.sql.test_short_writes import _seed

WHEN = datetime(2026, 1, 14, 12, 0, tzinfo=UTC)


def _match(community_id: int, a: int, b: int, seconds: int) -> Match:
    at = WHEN + timedelta(seconds=seconds)  # a whole second: the case that differed
    return Match(community_id, Mode.STUDY_BUDDY, [MatchMember(a), MatchMember(b, "peer", "A")],
                 ["same topic", "ünïcode ✓"], at, [(at, at + timedelta(hours=1))], None, 1.5)


async def _same_both_ways(storage: Any) -> None:
    bot = Bot(storage)
    community = await _seed(bot, 6)
    async with storage.uow_factory() as uow:
        ids = sorted(e.learner_id for e in await uow.queue.waiting(community.id))
        one = await uow.matches.add(_match(community.id, ids[0], ids[1], 1))
        many = await uow.matches.add_many([_match(community.id, ids[2], ids[3], 1),
                                           _match(community.id, ids[4], ids[5], 2)])
        await uow.commit()
    assert one.id is not None and len(many) == 2
    async with storage.uow_factory(writes=False) as uow:
        got = {m.id: m for m in await uow.matches.list(community.id)}
        raw = {r.id: r for r in await uow.connection.execute(
            select(matches.c.id, matches.c.created_at, matches.c.reasons,
                   matches.c.suggested_times))}
        members = [tuple(r) for r in await uow.connection.execute(
            select(match_members.c.match_id, match_members.c.role, match_members.c.alias,
                   match_members.c.position).order_by(match_members.c.match_id,
                                                      match_members.c.position))]
    single, bulk = got[one.id], got[many[0].id]
    assert bulk.created_at == single.created_at == WHEN + timedelta(seconds=1)
    assert bulk.reasons == single.reasons == ["same topic", "ünïcode ✓"]
    assert bulk.suggested_times == single.suggested_times
    assert [(m.role, m.alias) for m in bulk.members] == [("peer", ""), ("peer", "A")]
    assert raw[one.id][1:] == raw[many[0].id][1:]  # the very same stored values
    assert members[0][1:] == members[2][1:] and members[1][1:] == members[3][1:]
    if storage.engine.dialect.name == "sqlite":  # and the same text on disk
        async with storage.uow_factory(writes=False) as uow:
            text = dict(list(await uow.connection.exec_driver_sql(
                "SELECT id, created_at FROM matches")))
        assert text[one.id] == text[many[0].id] == "2026-01-14 12:00:01.000000"


async def test_bulk_rows_are_stored_as_single_rows_on_sqlite(sqlite_storage: Any) -> None:
    await _same_both_ways(sqlite_storage)


@pytest.mark.postgres
async def test_bulk_rows_are_stored_as_single_rows_on_postgres(pg_storage: Any) -> None:
    await _same_both_ways(pg_storage)
