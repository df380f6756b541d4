""""Did you meet?": the check-in rows and `/peer met` yes / not yet / no (every backend)."""

from __future__ import annotations

from datetime import timedelta

from core.model import MatchState, SessionState
from tests.helpers import Bot
from tests.scheduler.support import learner_id, matches, pair, rows_by_key, sessions, utc


async def test_a_new_match_gets_a_check_in_after_the_configured_days(storage) -> None:
    bot = Bot(storage)
    mid = await pair(bot)
    rows = await rows_by_key(bot)
    for user in ("ana", "ben"):
        row = rows[f"match:{mid}:checkin:{await learner_id(bot, user)}"]
        assert row.due_at == bot.clock.now() + timedelta(days=3)
        answers = [b["args"]["answer"] for b in row.payload["buttons"]]
        assert answers == ["yes", "not-yet", "no"]


async def test_yes_without_a_booking_records_that_they_met(storage) -> None:
    bot = Bot(storage)
    mid = await pair(bot)
    bot.clock.advance(days=3)
    reply = await bot.run("ana", "peer met", answer="yes")
    assert reply.ok and "glad you met" in reply.text
    assert reply.buttons[0].action == "peer feedback"
    [met] = await sessions(bot, mid)
    assert met.state is SessionState.DONE and met.end == bot.clock.now()
    rows = await rows_by_key(bot)
    assert rows[f"match:{mid}:checkin:{await learner_id(bot, 'ana')}"].state.value == "dropped"
    assert rows[f"match:{mid}:checkin:{await learner_id(bot, 'ben')}"].state.value == "pending"
    # Ben says yes too: still one record of the meeting.
    assert (await bot.run("ben", "peer met", answer="yes")).ok
    assert len(await sessions(bot, mid)) == 1


async def test_yes_marks_the_sessions_that_happened_as_done(storage) -> None:
    bot = Bot(storage)
    mid = await pair(bot)
    assert (await bot.book("ana", "peer schedule", when="2026-03-03 18:00")).ok
    assert (await bot.book("ana", "peer schedule", when="2026-03-06 18:00")).ok
    bot.clock.set(utc(2026, 3, 4, 9))
    reply = await bot.run("ben", "peer met", answer="yes")
    assert reply.buttons[0].args["session"] == str((await sessions(bot, mid))[0].id)
    done, later = await sessions(bot, mid)
    assert done.state is SessionState.DONE and later.state is SessionState.BOOKED


async def test_not_yet_nudges_and_checks_in_again_later(storage) -> None:
    bot = Bot(storage)
    mid = await pair(bot)
    bot.clock.advance(days=3, hours=1)
    reply = await bot.run("ben", "peer met", answer="not-yet")
    assert reply.ok and "I'll check in again" in reply.text
    assert [b.args["when"] for b in reply.buttons] == ["1", "2", "3"]
    [match] = await matches(bot)
    for start, _ in match.suggested_times:  # shown at their next repeat, never in the past
        assert f"{{t:{int((start + timedelta(days=7)).timestamp())}:F}}" in reply.text
    ben = await learner_id(bot, "ben")
    again = [m for k, m in (await rows_by_key(bot)).items()
             if k.startswith(f"match:{mid}:checkin:{ben}:again:")]
    assert [m.due_at for m in again] == [bot.clock.now() + timedelta(days=3)]
    booked = await bot.run("ben", reply.buttons[0].action, **reply.buttons[0].args)
    assert booked.ok, booked.text


async def test_no_offers_to_unpair(storage) -> None:
    bot = Bot(storage)
    mid = await pair(bot)
    reply = await bot.run("ana", "peer met", answer="no")
    assert reply.ok and "Sorry it didn't work out" in reply.text
    [button] = reply.buttons
    assert button.action == "peer unpair" and button.style == "danger"
    assert (await bot.run("ana", button.action, **button.args)).ok
    [match] = await matches(bot)
    assert match.state is MatchState.ENDED
    rows = await rows_by_key(bot)
    assert rows[f"match:{mid}:checkin:{await learner_id(bot, 'ben')}"].state.value == "dropped"
    gone = await bot.run("ana", "peer met", answer="yes")
    assert not gone.ok and "don't have an active match" in gone.text
