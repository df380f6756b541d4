"""The event table: every event has effects, and ending a match does exactly what it says."""

from __future__ import annotations

import typing

from core import events
from core.model import MatchState, OutboxState
from core.services.effects import EFFECTS
from tests.helpers import Bot


def test_every_event_type_has_an_entry() -> None:
    published = set(typing.get_args(events.Event))
    assert published == set(EFFECTS)
    assert all(EFFECTS[e] for e in published)


async def _rows(bot: Bot) -> dict[str, OutboxState]:
    async with bot.storage.uow_factory() as uow:
        return {m.idempotency_key: m.state for m in await uow.outbox.list()}


async def test_ending_a_match_produces_exactly_the_documented_messages(memory_storage) -> None:
    bot = Bot(memory_storage)
    assert (await bot.join("ana")).ok and (await bot.join("ben")).ok
    assert (await bot.run("mod", "peeradmin match-now")).ok
    await bot.deliver()
    assert (await bot.book("ana", "peer schedule", when="2026-03-03 18:00")).ok
    async with bot.storage.uow_factory() as uow:
        [match] = await uow.matches.list(1)
        ana = await uow.learners.by_platform_id(1, "ana")
        ben = await uow.learners.by_platform_id(1, "ben")
        [session] = await uow.sessions.for_match(match.id)
    assert ana is not None and ben is not None and ana.id and ben.id
    before = await _rows(bot)
    pending = {k for k, s in before.items() if s is OutboxState.PENDING}
    assert (await bot.run("ana", "peer unpair", reason="we never met")).ok

    after = await _rows(bot)
    new = set(after) - set(before)
    mid, sid = match.id, session.id
    assert new == {  # MatchEnded: cancellations, the space closed; MemberLeft: ben told
        f"session:{sid}:cancel:{ana.id}", f"session:{sid}:cancel:{ben.id}",
        f"space-close:{mid}", f"left:{mid}:{ana.id}:{ben.id}",
    }
    dropped = {k for k in pending if after[k] is OutboxState.DROPPED}
    # Every pending row of the match and of its session is dropped, nothing else.
    assert dropped == {k for k in pending
                       if k.startswith((f"match:{mid}:", f"session:{sid}:"))}
    assert any(k.startswith(f"session:{sid}:seq") and ":remind:" in k for k in dropped)
    assert any(k.startswith(f"match:{mid}:checkin:") for k in dropped)
    async with bot.storage.uow_factory() as uow:
        ended = await uow.matches.get(mid)
        assert ended is not None and ended.state is MatchState.ENDED
        [cancelled] = await uow.sessions.for_match(mid)
        assert cancelled.state.value == "cancelled"


async def test_pausing_again_replaces_the_pause_end_and_resuming_drops_it(memory_storage) -> None:
    bot = Bot(memory_storage)
    assert (await bot.join("ana")).ok
    assert (await bot.run("ana", "peer pause", weeks=1)).ok
    assert (await bot.run("ana", "peer pause", weeks=2)).ok
    rows = await _rows(bot)
    ends = {k: s for k, s in rows.items() if k.startswith("pause-end:")}
    assert sorted(ends.values()) == sorted([OutboxState.DROPPED, OutboxState.PENDING])
    [live] = [k for k, s in ends.items() if s is OutboxState.PENDING]
    assert live == max(ends)  # the later pause's end (a later unix time)
    assert (await bot.run("ana", "peer resume")).ok
    assert (await _rows(bot))[live] is OutboxState.DROPPED


async def _booked_pair(bot: Bot) -> tuple[int, int, int, int]:
    """ana and ben matched, their intro delivered; ana books a session. (mid, sid, ana, ben)."""
    assert (await bot.join("ana")).ok and (await bot.join("ben")).ok
    assert (await bot.run("mod", "peeradmin match-now")).ok
    await bot.deliver()
    assert (await bot.book("ana", "peer schedule", when="2026-03-03 18:00")).ok
    async with bot.storage.uow_factory() as uow:
        [match] = await uow.matches.list(1)
        ana = await uow.learners.by_platform_id(1, "ana")
        ben = await uow.learners.by_platform_id(1, "ben")
        [session] = await uow.sessions.for_match(match.id)
    assert match.id and session.id and ana is not None and ben is not None
    assert ana.id and ben.id
    return match.id, session.id, ana.id, ben.id


def _session_rows(sid: int, seq: int, *members: int) -> set[str]:
    """SessionBooked/SessionMoved: invite, reminders 24 h and 1 h before, feedback prompt."""
    return {key for lid in members for key in (
        f"session:{sid}:seq{seq}:invite:{lid}", f"session:{sid}:seq{seq}:remind:1440:{lid}",
        f"session:{sid}:seq{seq}:remind:60:{lid}", f"session:{sid}:seq{seq}:feedback:{lid}")}


async def test_booking_moving_and_cancelling_produce_exactly_the_documented_rows(
        memory_storage) -> None:
    bot = Bot(memory_storage)
    before_booking = await _rows(bot)  # nothing yet: the match comes first
    mid, sid, ana, ben = await _booked_pair(bot)
    booked = await _rows(bot)
    session_keys = {k for k in booked if k.startswith(f"session:{sid}:")}
    assert session_keys == _session_rows(sid, 0, ana, ben)
    assert all(booked[k] is OutboxState.PENDING for k in session_keys)
    assert not before_booking

    assert (await bot.book("ben", "peer reschedule", session=sid, when="2026-03-04 18:00")).ok
    moved = await _rows(bot)
    # The proposal's ask (booking is by agreement) and the new version's session rows.
    assert set(moved) - set(booked) == _session_rows(sid, 1, ana, ben) | {
        f"match:{mid}:proposal:2:ask:{ana}"}
    assert moved[f"match:{mid}:proposal:2:ask:{ana}"] is OutboxState.DROPPED  # answered
    assert {k for k in session_keys if moved[k] is OutboxState.DROPPED} == session_keys
    assert all(moved[k] is OutboxState.PENDING for k in _session_rows(sid, 1, ana, ben))
    # Nothing else changed: the match's own rows are as they were.
    assert {k: s for k, s in moved.items() if not k.startswith(f"session:{sid}:")
            and ":proposal:" not in k} == {
        k: s for k, s in booked.items() if not k.startswith(f"session:{sid}:")
        and ":proposal:" not in k}

    assert (await bot.run("ana", "peer cancel", session=sid)).ok
    cancelled = await _rows(bot)
    assert set(cancelled) - set(moved) == {f"session:{sid}:cancel:{ana}",
                                           f"session:{sid}:cancel:{ben}"}
    assert all(cancelled[k] is OutboxState.DROPPED for k in _session_rows(sid, 1, ana, ben))
    assert any(k.startswith(f"match:{mid}:") and s is OutboxState.PENDING
               for k, s in cancelled.items())  # the match goes on: its check-ins stay


async def test_forgetting_buries_blocks_and_deletes_rows_to_the_person(memory_storage) -> None:
    bot = Bot(memory_storage)
    mid, sid, ana, ben = await _booked_pair(bot)
    assert (await bot.run("ana", "peer forget", confirm=True)).ok
    rows = await _rows(bot)
    # No row to ana is left (her invites, reminders, prompts are deleted, not just dropped);
    # ben keeps his rows: told that she left, the session's cancellation.
    assert not any(k.endswith(f":{ana}") for k in rows if k.startswith(f"session:{sid}:"))
    assert f"left:{mid}:{ana}:{ben}" in rows
    assert f"session:{sid}:cancel:{ben}" in rows
    async with bot.storage.uow_factory() as uow:
        assert await uow.learners.by_platform_id(1, "ana") is None


async def test_a_moderator_ending_a_match_tells_each_member_once(memory_storage) -> None:
    bot = Bot(memory_storage)
    mid, sid, ana, ben = await _booked_pair(bot)
    before = await _rows(bot)
    assert (await bot.run("mod", "peeradmin end-match", match=mid, reason="test")).ok
    new = set(await _rows(bot)) - set(before)
    assert new == {  # MatchEnded: cancellations, the space closed, each member told
        f"session:{sid}:cancel:{ana}", f"session:{sid}:cancel:{ben}",
        f"space-close:{mid}", f"ended:{mid}:{ana}", f"ended:{mid}:{ben}",
    }
