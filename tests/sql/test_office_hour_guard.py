"""The database's guards on office-hour seats (migration 0010; the memory fake mirrors
them), whoever writes: a seat number above the series' seats, a number taken in that
occurrence, a second seat of one learner there, a seat over another booking of the learner,
and a session over a seat are all refused; two writers racing for the last seat on SQL get
one seat between them."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Any

import pytest

from core.model import Community, Learner, Match, MatchMember, Mode, Session
from core.office_hours import OfficeHour, Seat
from core.ports import StorageConflict
from tests.fakes import FakeClock

NOW = FakeClock().now()
START = NOW + timedelta(days=1)
END = START + timedelta(hours=2)


async def _world(storage: Any, n: int = 3, seats: int = 2) -> tuple[int, int, list[int]]:
    async with storage.uow_factory() as uow:
        cid = (await uow.communities.add(Community("test", "g"))).id
        ids = [(await uow.learners.add(Learner(cid, f"u{i}", f"U{i}"))).id for i in range(n)]
        hour = await uow.office_hours.add(OfficeHour(
            cid, ids[0], 1, 18 * 60, 20 * 60, "UTC", 1, seats, "Python", date(2026, 3, 3), NOW))
        await uow.commit()
    return cid, int(hour.id or 0), ids[1:]


def _seat(hid: int, learner: int, no: int, start: Any = START, end: Any = END) -> Seat:
    return Seat(hid, learner, start, end, no, f"oh-{hid}-{learner}-{no}-{start:%s}@t", NOW)


async def test_seat_numbers_are_unique_and_within_the_seats(storage: Any) -> None:
    _, hid, (a, b) = await _world(storage)
    async with storage.uow_factory() as uow:
        await uow.office_hours.add_seat(_seat(hid, a, 1))
        with pytest.raises(StorageConflict):
            await uow.office_hours.add_seat(_seat(hid, b, 1))  # number taken
        with pytest.raises(StorageConflict):
            await uow.office_hours.add_seat(_seat(hid, b, 3))  # the series has 2 seats
        with pytest.raises(StorageConflict):
            await uow.office_hours.add_seat(_seat(hid, a, 2))  # a already has a seat there
        await uow.office_hours.add_seat(_seat(hid, b, 2))
        await uow.commit()
    async with storage.uow_factory() as uow:
        seats = await uow.office_hours.booked_seats([hid], START, END)
        assert sorted((s.learner_id, s.seat_no) for s in seats) == [(a, 1), (b, 2)]


async def test_a_seat_and_a_session_of_one_learner_never_overlap(storage: Any) -> None:
    cid, hid, (a, b) = await _world(storage)
    async with storage.uow_factory() as uow:
        match = await uow.matches.add(Match(cid, Mode.STUDY_BUDDY,
                                            [MatchMember(a), MatchMember(b)], ["t"], NOW))
        await uow.sessions.add(Session(int(match.id or 0), START + timedelta(hours=1),
                                       END + timedelta(hours=1), a, "s1@t"))
        with pytest.raises(StorageConflict):
            await uow.office_hours.add_seat(_seat(hid, a, 1))
        later = START + timedelta(weeks=1)
        await uow.office_hours.add_seat(_seat(hid, a, 1, later, later + timedelta(hours=2)))
        await uow.commit()
    if type(storage).__name__ == "InMemoryStorage":
        return  # the fake checks seats against sessions; sessions against seats is SQL's
    async with storage.uow_factory() as uow:
        with pytest.raises(StorageConflict):
            await uow.sessions.add(Session(int(match.id or 0), later, later + timedelta(hours=1),
                                           a, "s2@t"))


async def test_two_writers_racing_for_the_last_seat_get_one(storage: Any) -> None:
    # On SQL the second writer blocks on the first (SQLite: BEGIN IMMEDIATE; PostgreSQL: the
    # unique index and the learner lock) and then meets its committed seat.
    _, hid, (a, b) = await _world(storage, seats=1)
    first_wrote = asyncio.Event()

    async def writer(learner: int, wait: bool) -> str:
        async with storage.uow_factory() as uow:
            if wait:
                await first_wrote.wait()
            try:
                await uow.office_hours.add_seat(_seat(hid, learner, 1))
            except StorageConflict:
                return "refused"
            if not wait:
                first_wrote.set()
                await asyncio.sleep(0.3)  # the other writer is blocked on us meanwhile
            await uow.commit()
            return "booked"

    results = await asyncio.gather(writer(a, False), writer(b, True))
    assert sorted(results) == ["booked", "refused"]
    async with storage.uow_factory() as uow:
        assert [s.learner_id for s in await uow.office_hours.booked_seats([hid], START, END)] == [a]
