"""The storage contract: every repository behaves the same in memory, on SQLite and on
PostgreSQL (the ``storage`` fixture runs each test on all three)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from core.messages import DirectMessage
from core.model import (
    AuditEntry,
    Block,
    Community,
    Feedback,
    Learner,
    Match,
    MatchMember,
    MatchState,
    Mode,
    OutboxMessage,
    OutboxState,
    Profile,
    QueueEntry,
    QueueState,
    Round,
    Session,
    SessionState,
    Setup,
)
from core.ports import StorageConflict

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


async def seed(storage: Any, people: int = 3) -> tuple[int, list[int]]:
    """A community with ``people`` learners (committed); returns their ids."""
    async with storage.uow_factory() as uow:
        c = await uow.communities.add(Community("discord", "guild-1", "Guild"))
        ids = [(await uow.learners.add(Learner(c.id, f"{900 + i}", f"L{i}", created_at=T0))).id
               for i in range(people)]
        await uow.commit()
    return c.id, ids


def pair(cid: int, a: int, b: int, **kw: Any) -> Match:
    return Match(cid, Mode.STUDY_BUDDY, [MatchMember(a), MatchMember(b)], ["same topic"], T0, **kw)


def msg(cid: int, key: str, due: datetime = T0, target: str = "u1") -> OutboxMessage:
    return OutboxMessage(DirectMessage(target, "hi", key), cid, due)


async def test_communities_crud_and_unique(storage: Any) -> None:
    async with storage.uow_factory() as uow:
        c = await uow.communities.add(Community("slack", "T01", "Team", {"group_max": 4}))
        assert c.id is not None
        c.name, c.settings = "Renamed", {"topics": ["Python"]}
        await uow.communities.update(c)
        await uow.communities.add(Community("discord", "T01"))  # other platform: fine
        with pytest.raises(StorageConflict):
            await uow.communities.add(Community("slack", "T01"))
        await uow.commit()  # the conflict did not spoil the transaction
    async with storage.uow_factory() as uow:
        got = await uow.communities.by_external("slack", "T01")
        assert got == Community("slack", "T01", "Renamed", {"topics": ["Python"]}, c.id)
        assert await uow.communities.get(c.id) == got
        assert await uow.communities.get(999) is None
        assert [x.platform for x in await uow.communities.list()] == ["slack", "discord"]


async def test_learners_crud(storage: Any) -> None:
    cid, (a, b, _) = await seed(storage)
    async with storage.uow_factory() as uow:
        la = await uow.learners.get(a)
        assert la is not None and la.platform_user_id == "900" and la.created_at == T0
        la.banned, la.ban_reason, la.paused_until = True, "spam", T0 + timedelta(days=1)
        await uow.learners.update(la)
        lb = await uow.learners.by_platform_id(cid, "901")
        assert lb is not None and lb.id == b
        lb.paused_until = T0 + timedelta(days=3)
        await uow.learners.update(lb)
        with pytest.raises(StorageConflict):
            await uow.learners.add(Learner(cid, "900", "dupe"))
        await uow.commit()
    async with storage.uow_factory() as uow:
        assert (await uow.learners.get(a)) == la
        assert len(await uow.learners.list(cid)) == 3
        assert await uow.learners.by_platform_id(cid, "nobody") is None


async def test_profiles_save_is_an_upsert(storage: Any) -> None:
    _, (a, b, c) = await seed(storage)
    p = Profile(a, Mode.NEED_SUPPORT, "Calculus", ("English", "Spanish"), "America/Bogota",
                "Mon-Fri 18:00-21:00", cohort="2026A", country="CO", setup=Setup.VIDEO,
                anonymous=True, contact="+573001234567", updated_at=T0)
    async with storage.uow_factory() as uow:
        await uow.profiles.save(p)
        await uow.profiles.save(
            Profile(b, Mode.STUDY_BUDDY, "Python", ("English",), "UTC", "Flexible")
        )
        p.topic, p.capacity = "Linear Algebra", 2
        await uow.profiles.save(p)
        await uow.commit()
    async with storage.uow_factory() as uow:
        got = await uow.profiles.get(a)
        assert got == p and isinstance(got.mode, Mode) and isinstance(got.setup, Setup)
        assert got.languages == ("English", "Spanish") and got.contact == "+573001234567"
        assert set(await uow.profiles.for_learners([a, b, c])) == {a, b}
        assert await uow.profiles.for_learners([]) == {}
        await uow.profiles.delete(a)
        assert await uow.profiles.get(a) is None


async def test_queue_one_waiting_entry_per_learner(storage: Any) -> None:
    cid, (a, b, _) = await seed(storage)
    async with storage.uow_factory() as uow:
        first = await uow.queue.add(QueueEntry(a, cid, Mode.STUDY_BUDDY, T0))
        with pytest.raises(StorageConflict):
            await uow.queue.add(QueueEntry(a, cid, Mode.STUDY_GROUP, T0))
        first.state = QueueState.MATCHED
        await uow.queue.update(first)
        second = await uow.queue.add(QueueEntry(a, cid, Mode.STUDY_GROUP, T0 + timedelta(hours=1)))
        first.state = QueueState.WAITING  # would make two waiting entries
        with pytest.raises(StorageConflict):
            await uow.queue.update(first)
        await uow.queue.add(QueueEntry(b, cid, Mode.STUDY_BUDDY, T0 - timedelta(hours=1),
                                       unmatched_reason="no partner yet"))
        await uow.commit()
    async with storage.uow_factory() as uow:
        assert (await uow.queue.open_for(a)) == second
        waiting = await uow.queue.waiting(cid)
        assert [e.learner_id for e in waiting] == [b, a]  # oldest first
        assert waiting[0].unmatched_reason == "no partner yet"
        assert [e.learner_id for e in await uow.queue.waiting(cid, Mode.STUDY_GROUP)] == [a]
        history = await uow.queue.history(cid)
        assert [e.state for e in history] == [QueueState.WAITING, QueueState.MATCHED,
                                              QueueState.WAITING]
        await uow.queue.delete_for(a)
        assert await uow.queue.open_for(a) is None
        assert len(await uow.queue.history(cid)) == 1


async def test_matches_members_and_queries(storage: Any) -> None:
    cid, (a, b, c) = await seed(storage)
    times = [(T0 + timedelta(days=1), T0 + timedelta(days=1, hours=1))]
    async with storage.uow_factory() as uow:
        rnd = await uow.rounds.add(Round(cid, 2**40 + 7, T0))
        m1 = await uow.matches.add(pair(cid, b, a, suggested_times=times, round_id=rnd.id,
                                        score=12.5))
        m2 = await uow.matches.add(
            Match(
                cid,
                Mode.NEED_SUPPORT,
                [MatchMember(c, "supporter"), MatchMember(a, "supported", "Owl")],
                ["needs Exam prep"],
                T0,
                space_id="C123",
            )
        )
        await uow.commit()
    async with storage.uow_factory() as uow:
        got = await uow.matches.get(m1.id)
        assert got == m1 and got.member_ids() == [b, a]  # order kept
        assert got.suggested_times[0][0].tzinfo is not None
        assert [m.id for m in await uow.matches.active_for(a)] == [m1.id, m2.id]
        got.state, got.ended_reason, got.ended_at = (
            MatchState.ENDED,
            "moved",
            T0 + timedelta(days=2),
        )
        got.members.append(MatchMember(c))
        await uow.matches.update(got)
        await uow.commit()
    async with storage.uow_factory() as uow:
        assert (await uow.matches.get(m1.id)) == got
        assert [m.id for m in await uow.matches.active_for(a)] == [m2.id]
        assert len(await uow.matches.for_learner(a)) == 2
        assert [m.id for m in await uow.matches.list(cid, MatchState.ENDED)] == [m1.id]
        assert len(await uow.matches.list(cid)) == 2
        await uow.matches.remove_member(a)
        assert (await uow.matches.get(m2.id)).member_ids() == [c]
        assert await uow.matches.for_learner(a) == []


async def test_blocks_pairs(storage: Any) -> None:
    cid, (a, b, c) = await seed(storage)
    async with storage.uow_factory() as uow:
        await uow.blocks.add(Block(cid, c, a, "unpaired", T0))
        await uow.blocks.add(Block(cid, a, c, "again", T0))  # the same pair: ignored
        await uow.blocks.add(Block(cid, a, b, "blocked", T0))
        await uow.commit()
    async with storage.uow_factory() as uow:
        assert await uow.blocks.pairs(cid) == {frozenset((a, c)), frozenset((a, b))}
        await uow.blocks.delete_for(c)
        assert await uow.blocks.pairs(cid) == {frozenset((a, b))}


async def test_rounds_latest(storage: Any) -> None:
    cid, _ = await seed(storage, 0)
    async with storage.uow_factory() as uow:
        r1 = await uow.rounds.add(Round(cid, 1, T0, finished_at=T0 + timedelta(minutes=1),
                                        figures={"matched": 4, "rate": 0.8}))
        r2 = await uow.rounds.add(Round(cid, 2, T0 + timedelta(hours=1), dry_run=True))
        await uow.commit()
    async with storage.uow_factory() as uow:
        assert (await uow.rounds.latest(cid)) == r2
        assert (await uow.rounds.latest(cid, dry_run=False)) == r1
        assert [r.seed for r in await uow.rounds.list(cid)] == [1, 2]
        assert await uow.rounds.latest(cid + 1) is None


async def test_sessions(storage: Any) -> None:
    cid, (a, b, c) = await seed(storage)
    async with storage.uow_factory() as uow:
        m = await uow.matches.add(pair(cid, a, b))
        s1 = await uow.sessions.add(
            Session(m.id, T0 + timedelta(days=2), T0 + timedelta(days=2, hours=1), a, "u1@pm")
        )
        s2 = await uow.sessions.add(
            Session(m.id, T0 + timedelta(days=1), T0 + timedelta(days=1, hours=1), b, "u2@pm")
        )
        with pytest.raises(StorageConflict):
            await uow.sessions.add(Session(m.id, T0, T0, a, "u1@pm"))
        s2.state, s2.sequence = SessionState.CANCELLED, 1
        await uow.sessions.update(s2)
        await uow.commit()
    async with storage.uow_factory() as uow:
        assert (await uow.sessions.get(s1.id)) == s1
        assert [s.id for s in await uow.sessions.for_match(m.id)] == [s2.id, s1.id]
        by_match = await uow.sessions.for_matches([m.id, m.id + 100])
        assert {k: [s.id for s in v] for k, v in by_match.items()} == {m.id: [s2.id, s1.id]}
        assert await uow.sessions.for_matches([]) == {}
        assert [s.id for s in await uow.sessions.booked_for_learners([b, c])] == [s1.id]
        assert await uow.sessions.booked_for_learners([c]) == []
        assert await uow.sessions.count_since(cid, T0) == 1
        assert await uow.sessions.count_since(cid, T0, learner_id=a) == 1
        assert await uow.sessions.count_since(cid, T0, learner_id=c) == 0
        assert await uow.sessions.count_since(cid, T0 + timedelta(days=3)) == 0


async def test_feedback_with_and_without_session(storage: Any) -> None:
    cid, (a, b, _) = await seed(storage)
    async with storage.uow_factory() as uow:
        m = await uow.matches.add(pair(cid, a, b))
        s = await uow.sessions.add(Session(m.id, T0, T0 + timedelta(hours=1), a, "x@pm"))
        f1 = await uow.feedback.add(Feedback(m.id, a, b, {"clarity": 5}, "great", T0))
        f2 = await uow.feedback.add(Feedback(m.id, a, b, {"clarity": 4}, "", T0, session_id=s.id))
        with pytest.raises(StorageConflict):  # no-session feedback is unique too
            await uow.feedback.add(Feedback(m.id, a, b, {"clarity": 1}, "again", T0))
        f1.scores, f1.comment = {"clarity": 3, "engagement": 4}, "edited"
        await uow.feedback.update(f1)
        await uow.commit()
    async with storage.uow_factory() as uow:
        assert (await uow.feedback.find(m.id, None, a, b)) == f1
        found = await uow.feedback.find(m.id, s.id, a, b)
        assert found == f2 and found.session_id == s.id
        assert await uow.feedback.find(m.id, None, b, a) is None
        assert [f.id for f in await uow.feedback.about(b)] == [f1.id, f2.id]
        assert len(await uow.feedback.list(cid)) == 2
        await uow.feedback.delete_for(b)
        assert await uow.feedback.list(cid) == []


async def test_outbox_idempotency_key(storage: Any) -> None:
    cid, _ = await seed(storage, 0)
    async with storage.uow_factory() as uow:
        first = await uow.outbox.add(msg(cid, "welcome:1"))
        again = await uow.outbox.add(msg(cid, "welcome:1", target="someone-else"))
        assert first.id is not None and again.id is None
        await uow.commit()
    async with storage.uow_factory() as uow:  # also across transactions
        assert (await uow.outbox.add(msg(cid, "welcome:1"))).id is None
        rows = await uow.outbox.list(cid)
        assert [(r.id, r.target) for r in rows] == [(first.id, "u1")]
        assert rows[0] == first


async def test_outbox_claim_leases(storage: Any) -> None:
    cid, _ = await seed(storage, 0)
    async with storage.uow_factory() as uow:
        late = await uow.outbox.add(msg(cid, "b", T0 - timedelta(minutes=1)))
        early = await uow.outbox.add(msg(cid, "a", T0 - timedelta(minutes=5)))
        await uow.outbox.add(msg(cid, "future", T0 + timedelta(hours=1)))
        await uow.commit()
    lease = T0 + timedelta(minutes=2)
    async with storage.uow_factory() as uow:
        claimed = await uow.outbox.claim_due(T0, 1, lease)
        assert [m.id for m in claimed] == [early.id] and claimed[0].due_at == lease
        await uow.commit()
    async with storage.uow_factory() as uow:
        assert [m.id for m in await uow.outbox.claim_due(T0, 10, lease)] == [late.id]
        await uow.commit()
    async with storage.uow_factory() as uow:  # leased: not again before the lease ends
        assert await uow.outbox.claim_due(T0 + timedelta(minutes=1), 10, lease) == []
        again = await uow.outbox.claim_due(lease, 10, lease + timedelta(minutes=2))
        assert [m.id for m in again] == sorted([early.id, late.id])  # same due_at: by id
        sent = next(m for m in again if m.id == early.id)
        sent.state, sent.attempts, sent.sent_at = OutboxState.SENT, 1, lease
        await uow.outbox.update(sent)
        await uow.commit()
    async with storage.uow_factory() as uow:
        assert [m.idempotency_key for m in await uow.outbox.pending(cid)] == ["b", "future"]
        assert await uow.outbox.pending(cid + 1) == []
        assert [m for m in await uow.outbox.list() if m.id == sent.id] == [sent]


async def test_outbox_drop_matching_and_delete(storage: Any) -> None:
    cid, _ = await seed(storage, 0)
    async with storage.uow_factory() as uow:
        for key in ("reminder:7:24h", "reminder:7:1h", "reminder:70:1h", "reminder_7", "other"):
            await uow.outbox.add(msg(cid, key, target="T-" + key[-2:]))
        done = await uow.outbox.add(msg(cid, "reminder:7:done"))
        done.state = OutboxState.SENT
        await uow.outbox.update(done)
        assert await uow.outbox.drop_matching("reminder:7:", "session cancelled") == 2
        assert await uow.outbox.drop_matching("100%_", "x") == 0  # LIKE wildcards are literal
        await uow.commit()
    async with storage.uow_factory() as uow:
        by_key = {m.idempotency_key: m for m in await uow.outbox.list(cid)}
        assert by_key["reminder:7:24h"].state == OutboxState.DROPPED
        assert by_key["reminder:7:24h"].last_error == "session cancelled"
        assert by_key["reminder:70:1h"].state == OutboxState.PENDING
        assert by_key["reminder:7:done"].state == OutboxState.SENT
        await uow.outbox.delete_for_target(cid + 1000, "T-1h")  # another community's: kept
        assert len(await uow.outbox.list(cid)) == 6
        await uow.outbox.delete_for_target(cid, "T-1h")
        assert len(await uow.outbox.list(cid)) == 4


async def test_audit(storage: Any) -> None:
    cid, _ = await seed(storage, 0)
    entry = AuditEntry(cid, "U1", "ban", "U2: spam", T0)
    async with storage.uow_factory() as uow:
        await uow.audit.add(entry)
        await uow.commit()
    async with storage.uow_factory() as uow:
        assert entry.id is not None and await uow.audit.list(cid) == [entry]


async def test_datetimes_come_back_aware_utc(storage: Any) -> None:
    cid, (a, _, _) = await seed(storage)
    bogota = timezone(timedelta(hours=-5))
    when = datetime(2026, 3, 8, 1, 30, 15, 123456, tzinfo=bogota)
    async with storage.uow_factory() as uow:
        learner = await uow.learners.get(a)
        learner.paused_until = when
        await uow.learners.update(learner)
        await uow.outbox.add(msg(cid, "k", when))
        await uow.commit()
    async with storage.uow_factory() as uow:
        for value in ((await uow.learners.get(a)).paused_until,
                      (await uow.outbox.list())[0].due_at):
            assert value == when and value.utcoffset() == timedelta(0)
        early = await uow.outbox.claim_due(when - timedelta(microseconds=1), 5, when)
        assert early == []  # compared as instants, to the microsecond


async def test_rollback_discards_and_commit_keeps(storage: Any) -> None:
    cid, (a, b, _) = await seed(storage)
    async with storage.uow_factory() as uow:
        await uow.queue.add(QueueEntry(a, cid, Mode.STUDY_BUDDY, T0))
        learner = await uow.learners.get(b)
        learner.display_name = "changed"
        await uow.learners.update(learner)
        # no commit
    async with storage.uow_factory() as uow:
        assert await uow.queue.open_for(a) is None
        assert (await uow.learners.get(b)).display_name == "L1"
        await uow.queue.add(QueueEntry(a, cid, Mode.STUDY_BUDDY, T0))
        await uow.commit()
        await uow.outbox.add(msg(cid, "after-commit"))
        await uow.rollback()
        await uow.audit.add(AuditEntry(cid, "U1", "x", "", T0))
        # exits without commit
    async with storage.uow_factory() as uow:
        assert await uow.queue.open_for(a) is not None
        assert await uow.outbox.list() == [] and await uow.audit.list(cid) == []


async def test_returned_objects_are_copies(storage: Any) -> None:
    cid, (a, b, _) = await seed(storage)
    async with storage.uow_factory() as uow:
        m = await uow.matches.add(pair(cid, a, b))
        m.members.clear()
        m.reasons.append("not stored")
        got = await uow.matches.get(m.id)
        assert got.member_ids() == [a, b] and got.reasons == ["same topic"]
        got.space_id = "changed"
        assert (await uow.matches.get(m.id)).space_id == ""


async def test_forget_a_learner(storage: Any) -> None:
    cid, (a, b, c) = await seed(storage)
    async with storage.uow_factory() as uow:
        await uow.profiles.save(
            Profile(a, Mode.STUDY_BUDDY, "Python", ("English",), "UTC", "Flexible")
        )
        await uow.queue.add(QueueEntry(a, cid, Mode.STUDY_BUDDY, T0))
        m = await uow.matches.add(pair(cid, a, b))
        await uow.blocks.add(Block(cid, a, c, "unpaired", T0))
        await uow.feedback.add(Feedback(m.id, b, a, {"clarity": 5}, "", T0))
        await uow.sessions.add(Session(m.id, T0, T0 + timedelta(hours=1), a, "s@pm"))
        await uow.commit()
    async with storage.uow_factory() as uow:
        await uow.learners.delete(a)  # what the rest refers to goes with it
        await uow.commit()
    async with storage.uow_factory() as uow:
        assert await uow.learners.get(a) is None
        assert await uow.profiles.get(a) is None
        assert await uow.queue.history(cid) == []
        assert (await uow.matches.get(m.id)).member_ids() == [b]
        assert await uow.blocks.pairs(cid) == set()
        assert await uow.feedback.list(cid) == []
        assert len(await uow.sessions.for_match(m.id)) == 1  # the partner keeps the session
        assert [x.id for x in await uow.learners.list(cid)] == [b, c]


async def test_lock_community_within_one_transaction(storage: Any) -> None:
    cid, _ = await seed(storage, 0)
    async with storage.uow_factory() as uow:
        assert await uow.lock_community(cid)
        assert await uow.lock_community(cid)  # re-entrant for its holder
        await uow.commit()
    async with storage.uow_factory() as uow:
        assert await uow.lock_community(cid)
