"""Office hours through the commands, on every backend: publishing (read in the
supporter's zone, bad input refused with nothing stored), listing, booking a seat (never
twice, never oversold, not over another session, within the quotas), giving it up, and the
supporter calling off one date or the series (attendees told, reminders dropped)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from core import keys
from core.model import OutboxState
from core.settings import CommunitySettings
from tests.helpers import Bot
from tests.scheduler.support import calendar_of, learner_id, rows_by_key, utc

ADD = "Tue 18:00-20:00 every week, 2 seats, topic Python"
# Monday 2 March 2026 09:00 UTC (the fake clock): London is on GMT, so Tuesday 18:00 = 18:00Z.
FIRST = utc(2026, 3, 3, 18)


async def _supporter(bot: Bot, user: str = "sam", rule: str = ADD) -> int:
    assert (await bot.join(user, mode="offer-support", support_kind="Concepts",
                           capacity="2")).ok
    reply = await bot.run(user, "peer office-hours", action="add", details=rule)
    assert reply.ok and "Published office hours #" in reply.text, reply.text
    return int(reply.text.split("#")[1].split(":")[0])


async def _seats(bot: Bot) -> list:
    async with bot.storage.uow_factory() as uow:
        hours = await uow.office_hours.active(1)
        return await uow.office_hours.booked_seats([h.id for h in hours], FIRST - timedelta(
            days=1), FIRST + timedelta(days=60))


async def test_a_supporter_publishes_and_learners_see_it_in_their_list(storage) -> None:
    bot = Bot(storage)
    hid = await _supporter(bot)
    reply = await bot.run("ana", "peer office-hours", action="list", details="python")
    assert reply.ok
    # Times are placeholders each platform renders in the reader's own zone.
    assert f"`{hid}-1` Python with {{u:sam}}" in reply.text
    assert f"{{t:{int(FIRST.timestamp())}:F}}" in reply.text
    assert f"{{t:{int((FIRST + timedelta(weeks=1)).timestamp())}:F}}" in reply.text
    assert "2 of 2 seats left" in reply.text
    assert [b.args for b in reply.buttons][0] == {"action": "book", "details": f"{hid}-1"}
    other = await bot.run("ana", "peer office-hours", action="list", details="Spanish")
    assert "No office hours on Spanish" in other.text


async def test_a_booked_seat_shows_in_peer_sessions_too(storage) -> None:
    bot = Bot(storage)
    hid = await _supporter(bot)
    assert (await bot.join("ana")).ok
    assert "office-hour seats" not in (await bot.run("ana", "peer sessions")).text
    assert (await bot.run("ana", "peer office-hours", action="book", details=f"{hid}-1")).ok
    [seat] = await _seats(bot)
    listed = await bot.run("ana", "peer sessions")
    assert "**Your office-hour seats:**" in listed.text
    assert f"seat #{seat.id}: {{t:{int(FIRST.timestamp())}:F}}" in listed.text
    assert f"seat #{seat.id}" in (await bot.run("ana", "peer office-hours",
                                                 action="mine")).text


async def test_a_verified_supporters_hours_carry_the_badge_for_their_topic(storage) -> None:
    bot = Bot(storage)
    await _supporter(bot)
    plain = await bot.run("ana", "peer office-hours", action="list", details="python")
    assert "verified" not in plain.text
    assert (await bot.run("mod", "peeradmin verify", user="sam", topics="Statistics")).ok
    other_topic = await bot.run("ana", "peer office-hours", action="list", details="python")
    assert "verified" not in other_topic.text  # verified, but not for Python
    assert (await bot.run("mod", "peeradmin verify", user="sam", topics="Python")).ok
    badged = await bot.run("ana", "peer office-hours", action="list", details="python")
    assert "with {u:sam} ✓ verified" in badged.text


async def test_the_rule_is_read_in_the_supporters_zone(storage) -> None:
    bot = Bot(storage)
    assert (await bot.join("kai", mode="offer-support", support_kind="Concepts", capacity="1",
                           timezone="America/New_York")).ok
    reply = await bot.run("kai", "peer office-hours", action="add",
                          details="Tue 18:00-19:30, topic Python")
    assert reply.ok and "every week, 1 seat," in reply.text, reply.text
    [listing] = [line for line in (await bot.run("ana", "peer office-hours")).text.splitlines()
                 if line.startswith("- `1-1`")]
    # 18:00 in New York on 3 March 2026 (EST, UTC-5) is 23:00Z; 90 minutes long.
    start = utc(2026, 3, 3, 23)
    assert f"{{t:{int(start.timestamp())}:F}}" in listing
    assert f"{{t:{int((start + timedelta(minutes=90)).timestamp())}:t}}" in listing


@pytest.mark.parametrize(("rule", "why"), [
    ("Tue 25:00-26:00, topic Python", "25:00"),
    ("Tue 18:00-20:00, 0 seats, topic Python", "1 to 50 seats"),
    ("Tue 18:00-20:00, topic Knitting", "not one of this community's topics"),
    ("Mon-Fri 18:00-20:00, topic Python", "one day and one time range"),
    ("Tue 18:00-20:00 every 12 weeks", "every 1 to 8 weeks"),
    ("", "Say when"),
    ("3 seats, topic Python", "Say when"),
])
async def test_bad_input_is_refused_politely_and_nothing_is_stored(storage, rule: str,
                                                                   why: str) -> None:
    bot = Bot(storage)
    assert (await bot.join("sam", mode="offer-support", support_kind="Concepts",
                           capacity="2")).ok
    reply = await bot.run("sam", "peer office-hours", action="add", details=rule)
    assert not reply.ok and why in reply.text, reply.text
    assert reply.ephemeral
    async with storage.uow_factory() as uow:
        assert await uow.office_hours.active(1) == []


async def test_only_supporters_publish(storage) -> None:
    bot = Bot(storage)
    assert (await bot.join("ana")).ok
    reply = await bot.run("ana", "peer office-hours", action="add", details=ADD)
    assert not reply.ok and "offer-support" in reply.text


async def test_a_seat_is_booked_once_and_never_oversold(storage) -> None:
    bot = Bot(storage)
    hid = await _supporter(bot)
    for who in ("ana", "ben", "cy"):
        assert (await bot.join(who)).ok
    first = await bot.run("ana", "peer office-hours", action="book", details=str(hid))
    assert first.ok and "Booked seat 1 of 2" in first.text, first.text
    again = await bot.run("ana", "peer office-hours", action="book", details=f"{hid}-1")
    assert not again.ok and "You already hold seat #" in again.text, again.text
    assert (await bot.run("ben", "peer office-hours", action="book", details=f"{hid}-1")).ok
    full = await bot.run("cy", "peer office-hours", action="book", details=f"{hid}-1")
    assert not full.ok and "are full" in full.text
    assert sorted(s.seat_no for s in await _seats(bot)) == [1, 2]
    listing = await bot.run("cy", "peer office-hours", action="list")
    assert f"`{hid}-1` Python" in listing.text and "full" in listing.text
    assert all(b.args["details"] != f"{hid}-1" for b in listing.buttons)
    # The next week still has both seats.
    assert (await bot.run("cy", "peer office-hours", action="book", details=f"{hid}-2")).ok

    rows = await rows_by_key(bot)
    ana = await learner_id(bot, "ana")
    [seat] = [s for s in await _seats(bot) if s.learner_id == ana]
    invite = rows[keys.seat_invite(seat.id)]
    [event] = calendar_of(invite).events
    assert calendar_of(invite).get("method") == "PUBLISH"
    assert event.start == FIRST and event.end == FIRST + timedelta(hours=2)
    assert len(event.walk("VALARM")) == 2
    assert keys.seat_reminder(seat.id, 60) in rows
    assert "{u:ana} booked seat 1 of 2" in rows[keys.seat_booked_to_supporter(seat.id)].payload[
        "text"]
    own = await bot.run("sam", "peer office-hours", action="book", details=str(hid))
    assert not own.ok and "your own office hours" in own.text


async def test_a_seat_over_a_match_session_is_refused(storage) -> None:
    bot = Bot(storage)
    hid = await _supporter(bot)
    assert (await bot.join("ana")).ok and (await bot.join("ben")).ok
    assert "1 match," in (await bot.run("mod", "peeradmin match-now")).text
    assert (await bot.book("ana", "peer schedule", when="2026-03-03 18:30")).ok
    reply = await bot.run("ana", "peer office-hours", action="book", details=f"{hid}-1")
    assert not reply.ok and "already have a session booked then" in reply.text
    assert await _seats(bot) == []


async def test_seats_count_towards_the_monthly_quota(storage) -> None:
    bot = Bot(storage, settings=CommunitySettings(monthly_sessions_per_learner=1))
    hid = await _supporter(bot)
    assert (await bot.join("ana")).ok
    assert (await bot.run("ana", "peer office-hours", action="book", details=f"{hid}-1")).ok
    reply = await bot.run("ana", "peer office-hours", action="book", details=f"{hid}-2")
    assert not reply.ok and "limit of 1 sessions in March" in reply.text


async def test_a_learner_gives_their_seat_up_and_the_supporter_is_told(storage) -> None:
    bot = Bot(storage)
    hid = await _supporter(bot)
    assert (await bot.join("ana")).ok
    assert (await bot.run("ana", "peer office-hours", action="book", details=f"{hid}-1")).ok
    [seat] = await _seats(bot)
    nope = await bot.run("sam", "peer office-hours", action="leave", details=str(seat.id))
    assert not nope.ok and "no booked seat" in nope.text
    reply = await bot.run("ana", "peer office-hours", action="leave", details=str(seat.id))
    assert reply.ok and "Gave up your seat" in reply.text
    rows = await rows_by_key(bot)
    assert rows[keys.seat_reminder(seat.id, 60)].state is OutboxState.DROPPED
    assert "gave up their seat" in rows[keys.seat_left_to_supporter(seat.id)].payload["text"]
    [event] = calendar_of(rows[keys.seat_cancel(seat.id)]).events
    assert event["STATUS"] == "CANCELLED" and event["SEQUENCE"] == 1
    assert await _seats(bot) == []


async def test_a_cancelled_date_tells_its_attendees_and_the_series_goes_on(storage) -> None:
    bot = Bot(storage)
    hid = await _supporter(bot)
    for who in ("ana", "ben"):
        assert (await bot.join(who)).ok
        assert (await bot.run(who, "peer office-hours", action="book", details=f"{hid}-1")).ok
    assert (await bot.run("ana", "peer office-hours", action="book", details=f"{hid}-2")).ok
    not_theirs = await bot.run("ana", "peer office-hours", action="cancel", details=f"{hid}-1")
    assert not not_theirs.ok and "not yours" in not_theirs.text
    reply = await bot.run("sam", "peer office-hours", action="cancel", details=f"{hid}-1")
    assert reply.ok and "2 attendees told" in reply.text, reply.text
    rows = await rows_by_key(bot)
    seats = {s.start: s for s in await _seats(bot)}
    assert list(seats) == [FIRST + timedelta(weeks=1)]  # the second week's seat stays
    cancels = [m for k, m in rows.items() if k.startswith("seat-cancel:")]
    assert {m.target for m in cancels} == {"ana", "ben"}
    for message in cancels:
        assert "{u:sam} called off office hours" in message.payload["text"]
        assert calendar_of(message).events[0]["STATUS"] == "CANCELLED"
    reminders = [m for k, m in rows.items() if ":remind:" in k and k.startswith("seat:")]
    assert {m.state for m in reminders if m.due_at < FIRST} == {OutboxState.DROPPED}
    listing = await bot.run("cy", "peer office-hours", action="list")
    assert f"`{hid}-1`" not in listing.text and f"`{hid}-2`" in listing.text
    again = await bot.run("ben", "peer office-hours", action="book", details=f"{hid}-1")
    assert not again.ok and "called off" in again.text


async def test_ending_the_series_cancels_every_seat_ahead(storage) -> None:
    bot = Bot(storage)
    hid = await _supporter(bot)
    assert (await bot.join("ana")).ok
    for n in (1, 2):
        assert (await bot.run("ana", "peer office-hours", action="book", details=f"{hid}-{n}")).ok
    reply = await bot.run("sam", "peer office-hours", action="end", details=str(hid))
    assert reply.ok and "2 booked seats cancelled" in reply.text
    assert await _seats(bot) == []
    listing = await bot.run("ana", "peer office-hours", action="list")
    assert "No office hours" in listing.text


async def test_two_learners_booking_the_last_seat_at_once_get_one_seat(storage) -> None:
    bot = Bot(storage)
    hid = await _supporter(bot, rule="Tue 18:00-20:00, 1 seat, topic Python")
    for who in ("ana", "ben"):
        assert (await bot.join(who)).ok
    replies = await asyncio.gather(*(bot.run(who, "peer office-hours", action="book",
                                             details=f"{hid}-1") for who in ("ana", "ben")))
    assert sorted(r.ok for r in replies) == [False, True], [r.text for r in replies]
    assert "full" in next(r.text for r in replies if not r.ok)
    assert [s.seat_no for s in await _seats(bot)] == [1]


async def test_a_supporter_who_forgets_ends_their_office_hours_and_attendees_are_told(
        storage) -> None:
    bot = Bot(storage)
    hid = await _supporter(bot)
    assert (await bot.join("ana")).ok
    assert (await bot.run("ana", "peer office-hours", action="book", details=f"{hid}-1")).ok
    [seat] = await _seats(bot)
    assert (await bot.run("sam", "peer forget", confirm="yes")).ok
    rows = await rows_by_key(bot)
    assert rows[keys.seat_reminder(seat.id, 60)].state is OutboxState.DROPPED
    told = rows[keys.seat_cancel(seat.id)]
    assert told.target == "ana" and told.state is OutboxState.PENDING
    assert "called off" in told.payload["text"]
    assert "No office hours" in (await bot.run("ana", "peer office-hours")).text


async def test_a_banned_supporters_office_hours_end_and_attendees_are_told(storage) -> None:
    bot = Bot(storage)
    hid = await _supporter(bot)
    assert (await bot.join("ana")).ok
    assert (await bot.run("ana", "peer office-hours", action="book", details=f"{hid}-1")).ok
    [seat] = await _seats(bot)
    assert (await bot.run("mod", "peeradmin ban", user="sam", reason="spam")).ok
    rows = await rows_by_key(bot)
    assert rows[keys.seat_reminder(seat.id, 60)].state is OutboxState.DROPPED
    told = rows[keys.seat_cancel(seat.id)]
    assert told.target == "ana" and "called off" in told.payload["text"]
    assert await _seats(bot) == []
    assert "No office hours" in (await bot.run("ana", "peer office-hours")).text


async def test_a_learner_who_forgets_gives_their_seats_up(storage) -> None:
    bot = Bot(storage)
    hid = await _supporter(bot)
    assert (await bot.join("ana")).ok
    assert (await bot.run("ana", "peer office-hours", action="book", details=f"{hid}-1")).ok
    [seat] = await _seats(bot)
    assert (await bot.run("ana", "peer forget", confirm="yes")).ok
    rows = await rows_by_key(bot)
    assert "gave up their seat" in rows[keys.seat_left_to_supporter(seat.id)].payload["text"]
    assert all(m.target != "ana" for m in rows.values() if m.state is OutboxState.PENDING)
    assert "2 of 2 seats left" in (await bot.run("ben", "peer office-hours")).text


@pytest.mark.parametrize("details", ["0", "99999999999", "1-0", "1-99999", "abc", "1-2-3", ""])
async def test_odd_numbers_are_refused_politely(storage, details: str) -> None:
    bot = Bot(storage)
    await _supporter(bot)
    assert (await bot.join("ana")).ok
    for action in ("book", "cancel", "end", "leave"):
        reply = await bot.run("ana", "peer office-hours", action=action, details=details)
        assert not reply.ok and reply.ephemeral, (action, details, reply.text)
    assert await _seats(bot) == []
