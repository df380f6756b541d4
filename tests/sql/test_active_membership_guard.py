"""The database's guard on active membership (migration 0005; the memory fake mirrors it):
nobody in two active matches of one mode, whoever writes them; supporters keep several
seats; an ended match frees its seats."""

from __future__ import annotations

from typing import Any

import pytest

from core.model import Community, Learner, Match, MatchMember, MatchState, Mode
from core.ports import StorageConflict
from tests.fakes import FakeClock

NOW = FakeClock().now()


async def _people(storage: Any, n: int) -> tuple[int, list[int]]:
    async with storage.uow_factory() as uow:
        cid = (await uow.communities.add(Community("test", "g"))).id
        ids = [(await uow.learners.add(Learner(cid, f"u{i}", f"U{i}"))).id for i in range(n)]
        await uow.commit()
    return cid, ids


def _match(cid: int, kind: Mode, *members: tuple[int, str]) -> Match:
    return Match(cid, kind, [MatchMember(lid, role) for lid, role in members], ["test"], NOW)


async def test_one_active_match_per_learner_and_mode(storage: Any) -> None:
    cid, (a, b, c) = await _people(storage, 3)
    async with storage.uow_factory() as uow:
        first = await uow.matches.add(_match(cid, Mode.STUDY_BUDDY, (a, "peer"), (b, "peer")))
        with pytest.raises(StorageConflict):
            await uow.matches.add(_match(cid, Mode.STUDY_BUDDY, (a, "peer"), (c, "peer")))
        # The refused match left nothing behind, and the transaction goes on.
        assert [m.id for m in await uow.matches.list(cid)] == [first.id]
        other_mode = await uow.matches.add(
            _match(cid, Mode.ACCOUNTABILITY, (a, "peer"), (c, "peer")))
        await uow.commit()
    async with storage.uow_factory() as uow:
        assert {m.id for m in await uow.matches.active_for(a)} == {first.id, other_mode.id}


async def test_an_ended_match_frees_the_seat_and_cannot_come_back_doubled(storage: Any) -> None:
    cid, (a, b, c) = await _people(storage, 3)
    async with storage.uow_factory() as uow:
        first = await uow.matches.add(_match(cid, Mode.STUDY_BUDDY, (a, "peer"), (b, "peer")))
        first.state, first.ended_at = MatchState.ENDED, NOW
        await uow.matches.update(first)
        second = await uow.matches.add(_match(cid, Mode.STUDY_BUDDY, (a, "peer"), (c, "peer")))
        await uow.matches.update(second)  # a rewrite of its members keeps its seats
        first.state, first.ended_at = MatchState.ACTIVE, None
        with pytest.raises(StorageConflict):  # reactivating would seat a twice
            await uow.matches.update(first)
        await uow.commit()
    async with storage.uow_factory() as uow:
        assert [m.id for m in await uow.matches.active_for(a)] == [second.id]


async def test_a_supporter_has_several_seats_those_supported_one(storage: Any) -> None:
    cid, (sup, x, y) = await _people(storage, 3)
    async with storage.uow_factory() as uow:
        for learner in (x, y):
            await uow.matches.add(
                _match(cid, Mode.NEED_SUPPORT, (sup, "supporter"), (learner, "supported")))
        with pytest.raises(StorageConflict):
            await uow.matches.add(
                _match(cid, Mode.NEED_SUPPORT, (sup, "supporter"), (x, "supported")))
        await uow.commit()
    async with storage.uow_factory() as uow:
        assert len(await uow.matches.active_for(sup)) == 2


async def test_forgetting_a_member_gives_the_seat_back(storage: Any) -> None:
    cid, (a, b, c) = await _people(storage, 3)
    async with storage.uow_factory() as uow:
        await uow.matches.add(_match(cid, Mode.STUDY_BUDDY, (a, "peer"), (b, "peer")))
        await uow.matches.remove_member(a)
        await uow.matches.add(_match(cid, Mode.STUDY_BUDDY, (a, "peer"), (c, "peer")))
        await uow.commit()
