"""The database refuses double booking on its own (SQLite trigger, PostgreSQL exclusion
constraint, migration 0002), even when a writer skips the core's check."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from core.model import Community, Learner, Match, MatchMember, Mode, Session, SessionState
from core.ports import StorageConflict
from tests.scheduler.support import utc

T = utc(2026, 3, 10, 18)
HOUR = timedelta(hours=1)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def sql_storage(request: pytest.FixtureRequest):
    name = "sqlite_storage" if request.param == "sqlite" else "pg_storage"
    return request.getfixturevalue(name)


async def _setup(storage) -> tuple[int, int, int, int]:
    """Learners a, b, c; matches (a, b) and (a, c). Returns (m_ab, m_ac, a, b)."""
    async with storage.uow_factory() as uow:
        cid = (await uow.communities.add(Community("test", "g"))).id
        a, b, c = [(await uow.learners.add(Learner(cid, u, u))).id for u in "abc"]
        m1 = await uow.matches.add(
            Match(cid, Mode.STUDY_BUDDY, [MatchMember(a), MatchMember(b)], [], T)
        )
        m2 = await uow.matches.add(  # another mode: one active match per mode (0005)
            Match(cid, Mode.ACCOUNTABILITY, [MatchMember(a), MatchMember(c)], [], T)
        )
        await uow.commit()
    return m1.id, m2.id, a, b


def _session(match_id: int, start, uid: str, state=SessionState.BOOKED) -> Session:
    return Session(match_id, start, start + HOUR, 1, uid, state=state)


async def test_an_overlapping_session_of_a_shared_member_is_refused(sql_storage) -> None:
    m1, m2, a, _ = await _setup(sql_storage)
    async with sql_storage.uow_factory() as uow:
        await uow.sessions.add(_session(m1, T, "s1"))
        with pytest.raises(StorageConflict):
            await uow.sessions.add(_session(m2, T + HOUR / 2, "s2"))
        # The transaction survives the refusal (a savepoint): touching is fine.
        touching = await uow.sessions.add(_session(m2, T + HOUR, "s3"))
        cancelled = await uow.sessions.add(_session(m2, T, "s4", SessionState.CANCELLED))
        await uow.commit()
    async with sql_storage.uow_factory() as uow:
        # Moving into an overlap is refused too; cancelling frees the time.
        touching.start, touching.end = T + HOUR / 2, T + HOUR * 3 / 2
        with pytest.raises(StorageConflict):
            await uow.sessions.update(touching)
        [first] = [s for s in await uow.sessions.for_match(m1)]
        first.state = SessionState.CANCELLED
        await uow.sessions.update(first)
        await uow.sessions.update(touching)
        cancelled.state = SessionState.BOOKED
        with pytest.raises(StorageConflict):  # now it overlaps `touching`
            await uow.sessions.update(cancelled)
        await uow.commit()


async def test_match_updates_keep_the_guard_and_a_member_who_leaves_is_freed(sql_storage) -> None:
    m1, m2, a, b = await _setup(sql_storage)
    async with sql_storage.uow_factory() as uow:
        await uow.sessions.add(_session(m1, T, "s1"))
        match = await uow.matches.get(m1)
        match.space_id = "space-1"
        await uow.matches.update(match)  # rewrites the members: must neither fail nor forget
        with pytest.raises(StorageConflict):
            await uow.sessions.add(_session(m2, T, "s2"))
        match.members = [MatchMember(b)]  # a leaves the (a, b) match
        await uow.matches.update(match)
        await uow.sessions.add(_session(m2, T, "s2"))
        await uow.commit()


@pytest.mark.postgres
async def test_two_concurrent_bookings_on_postgres_cannot_both_win(pg_storage) -> None:
    m1, m2, _, _ = await _setup(pg_storage)
    gate = asyncio.Event()

    async def book(match_id: int, uid: str) -> bool:
        async with pg_storage.uow_factory() as uow:
            await uow.matches.get(match_id)  # both read "nothing booked" first
            await gate.wait()
            try:
                await uow.sessions.add(_session(match_id, T, uid))
                await uow.commit()
                return True
            except StorageConflict:
                return False

    tasks = [asyncio.create_task(book(m1, "x1")), asyncio.create_task(book(m2, "x2"))]
    await asyncio.sleep(0.05)
    gate.set()
    assert sorted(await asyncio.gather(*tasks)) == [False, True]
