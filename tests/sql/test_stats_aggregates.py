"""`/peeradmin stats` counted by the database (issue 9.7): the aggregates give the figures
the rules say, only for the community asked about, and cost the same statements for a
small community as for a big one."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import event

from core.model import (
    GHOST_PAUSE,
    Community,
    Feedback,
    Learner,
    Match,
    MatchMember,
    MatchState,
    Mode,
    QueueEntry,
    Session,
    SessionState,
)
from core.services.outcomes import MET_UID
from tests.fakes import FakeClock
from tests.helpers import Bot

NOW = FakeClock().now()
DAY = timedelta(days=1)


async def _community(storage: Any, name: str, pairs: int) -> int:
    """``pairs`` matched pairs (every other one with a session, every third one rated) and
    as many learners again still waiting, half of them accountability."""
    async with storage.uow_factory() as uow:
        cid = (await uow.communities.add(Community("test", name))).id
        people = await uow.learners.add_many(
            [Learner(cid, f"{name}{i}", f"L{i}") for i in range(3 * pairs)])
        ids = [lr.id for lr in people]
        await uow.queue.add_many([QueueEntry(lid, cid, Mode.STUDY_BUDDY, NOW - 10 * DAY)
                                  for lid in ids[:2 * pairs]])
        await uow.queue.claim_waiting(ids[:2 * pairs])
        await uow.queue.add_many([QueueEntry(lid, cid, Mode.ACCOUNTABILITY if k % 2 else
                                             Mode.STUDY_BUDDY, NOW - DAY)
                                  for k, lid in enumerate(ids[2 * pairs:])])
        made = await uow.matches.add_many([
            Match(cid, Mode.STUDY_BUDDY, [MatchMember(ids[2 * k], "peer"),
                                          MatchMember(ids[2 * k + 1], "peer")], ["r"],
                  NOW - (10 - k % 4) * DAY) for k in range(pairs)])
        for k, match in enumerate(made):
            if k % 2 == 0:
                await uow.sessions.add(Session(match.id, NOW, NOW + DAY / 24, ids[2 * k],
                                               f"{name}-{k}@x"))
            if k % 3 == 0:
                await uow.feedback.add(Feedback(match.id, ids[2 * k], ids[2 * k + 1],
                                                {"clarity": 3 + k % 3}, "", NOW))
        await uow.commit()
    return cid


async def test_the_aggregates_count_what_the_rules_say(storage: Any) -> None:
    cid = await _community(storage, "g", 6)
    await _community(storage, "other", 5)  # never counted for g
    async with storage.uow_factory() as uow:
        a, b, c = (await uow.matches.list(cid))[:3]
        c.state, c.ended_at = MatchState.ENDED, NOW
        await uow.matches.update(c)
        done = (await uow.sessions.for_match(a.id))[0]
        done.state = SessionState.DONE
        await uow.sessions.update(done)
        await uow.sessions.add(Session(b.id, NOW, NOW + DAY, b.member_ids()[0],
                                       f"{MET_UID}{b.id}", state=SessionState.DONE))
        cancelled = (await uow.sessions.for_match(c.id))[0]
        cancelled.state = SessionState.CANCELLED
        await uow.sessions.update(cancelled)
        ghost, paused, over = (await uow.learners.list(cid))[-3:]
        ghost.paused_until, ghost.pause_reason = NOW + DAY, f"{GHOST_PAUSE} no reply"
        paused.paused_until, paused.pause_reason = NOW + DAY, "holiday"
        over.paused_until, over.pause_reason = NOW - DAY, f"{GHOST_PAUSE} old"
        for learner in (ghost, paused, over):
            await uow.learners.update(learner)
        await uow.commit()
    async with storage.uow_factory(writes=False) as uow:
        queue = await uow.stats.queue_counts(cid)
        waits = await uow.stats.wait_days(cid)
        counts = await uow.stats.match_counts(cid, MET_UID)
        scores = await uow.stats.rating_scores(cid)
        ghosts = await uow.stats.paused_for(cid, GHOST_PAUSE, NOW)
    assert queue == (18, 12, {"study-buddy": 3, "accountability": 3})
    # Matches made 10, 9, 8, 7 days before NOW, after the entries queued 10 days before.
    assert sorted(round(days, 6) for days in waits) == sorted(
        [0, 0, 1, 1, 2, 2, 3, 3, 0, 0, 1, 1])
    # Sessions on matches 0, 2, 4 (2's cancelled), a "met" record on 1; 0 met in its own.
    assert counts == {"matches": 6, "active": 5, "with_sessions": 3, "booked": 2, "met": 2}
    assert sorted(s["clarity"] for s in scores) == [3, 3]  # matches 0 and 3
    assert ghosts == 1


async def test_stats_statements_do_not_grow_with_the_community_on_sqlite(sqlite_storage) -> None:
    counts = []
    for name, pairs in (("small", 3), ("big", 60)):
        await _community(sqlite_storage, name, pairs)
        bot = Bot(sqlite_storage, community=name)
        assert (await bot.run("mod", "peeradmin stats")).ok  # first contact's rows aside
        statements: list[str] = []

        def count(*args: Any, into: list[str] = statements) -> None:
            into.append(str(args[2])[:40])

        engine = sqlite_storage.engine.sync_engine
        event.listen(engine, "before_cursor_execute", count)
        try:
            reply = await bot.run("mod", "peeradmin stats")
        finally:
            event.remove(engine, "before_cursor_execute", count)
        assert reply.ok and reply.data["matches"] == pairs, reply.text
        assert reply.data["waiting"] == pairs and reply.data["requested"] == 3 * pairs
        counts.append(len(statements))
    assert counts[0] == counts[1] <= 25, counts
