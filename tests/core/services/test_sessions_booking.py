"""Booking, moving and cancelling sessions: the rules, the DMs and the reminder rows
(every backend)."""

from __future__ import annotations

from datetime import timedelta

from core.model import Mode
from core.settings import CommunitySettings
from tests.helpers import Bot
from tests.scheduler.support import (
    NY,
    add_match,
    calendar_of,
    learner_id,
    matches,
    pair,
    rows_by_key,
    sessions,
    unix,
    utc,
)


async def test_booking_a_suggested_time_invites_everyone_and_queues_reminders(storage) -> None:
    bot = Bot(storage)
    mid = await pair(bot)
    [match] = await matches(bot)
    start, end = match.suggested_times[0]
    reply = await bot.book("ana", "peer schedule", when="1")
    assert reply.ok, reply.text
    assert "Booked session #" in reply.text and f"{{t:{unix(start)}:F}}" in reply.text
    [session] = await sessions(bot, mid)
    assert (session.start, session.end, session.sequence) == (start, end, 0)
    rows = await rows_by_key(bot)
    sid = session.id
    for lid in (await learner_id(bot, "ana"), await learner_id(bot, "ben")):
        invite = rows[f"session:{sid}:seq0:invite:{lid}"]
        assert invite.due_at == bot.clock.now()
        assert calendar_of(invite).get("method") == "PUBLISH"
        feedback = rows[f"session:{sid}:seq0:feedback:{lid}"]
        assert feedback.due_at == end
        assert [b["action"] for b in feedback.payload["buttons"]] == ["peer feedback"]
        for offset in (24 * 60, 60):
            key = f"session:{sid}:seq0:remind:{offset}:{lid}"
            due = start - timedelta(minutes=offset)
            if due <= bot.clock.now():
                assert key not in rows  # the invite itself is the reminder then
                continue
            assert rows[key].due_at == due
            assert f"{{t:{unix(start)}:R}}" in rows[key].payload["text"]
    await bot.deliver()
    [ben_invite] = [
        m for m in bot.deliverer.sent if m.target == "ben" and "seq0:invite" in m.idempotency_key
    ]
    assert "{u:ana}" in ben_invite.payload["text"] and ben_invite.payload["attachments"]


async def test_a_typed_time_is_read_in_the_bookers_zone_across_a_dst_change(storage) -> None:
    bot = Bot(storage)  # Monday 2 March 2026: New York is on EST (UTC-5) until 8 March
    mid = await pair(bot, ben=NY)
    reply = await bot.book("ben", "peer schedule", when="2026-03-10 14:00")  # EDT (UTC-4)
    assert reply.ok, reply.text
    [session] = await sessions(bot, mid)
    assert session.start == utc(2026, 3, 10, 18, 0)  # 18:00 in London (GMT) for Ana
    rows = await rows_by_key(bot)
    ben = await learner_id(bot, "ben")
    assert rows[f"session:{session.id}:seq0:remind:1440:{ben}"].due_at == utc(2026, 3, 9, 18, 0)
    assert rows[f"session:{session.id}:seq0:remind:60:{ben}"].due_at == utc(2026, 3, 10, 17, 0)


async def test_times_in_the_past_garbage_or_skipped_by_the_clocks_are_refused(storage) -> None:
    bot = Bot(storage)
    await pair(bot, ben=NY)
    past = await bot.book("ana", "peer schedule", when="2026-03-01 18:00")
    assert not past.ok and "already passed" in past.text
    garbage = await bot.book("ana", "peer schedule", when="next tuesday")
    assert not garbage.ok and "isn't a time I understand" in garbage.text
    wrong_slot = await bot.book("ana", "peer schedule", when="9")
    assert not wrong_slot.ok and "between 1 and" in wrong_slot.text
    gap = await bot.book("ben", "peer schedule", when="2026-03-08 02:30")  # NY springs forward
    assert not gap.ok and "doesn't exist in America/New_York" in gap.text


async def test_nobody_is_double_booked_within_or_across_matches(storage) -> None:
    bot = Bot(storage)
    await pair(bot)
    assert (await bot.join("cat")).ok
    assert (await bot.book("ana", "peer schedule", when="2026-03-03 18:00")).ok
    same = await bot.book("ben", "peer schedule", when="2026-03-03 18:30")
    assert not same.ok and "You already have a session booked then" in same.text
    # A second match of another mode (one mode allows one active match: migration 0005).
    other = await add_match(bot, "ana", "cat", kind=Mode.ACCOUNTABILITY)
    across = await bot.book("cat", "peer schedule", when="2026-03-03 18:30", match=other.id)
    assert not across.ok and "{u:ana} already has a session booked then" in across.text
    touching = await bot.book("cat", "peer schedule", when="2026-03-03 19:00", match=other.id)
    assert touching.ok, touching.text


async def test_monthly_quota_per_learner_says_when_it_resets(storage) -> None:
    bot = Bot(storage, settings=CommunitySettings(monthly_sessions_per_learner=2,
                                                  timezone="Europe/London"))
    await pair(bot)
    assert (await bot.book("ana", "peer schedule", when="2026-03-03 18:00")).ok
    assert (await bot.book("ben", "peer schedule", when="2026-03-05 18:00")).ok
    third = await bot.book("ana", "peer schedule", when="2026-03-12 18:00")
    # April starts at midnight London time, which is BST by then: 23:00 UTC on 31 March.
    assert not third.ok and "limit of 2 sessions in March" in third.text
    assert f"{{t:{unix(utc(2026, 3, 31, 23, 0))}:F}}" in third.text
    april = await bot.book("ana", "peer schedule", when="2026-04-01 18:00")
    assert april.ok, april.text  # counted in April
    # Cancelling frees a place; moving inside the month does not count twice.
    [first, *_] = await sessions(bot, (await matches(bot))[0].id)
    assert (await bot.book("ana", "peer reschedule", session=first.id, when="2026-03-04 18:00")).ok
    assert (await bot.run("ana", "peer cancel", session=first.id)).ok
    assert (await bot.book("ana", "peer schedule", when="2026-03-12 18:00")).ok


async def test_monthly_quota_per_community(storage) -> None:
    bot = Bot(storage, settings=CommunitySettings(monthly_sessions_per_community=1))
    await pair(bot)
    assert (await bot.book("ana", "peer schedule", when="2026-03-03 18:00")).ok
    second = await bot.book("ben", "peer schedule", when="2026-03-05 18:00")
    assert not second.ok and "This community has reached its limit of 1" in second.text


async def test_reschedule_moves_the_invite_and_every_reminder(storage) -> None:
    bot = Bot(storage)
    mid = await pair(bot)
    assert (await bot.book("ana", "peer schedule", when="2026-03-05 18:00")).ok
    [session] = await sessions(bot, mid)
    moved = await bot.book("ben", "peer reschedule", session=session.id, when="2026-03-06 19:00")
    assert moved.ok and "Moved session" in moved.text, moved.text
    [after] = await sessions(bot, mid)
    assert (after.start, after.sequence, after.ics_uid) == (utc(2026, 3, 6, 19), 1, session.ics_uid)
    rows = await rows_by_key(bot)
    ana = await learner_id(bot, "ana")
    old = rows[f"session:{session.id}:seq0:remind:60:{ana}"]
    assert old.state.value == "dropped"
    new = rows[f"session:{session.id}:seq1:remind:60:{ana}"]
    assert new.state.value == "pending" and new.due_at == utc(2026, 3, 6, 18)
    cal = calendar_of(rows[f"session:{session.id}:seq1:invite:{ana}"])
    [event] = cal.events
    assert str(event["UID"]) == session.ics_uid and event["SEQUENCE"] == 1
    assert event.start == utc(2026, 3, 6, 19)


async def test_cancel_sends_a_cancel_invite_and_drops_the_reminders(storage) -> None:
    bot = Bot(storage)
    mid = await pair(bot)
    assert (await bot.book("ana", "peer schedule", when="2026-03-05 18:00")).ok
    [session] = await sessions(bot, mid)
    intruder = await bot.run("eve", "peer cancel", session=session.id)
    assert not intruder.ok and "no session number" in intruder.text
    reply = await bot.run("ben", "peer cancel", session=session.id)
    assert reply.ok and "Cancelled session" in reply.text
    rows = await rows_by_key(bot)
    pending = [k for k, m in rows.items() if k.startswith(f"session:{session.id}:seq")
               and m.state.value == "pending"]
    assert pending == []
    ana = await learner_id(bot, "ana")
    cancel = rows[f"session:{session.id}:cancel:{ana}"]
    assert "{u:ben} cancelled" in cancel.payload["text"]
    cal = calendar_of(cancel)
    assert cal.get("method") == "PUBLISH"
    [event] = cal.events
    assert "reschedule" not in str(event["DESCRIPTION"]) and not event.walk("VALARM")
    assert event["STATUS"] == "CANCELLED" and event["SEQUENCE"] == 1
    again = await bot.run("ana", "peer cancel", session=session.id)
    assert not again.ok and "cancelled already" in again.text


async def test_sessions_lists_what_is_coming(storage) -> None:
    bot = Bot(storage)
    await pair(bot)
    empty = await bot.run("ana", "peer sessions")
    assert "no upcoming sessions" in empty.text
    assert (await bot.book("ana", "peer schedule", when="2026-03-05 18:00")).ok
    listed = await bot.run("ben", "peer sessions")
    assert f"{{t:{unix(utc(2026, 3, 5, 18))}:F}}" in listed.text and "{u:ana}" in listed.text
    assert listed.buttons and listed.buttons[0].action == "peer cancel"
    bot.clock.set(utc(2026, 3, 5, 19, 30))
    assert "no upcoming sessions" in (await bot.run("ben", "peer sessions")).text


async def test_a_passed_suggested_time_is_booked_in_a_later_week(storage) -> None:
    bot = Bot(storage)
    mid = await pair(bot)
    [match] = await matches(bot)
    first = match.suggested_times[0][0]
    bot.clock.set(first + timedelta(days=1))
    proposed = await bot.run("ana", "peer schedule", when="1")
    assert proposed.ok and "later week" in proposed.text
    assert (await bot.run("ben", "peer accept", proposal=proposed.buttons[0].args["proposal"])).ok
    [session] = await sessions(bot, mid)
    assert session.start == first + timedelta(days=7)
