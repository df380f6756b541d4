"""The set-based reads and writes commands, the planner and the stats use (issue 9) behave
the same in memory, on SQLite and on PostgreSQL: a queue place counted by the storage,
learners by many ids, outbox rows added many at once (each key once), which keys exist,
closed-DM counts, the matches that met, and a community's matches beyond one IN list."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from core.messages import DirectMessage
from core.model import (
    Community,
    Learner,
    Match,
    MatchMember,
    Mode,
    OutboxMessage,
    Profile,
    QueueEntry,
    QueueState,
    Session,
    SessionState,
    Setup,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


async def _learners(storage: Any, count: int) -> tuple[int, list[int]]:
    async with storage.uow_factory() as uow:
        c = await uow.communities.add(Community("discord", "guild-1", "Guild"))
        assert c.id is not None
        added = await uow.learners.add_many(
            [Learner(c.id, f"u{i}", f"L{i}", created_at=T0) for i in range(count)])
        await uow.commit()
    return c.id, [lr.id or 0 for lr in added]


def _dm(cid: int, key: str, error: str = "") -> OutboxMessage:
    return OutboxMessage(DirectMessage("u1", "hello", key), cid, T0, last_error=error)


async def test_a_queue_place_is_counted_among_the_waiting_of_its_mode(storage: Any) -> None:
    cid, ids = await _learners(storage, 6)
    async with storage.uow_factory() as uow:
        same_time = [QueueEntry(ids[i], cid, Mode.STUDY_BUDDY, T0 + timedelta(hours=1))
                     for i in (0, 1)]
        older = QueueEntry(ids[2], cid, Mode.STUDY_BUDDY, T0)
        other_mode = QueueEntry(ids[3], cid, Mode.STUDY_GROUP, T0 - timedelta(days=1))
        gone = QueueEntry(ids[4], cid, Mode.STUDY_BUDDY, T0 - timedelta(days=2))
        await uow.queue.add_many([*same_time, older, other_mode, gone])
        gone.state = QueueState.LEFT
        await uow.queue.update(gone)
        # Ties on joined_at are broken by id, as `waiting` orders them.
        assert [await uow.queue.position(e) for e in (older, *same_time)] == [
            (1, 3), (2, 3), (3, 3)]
        assert await uow.queue.position(other_mode) == (1, 1)
        assert await uow.queue.position(gone) == (3, 3)  # no longer waiting: last
        waiting = [e.id for e in await uow.queue.waiting(cid, Mode.STUDY_BUDDY)]
        assert waiting == [older.id, same_time[0].id, same_time[1].id]


async def test_learners_by_many_ids_in_one_call(storage: Any) -> None:
    _, ids = await _learners(storage, 30)
    async with storage.uow_factory() as uow:
        found = await uow.learners.get_many([*ids[:20], ids[3], 999_999])
        assert sorted(found) == sorted(ids[:20]) and found[ids[3]].display_name == "L3"
        assert await uow.learners.get_many([]) == {}


# 700: more than one multi-row INSERT's worth; 2,500: SQLite's bulk path (_SQLITE_BULK)
@pytest.mark.parametrize("n", [700, 2_500])
async def test_outbox_rows_added_many_at_once_keep_each_key_once(storage: Any, n: int) -> None:
    cid, _ = await _learners(storage, 1)
    async with storage.uow_factory() as uow:
        assert (await uow.outbox.add(_dm(cid, "k-0"))).id is not None
        rows = [_dm(cid, f"k-{i}") for i in range(n)]
        twice = _dm(cid, "k-7")  # a key repeated in one call is stored once
        assert await uow.outbox.add_many([*rows, twice]) == n - 1  # k-0 was there already
        assert rows[0].id is None and None not in [r.id for r in rows[1:]]
        assert twice.id is None and rows[7].id is not None  # as add leaves a duplicate
        assert await uow.outbox.add_many(rows[:10]) == 0
        assert await uow.outbox.add_many([]) == 0
        single = await uow.outbox.add(_dm(cid, "single"))
        await uow.commit()
    async with storage.uow_factory() as uow:
        stored = await uow.outbox.list(cid)
        assert len(stored) == n + 1 and len({m.idempotency_key for m in stored}) == n + 1
        assert {(m.id, m.idempotency_key) for m in stored} >= {(r.id, r.idempotency_key)
                                                               for r in rows[1:]}
        by_key = {m.idempotency_key: m for m in stored}
        one, bulk = by_key["single"], by_key["k-1"]  # the bulk row reads back as add's does
        assert (bulk.message.kind, bulk.due_at, bulk.state, bulk.progress) == (
            one.message.kind, one.due_at, one.state, one.progress)
        assert bulk.payload == one.payload and bulk.payload["text"] == "hello"
        assert single.id is not None and single.id > max(r.id for r in rows[1:])
        assert await uow.outbox.existing_keys(["k-5", "k-699", "nope", "k-5"]) == {"k-5", "k-699"}
        assert await uow.outbox.existing_keys([]) == set()


async def test_closed_dms_and_keys_by_prefix_are_read_by_the_storage(storage: Any) -> None:
    cid, _ = await _learners(storage, 1)
    async with storage.uow_factory() as uow:
        for i, error in enumerate(["dm_closed", "dm_closed", "timeout", ""]):
            await uow.outbox.add(_dm(cid, f"e-{i}", error))
        assert await uow.outbox.count_errors(cid, "dm_closed") == 2
        assert await uow.outbox.count_errors(cid + 1, "dm_closed") == 0
        await uow.outbox.add(_dm(cid, "e_%"))  # LIKE's wildcards are plain characters here
        assert await uow.outbox.keys_starting(cid, "e-") == ["e-0", "e-1", "e-2", "e-3"]
        assert await uow.outbox.keys_starting(cid, "e_") == ["e_%"]
        assert await uow.outbox.keys_starting(cid + 1, "e-") == []


async def test_matches_with_a_session_not_cancelled(storage: Any) -> None:
    cid, ids = await _learners(storage, 6)
    async with storage.uow_factory() as uow:
        made = [await uow.matches.add(Match(cid, Mode.STUDY_BUDDY,
                                            [MatchMember(ids[2 * i]), MatchMember(ids[2 * i + 1])],
                                            [], T0)) for i in range(3)]
        booked, cancelled, _none = made
        for match, state, uid in ((booked, SessionState.BOOKED, "a"),
                                  (booked, SessionState.CANCELLED, "b"),
                                  (cancelled, SessionState.CANCELLED, "c")):
            await uow.sessions.add(Session(match.id or 0, T0, T0 + timedelta(hours=1),
                                           ids[0], f"{uid}@test", state=state))
        assert await uow.sessions.matches_with_sessions(cid) == {booked.id}
        assert await uow.sessions.matches_with_sessions(cid + 1) == set()
        every = await uow.sessions.for_community(cid)
        assert sorted(s.ics_uid for s in every) == ["a@test", "b@test", "c@test"]
        assert await uow.sessions.for_community(cid + 1) == []


async def test_a_community_with_many_matches_lists_every_member(storage: Any) -> None:
    # More matches than one IN (...) list of ids holds comfortably: members come by sub-select.
    cid, ids = await _learners(storage, 1_400)
    async with storage.uow_factory() as uow:
        for i in range(700):
            await uow.matches.add(Match(cid, Mode.STUDY_BUDDY, [
                MatchMember(ids[2 * i]), MatchMember(ids[2 * i + 1], alias=f"A{i}")], [], T0))
        await uow.commit()
    async with storage.uow_factory() as uow:
        listed = await uow.matches.list(cid)
    assert len(listed) == 700
    assert all(m.member_ids() == [ids[2 * i], ids[2 * i + 1]] for i, m in enumerate(listed))
    assert listed[699].members[1].alias == "A699"


async def test_pages_of_learners_and_matches_and_latest_entries(storage: Any) -> None:
    cid, ids = await _learners(storage, 7)
    async with storage.uow_factory() as uow:
        await uow.queue.add(QueueEntry(ids[0], cid, Mode.STUDY_BUDDY, T0,
                                       state=QueueState.LEFT))
        newer = await uow.queue.add(QueueEntry(ids[0], cid, Mode.STUDY_GROUP,
                                               T0 + timedelta(days=1)))
        made = [await uow.matches.add(Match(cid, Mode.STUDY_BUDDY, [
            MatchMember(ids[2 * i]), MatchMember(ids[2 * i + 1])], [], T0)) for i in range(3)]
        await uow.commit()
    async with storage.uow_factory() as uow:
        pages, after = [], 0
        while page := await uow.learners.page(cid, after, 3):
            pages.append([lr.id for lr in page])
            after = page[-1].id or 0
        assert pages == [ids[:3], ids[3:6], ids[6:]]
        assert await uow.learners.page(cid + 1, 0, 3) == []
        latest = await uow.queue.latest_for_many([ids[0], ids[1]])
        assert list(latest) == [ids[0]] and latest[ids[0]].id == newer.id
        first = await uow.matches.page(cid, 0, 2)
        rest = await uow.matches.page(cid, first[-1].id or 0, 2)
        assert [m.id for m in first + rest] == [m.id for m in made]
        assert rest[0].member_ids() == [ids[4], ids[5]]
        by_id = await uow.matches.get_many([made[2].id or 0, 999_999])
        assert list(by_id) == [made[2].id] and by_id[made[2].id or 0].member_ids() == ids[4:6]


async def test_export_pages_carry_the_profile_and_the_latest_entry(storage: Any) -> None:
    cid, ids = await _learners(storage, 5)
    async with storage.uow_factory() as uow:
        await uow.profiles.save(Profile(ids[0], Mode.STUDY_GROUP, "Python", ("English", "Hindi"),
                                        "Asia/Kolkata", "Flexible", goal="=1+1", capacity=2,
                                        anonymous=True, setup=Setup.VIDEO))
        await uow.profiles.save(Profile(ids[2], Mode.STUDY_BUDDY, "SQL", ("French",),
                                        "Europe/Paris", "Sat 10:00-12:00"))
        # Two entries joined at the same time: the higher id is the latest.
        await uow.queue.add(QueueEntry(ids[0], cid, Mode.STUDY_BUDDY, T0,
                                       state=QueueState.LEFT))
        await uow.queue.add(QueueEntry(ids[0], cid, Mode.STUDY_GROUP, T0))
        await uow.queue.add(QueueEntry(ids[1], cid, Mode.STUDY_BUDDY, T0 + timedelta(days=2),
                                       state=QueueState.MATCHED))
        await uow.queue.add(QueueEntry(ids[1], cid, Mode.STUDY_BUDDY, T0 + timedelta(days=1)))
        banned = await uow.learners.get(ids[3])
        assert banned is not None
        banned.banned = True
        await uow.learners.update(banned)
        await uow.commit()
    async with storage.uow_factory(writes=False) as uow:
        pages, after = [], 0
        while page := await uow.learners.export_page(cid, after, 2):
            pages.append(page)
            after = page[-1].id
        assert [[r.id for r in p] for p in pages] == [ids[:2], ids[2:4], ids[4:]]
        assert await uow.learners.export_page(cid + 1, 0, 10) == []
    rows = [r for p in pages for r in p]
    ana, ben, cai, dee, eve = rows
    assert (ana.platform_user_id, ana.display_name, ana.mode, tuple(ana.languages or ()),
            ana.setup, ana.capacity, ana.anonymous, ana.goal, ana.queue_state,
            ana.joined_at) == ("u0", "L0", "study-group", ("English", "Hindi"), "video", 2,
                               True, "=1+1", "waiting", T0)
    assert ben.mode is None and ben.queue_state == "matched"  # no profile; latest joined_at
    assert ben.joined_at == T0 + timedelta(days=2)
    assert cai.topic == "SQL" and cai.queue_state is None and cai.joined_at is None
    assert dee.banned and not ana.banned and eve.mode is None
