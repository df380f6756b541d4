"""Matches stored in bulk (issue 9.5): ``matches.add_many`` keeps the order, the members and
the guard of migration 0005 (each match all or nothing); ``support_seats`` counts in SQL."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from adapters.sql.repos_matches import SqlMatchRepository
from adapters.sql.tables import active_memberships
from core.model import Community, Learner, Match, MatchMember, MatchState, Mode
from tests.fakes import FakeClock

NOW = FakeClock().now()


async def _people(storage: Any, n: int) -> tuple[int, list[int]]:
    async with storage.uow_factory() as uow:
        cid = (await uow.communities.add(Community("test", "g"))).id
        stored = await uow.learners.add_many([Learner(cid, f"u{i}", f"U{i}") for i in range(n)])
        await uow.commit()
    return cid, [lr.id for lr in stored]


def _match(cid: int, kind: Mode, *members: tuple[int, str], alias: str = "") -> Match:
    return Match(cid, kind, [MatchMember(lid, role, alias if role == "supported" else "")
                             for lid, role in members], [f"reason {members[0][0]}"], NOW,
                 [(NOW, NOW)], None, 1.5)


async def test_many_matches_are_stored_in_order_with_their_members(storage: Any) -> None:
    cid, ids = await _people(storage, 40)
    plans = [_match(cid, Mode.STUDY_BUDDY, (ids[i], "peer"), (ids[i + 1], "peer"))
             for i in range(0, 36, 2)]
    plans.append(_match(cid, Mode.NEED_SUPPORT, (ids[36], "supporter"), (ids[37], "supported"),
                        alias="Anonymous learner #1"))
    async with storage.uow_factory() as uow:
        stored = await uow.matches.add_many(plans)
        await uow.commit()
    assert stored == plans and all(m.id for m in stored)
    assert [m.id for m in stored] == sorted({m.id for m in stored})  # new, distinct, in order
    async with storage.uow_factory() as uow:
        again = await uow.matches.get_many([m.id for m in stored])
        later = await uow.matches.add(_match(cid, Mode.STUDY_BUDDY, (ids[38], "peer"),
                                             (ids[39], "peer")))
        await uow.commit()
    for match in stored:
        back = again[match.id]
        assert [(m.learner_id, m.role, m.alias) for m in back.members] == [
            (m.learner_id, m.role, m.alias) for m in match.members]
        assert (back.kind, back.reasons, back.score, back.state) == (
            match.kind, match.reasons, 1.5, MatchState.ACTIVE)
        assert back.suggested_times == [(NOW, NOW)]
    assert later.id is not None and later.id > max(m.id for m in stored)  # ids not reused


async def test_a_match_the_guard_refuses_is_left_out_alone(storage: Any) -> None:
    cid, (a, b, c, d, e, f) = await _people(storage, 6)
    async with storage.uow_factory() as uow:
        earlier = await uow.matches.add(_match(cid, Mode.STUDY_BUDDY, (a, "peer"), (b, "peer")))
        await uow.commit()
    plans = [
        _match(cid, Mode.STUDY_BUDDY, (a, "peer"), (c, "peer")),  # a is seated already
        _match(cid, Mode.STUDY_BUDDY, (c, "peer"), (d, "peer")),
        _match(cid, Mode.STUDY_BUDDY, (d, "peer"), (e, "peer")),  # d: the one just before
        _match(cid, Mode.ACCOUNTABILITY, (a, "peer"), (e, "peer")),  # another mode: fine
        _match(cid, Mode.STUDY_BUDDY, (e, "peer"), (f, "peer")),
    ]
    async with storage.uow_factory() as uow:
        stored = await uow.matches.add_many(plans)
        await uow.commit()
    assert stored == [plans[1], plans[3], plans[4]]
    assert plans[0].id is None and plans[2].id is None
    async with storage.uow_factory() as uow:
        kept = await uow.matches.list(cid)
    assert [m.id for m in kept] == [earlier.id, plans[1].id, plans[3].id, plans[4].id]


async def _seat_taken_after_the_read(storage: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The database's own guard has the last word when the set-based pre-check missed a
    seat (a writer that took it after the read): the chunk is undone, then stored one by
    one, and only the refused match is left out."""
    cid, (a, b, c, d, e) = await _people(storage, 5)
    async with storage.uow_factory() as uow:
        await uow.matches.add(_match(cid, Mode.STUDY_BUDDY, (a, "peer"), (b, "peer")))
        await uow.commit()

    async def nothing_seen(_self: Any, _learner_ids: set[int]) -> set[tuple[int, str]]:
        return set()

    monkeypatch.setattr(SqlMatchRepository, "_taken_seats", nothing_seen)
    plans = [_match(cid, Mode.STUDY_BUDDY, (c, "peer"), (d, "peer")),
             _match(cid, Mode.STUDY_BUDDY, (a, "peer"), (e, "peer"))]
    async with storage.uow_factory() as uow:
        stored = await uow.matches.add_many(plans)
        await uow.commit()
    assert stored == [plans[0]] and plans[1].id is None
    async with storage.uow_factory() as uow:
        assert len(await uow.matches.list(cid)) == 2
        assert [m.id for m in await uow.matches.active_for(c)] == [plans[0].id]
        assert await uow.matches.active_for(e) == []


async def test_support_seats_count_active_support_matches(storage: Any) -> None:
    cid, (sup, x, y, z, other) = await _people(storage, 5)
    async with storage.uow_factory() as uow:
        for learner in (x, y, z):
            await uow.matches.add(
                _match(cid, Mode.NEED_SUPPORT, (sup, "supporter"), (learner, "supported")))
        ended = (await uow.matches.list(cid))[-1]
        ended.state, ended.ended_at = MatchState.ENDED, NOW
        await uow.matches.update(ended)
        await uow.matches.add(_match(cid, Mode.STUDY_BUDDY, (sup, "peer"), (other, "peer")))
        await uow.commit()
    async with storage.uow_factory() as uow:
        seats = await uow.matches.support_seats([sup, x, z, other])
    assert seats == {sup: 2, x: 1}  # the ended one and the study buddy do not count


async def test_a_seat_taken_after_the_read_falls_back_to_one_at_a_time_on_sqlite(
        sqlite_storage: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    await _seat_taken_after_the_read(sqlite_storage, monkeypatch)


@pytest.mark.postgres
async def test_a_seat_taken_after_the_read_falls_back_to_one_at_a_time_on_postgres(
        pg_storage: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    await _seat_taken_after_the_read(pg_storage, monkeypatch)


async def _seats_stored(storage: Any) -> set[tuple[int, str, int]]:
    async with storage.uow_factory(writes=False) as uow:
        rows = await uow.connection.execute(select(active_memberships.c.learner_id,
                                             active_memberships.c.kind,
                                             active_memberships.c.match_id))
        return {(int(lid), str(kind), int(mid)) for lid, kind, mid in rows}


async def _bulk_seats_are_the_triggers_seats(storage: Any) -> None:
    """Bulk matches take exactly the seats the per-row trigger gives (SQLite: written up
    front by add_many, migration 0014; PostgreSQL: the statement trigger of 0013): none for
    supporters; ending a match gives them back; a member added later still takes one."""
    cid, (a, b, s, x, y, c, d) = await _people(storage, 7)
    bulk = [_match(cid, Mode.STUDY_BUDDY, (a, "peer"), (b, "peer")),
            _match(cid, Mode.NEED_SUPPORT, (s, "supporter"), (x, "supported"))]
    async with storage.uow_factory() as uow:
        pair, support = await uow.matches.add_many(bulk)
        one = await uow.matches.add(_match(cid, Mode.STUDY_GROUP, (y, "peer"), (c, "peer")))
        await uow.commit()
    assert await _seats_stored(storage) == {
        (a, "study-buddy", pair.id), (b, "study-buddy", pair.id),
        (x, "need-support", support.id),
        (y, "study-group", one.id), (c, "study-group", one.id)}
    async with storage.uow_factory() as uow:
        pair.state, pair.ended_reason, pair.ended_at = MatchState.ENDED, "done", NOW
        await uow.matches.update(pair)
        one.members.append(MatchMember(d, "peer"))
        await uow.matches.update(one)
        await uow.commit()
    assert await _seats_stored(storage) == {
        (x, "need-support", support.id), (y, "study-group", one.id),
        (c, "study-group", one.id), (d, "study-group", one.id)}
    async with storage.uow_factory() as uow:  # the seats given back can be taken again
        [again] = await uow.matches.add_many(
            [_match(cid, Mode.STUDY_BUDDY, (a, "peer"), (b, "peer"))])
        await uow.commit()
    assert {(a, "study-buddy", again.id), (b, "study-buddy", again.id)} <= await _seats_stored(
        storage)


async def test_bulk_matches_take_the_triggers_seats_on_sqlite(sqlite_storage: Any) -> None:
    await _bulk_seats_are_the_triggers_seats(sqlite_storage)


@pytest.mark.postgres
async def test_bulk_matches_take_the_triggers_seats_on_postgres(pg_storage: Any) -> None:
    await _bulk_seats_are_the_triggers_seats(pg_storage)
