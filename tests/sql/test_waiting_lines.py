"""The kept waiting lines (adapters/sql/waiting_lines.py): places in line and queue counts
answered from memory agree with a fresh count by the database after every kind of change
this process makes (joins, leaves, profile edits, a round, an import, a forget, changes
not yet committed, a rollback), another process's changes show within the 5 s bound, and
a fresh line costs `/peer status` no count of the queue."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event

from adapters.sql.uow import SqlStorage
from adapters.sql.waiting_lines import MAX_AGE_SECONDS
from bot.sample import sample_rows
from core.model import Mode, QueueEntry, QueueState
from core.services.importing import import_rows
from tests.helpers import Bot

TOPICS = ("Python", "Calculus", "Statistics")


class Monotonic:
    """A hand-driven clock for one storage's lines."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


async def _community_id(storage: Any, bot: Bot) -> int:
    async with storage.uow_factory(writes=False) as uow:
        community = await uow.communities.by_external("test", bot.community)
        assert community is not None and community.id is not None
        return community.id


async def _agree(storage: Any, community_id: int) -> int:
    """Every waiting entry's kept place and the kept counts equal a fresh count; returns
    how many wait."""
    async with storage.uow_factory(writes=False) as uow:
        entries = await uow.queue.waiting(community_id)
        for entry in entries:
            assert await uow.queue.position(entry) == await uow.queue.counted_position(entry)
        for mode in (None, *Mode):
            kept = await uow.queue.waiting_counts(community_id, mode)
            assert kept == await uow.queue.counted_waiting(community_id, mode), mode
        return len(entries)


async def _own_changes(storage: Any) -> None:
    bot = Bot(storage)
    for i in range(12):
        mode = ("study-buddy", "accountability", "study-group")[i % 3]
        assert (await bot.join(f"u{i}", mode, topic=TOPICS[i % 3])).ok
        bot.clock.advance(timedelta(minutes=1))
    cid = await _community_id(storage, bot)
    assert await _agree(storage, cid) == 12
    loads = storage.lines.loads
    steps = [
        lambda: bot.run("u4", "peer leave"),
        lambda: bot.run("u1", "peer profile", action="edit", topic="Statistics"),
        lambda: bot.join("u4", "study-buddy", topic="Calculus"),  # back, at the end
        lambda: bot.run("u7", "peer forget", confirm="yes"),
        lambda: bot.join("late", "study-group", topic="Python"),
    ]
    for step in steps:
        assert (await step()).ok
        bot.clock.advance(timedelta(minutes=1))
        await _agree(storage, cid)
    assert storage.lines.loads == loads  # all of it applied to the kept line: no reload
    assert (await bot.match_now()).ok  # a round claims entries (and may release some)
    await _agree(storage, cid)
    await import_rows(bot.services, "test", bot.community, sample_rows(bot.clock.now(), 30))
    assert await _agree(storage, cid) > 30


async def test_kept_places_and_counts_equal_a_fresh_count_on_sqlite(sqlite_storage) -> None:
    await _own_changes(sqlite_storage)


@pytest.mark.postgres
async def test_kept_places_and_counts_equal_a_fresh_count_on_postgres(pg_storage) -> None:
    await _own_changes(pg_storage)


async def _uncommitted(storage: Any) -> None:
    bot = Bot(storage)
    for i in range(4):
        assert (await bot.join(f"u{i}", topic=TOPICS[i % 2])).ok
        bot.clock.advance(timedelta(minutes=1))
    cid = await _community_id(storage, bot)
    await _agree(storage, cid)
    async with storage.uow_factory() as uow:
        first = (await uow.queue.waiting(cid))[0]
        first.state = QueueState.LEFT
        await uow.queue.update(first)
        learner = (await uow.learners.by_platform_id(cid, "u3"))
        assert learner is not None and learner.id is not None
        profile = await uow.profiles.get(learner.id)
        assert profile is not None
        profile.topic = "Statistics"
        await uow.profiles.save(profile)
        for entry in await uow.queue.waiting(cid):  # the unit sees its own changes
            assert await uow.queue.position(entry) == await uow.queue.counted_position(entry)
        assert (await uow.queue.waiting_counts(cid)
                == await uow.queue.counted_waiting(cid)
                == {(Mode.STUDY_BUDDY, "Calculus"): 1, (Mode.STUDY_BUDDY, "Python"): 1,
                    (Mode.STUDY_BUDDY, "Statistics"): 1})
        await uow.rollback()  # none of it happened
    assert await _agree(storage, cid) == 4
    async with storage.uow_factory(writes=False) as uow:
        counted = await uow.queue.waiting_counts(cid)
    assert counted == {(Mode.STUDY_BUDDY, "Python"): 2, (Mode.STUDY_BUDDY, "Calculus"): 2}


async def test_a_units_own_changes_count_until_it_rolls_back_on_sqlite(sqlite_storage) -> None:
    await _uncommitted(sqlite_storage)


@pytest.mark.postgres
async def test_a_units_own_changes_count_until_it_rolls_back_on_postgres(pg_storage) -> None:
    await _uncommitted(pg_storage)


async def _other_process(storage: Any, other: SqlStorage) -> None:
    clock = Monotonic()
    storage.lines.now = clock
    here, there = Bot(storage), Bot(other)
    assert (await here.join("mine")).ok
    reply = await here.run("mine", "peer status")
    assert "1 of 1 waiting" in reply.text, reply.text
    there.clock.advance(timedelta(minutes=-5))  # joined before "mine": ahead in line
    assert (await there.join("theirs")).ok
    clock.t += MAX_AGE_SECONDS / 2  # within the bound the kept line may still answer
    assert "of 1 waiting" in (await here.run("mine", "peer status")).text
    clock.t += MAX_AGE_SECONDS  # past it, the other process's join shows
    reply = await here.run("mine", "peer status")
    assert "2 of 2 waiting" in reply.text, reply.text
    await _agree(storage, await _community_id(storage, here))


async def test_another_process_join_shows_within_the_bound_on_sqlite(sqlite_storage) -> None:
    other = SqlStorage(sqlite_storage.url)
    try:
        await _other_process(sqlite_storage, other)
    finally:
        await other.dispose()


@pytest.mark.postgres
async def test_another_process_join_shows_within_the_bound_on_postgres(pg_storage) -> None:
    other = SqlStorage(pg_storage.url, schema=pg_storage.schema)
    try:
        await _other_process(pg_storage, other)
    finally:
        await other.dispose()


async def test_a_fresh_line_spares_status_its_count(sqlite_storage) -> None:
    bot = Bot(sqlite_storage)
    await import_rows(bot.services, "test", bot.community, sample_rows(bot.clock.now(), 40))
    assert (await bot.join("me")).ok
    assert (await bot.run("me", "peer status")).ok  # reads the line once
    seen: list[str] = []
    engine = sqlite_storage.engine.sync_engine

    def note(*args: Any) -> None:
        seen.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", note)
    try:
        reply = await bot.run("me", "peer status")
    finally:
        event.remove(engine, "before_cursor_execute", note)
    assert reply.ok and " waiting for" in reply.text, reply.text
    assert not [s for s in seen if "queue_entries" in s and "count(" in s.lower()], seen


def test_an_entry_not_waiting_is_placed_last() -> None:
    from datetime import UTC, datetime

    from adapters.sql.waiting_lines import Line, Waiting, place

    line = Line(0.0)
    at = datetime(2026, 3, 2, 9, tzinfo=UTC)
    for i in range(1, 4):
        assert line.add(Waiting(i, 10 + i, 1, Mode.STUDY_BUDDY, at + timedelta(minutes=i)), "T")
    gone = QueueEntry(11, 1, Mode.STUDY_BUDDY, at, QueueState.LEFT, id=99)
    assert place(line, None, gone) == (3, 3)
    second = QueueEntry(12, 1, Mode.STUDY_BUDDY, at + timedelta(minutes=2), id=2)
    assert place(line, None, second) == (2, 3)
