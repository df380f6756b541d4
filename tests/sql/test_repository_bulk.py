"""The bulk methods imports use (``add_many``, ``save_many``, ``by_platform_ids``,
``open_for_many``) behave the same in memory, on SQLite and on PostgreSQL: ids in order,
all or none on a conflict, lookups by many keys in one call."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from core.model import Community, Learner, Mode, Profile, QueueEntry, QueueState
from core.ports import StorageConflict

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


async def _community(storage: Any) -> int:
    async with storage.uow_factory() as uow:
        c = await uow.communities.add(Community("discord", "guild-1", "Guild"))
        await uow.commit()
    assert c.id is not None
    return c.id


def _profile(learner_id: int, topic: str = "Python") -> Profile:
    return Profile(learner_id, Mode.STUDY_BUDDY, topic, ("English",), "Europe/London",
                   "Mon 18:00-20:00", contact="007700900001", updated_at=T0)


async def test_learners_added_many_get_ids_in_order_and_are_found_by_platform_ids(
        storage: Any) -> None:
    cid = await _community(storage)
    async with storage.uow_factory() as uow:
        added = await uow.learners.add_many(
            [Learner(cid, f"00{i}", f"L{i}", created_at=T0) for i in range(700)])
        await uow.commit()
    ids = [lr.id for lr in added]
    assert None not in ids and len(set(ids)) == 700
    async with storage.uow_factory() as uow:
        # 700 ids: more than one IN chunk; unknown ids are simply absent.
        found = await uow.learners.by_platform_ids(cid, [f"00{i}" for i in range(700)] + ["x"])
        assert len(found) == 700 and "x" not in found
        assert found["00699"].id == ids[699] and found["00699"].display_name == "L699"
        assert found["007"].platform_user_id == "007"  # ids stay strings, leading 0s kept
        assert await uow.learners.by_platform_ids(cid + 1, ["001"]) == {}
        assert await uow.learners.add_many([]) == []


async def test_a_duplicate_in_add_many_adds_none_and_keeps_the_transaction(storage: Any) -> None:
    cid = await _community(storage)
    async with storage.uow_factory() as uow:
        await uow.learners.add(Learner(cid, "u1", "One", created_at=T0))
        with pytest.raises(StorageConflict):
            await uow.learners.add_many([Learner(cid, "u2", "Two", created_at=T0),
                                         Learner(cid, "u1", "Again", created_at=T0)])
        with pytest.raises(StorageConflict):  # a duplicate among the new rows themselves
            await uow.learners.add_many([Learner(cid, "u3", "Three", created_at=T0),
                                         Learner(cid, "u3", "Three", created_at=T0)])
        await uow.commit()
    async with storage.uow_factory() as uow:
        assert [lr.platform_user_id for lr in await uow.learners.list(cid)] == ["u1"]


async def test_profiles_saved_many_insert_or_replace(storage: Any) -> None:
    cid = await _community(storage)
    async with storage.uow_factory() as uow:
        people = await uow.learners.add_many(
            [Learner(cid, f"u{i}", f"L{i}", created_at=T0) for i in range(3)])
        ids = [p.id or 0 for p in people]
        await uow.profiles.save(_profile(ids[0], "Old topic"))
        await uow.profiles.save_many([_profile(i) for i in ids])
        await uow.profiles.save_many([])
        await uow.commit()
    async with storage.uow_factory() as uow:
        saved = await uow.profiles.for_learners(ids)
    assert {p.topic for p in saved.values()} == {"Python"} and len(saved) == 3
    assert saved[ids[1]].contact == "007700900001"


async def test_queue_entries_added_many_and_open_entries_found_for_many(storage: Any) -> None:
    cid = await _community(storage)
    async with storage.uow_factory() as uow:
        people = await uow.learners.add_many(
            [Learner(cid, f"u{i}", f"L{i}", created_at=T0) for i in range(4)])
        ids = [p.id or 0 for p in people]
        entries = await uow.queue.add_many(
            [QueueEntry(i, cid, Mode.STUDY_BUDDY, T0 + timedelta(minutes=n))
             for n, i in enumerate(ids[:3])])
        assert all(e.id is not None for e in entries)
        entries[2].state = QueueState.LEFT
        await uow.queue.update(entries[2])
        await uow.commit()
    async with storage.uow_factory() as uow:
        open_ = await uow.queue.open_for_many(ids)
        assert set(open_) == {ids[0], ids[1]} and open_[ids[1]].id == entries[1].id
        with pytest.raises(StorageConflict):  # one WAITING entry per learner, all or none
            await uow.queue.add_many([QueueEntry(ids[3], cid, Mode.STUDY_BUDDY, T0),
                                      QueueEntry(ids[0], cid, Mode.STUDY_BUDDY, T0)])
        assert await uow.queue.open_for(ids[3]) is None
