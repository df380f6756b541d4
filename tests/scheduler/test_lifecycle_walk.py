"""Four weeks of matches that turn into meetings (or do not), walked with a fake clock on
memory, SQLite and PostgreSQL (issue 14, "Done when"):

- a quiet match is nudged in its space at 24 h and 72 h; a match that booked is not;
- a ghost is paused after 3 silent check-ins (the intro, "did you meet?", its follow-up),
  told why; their partner gets "Find me someone new", is re-queued with their original
  waiting time and matched first in the next round;
- a learner who skips sits out exactly one round;
- a proposal outside someone's hours is accepted and booked; a declined one books nothing;
- `/peeradmin stats` shows booked vs met vs ghosted, `/peeradmin queue` the ghost.
"""

from __future__ import annotations

from core.model import QueueState
from core.settings import CommunitySettings
from tests.helpers import Bot
from tests.scheduler.support import learner_id, matches, rows_by_key, unix, utc
from tests.scheduler.test_scheduler_walk import Walk

SETTINGS = CommunitySettings(timezone="Europe/London", schedule="0 18 * * mon,thu")


def sent_text(walk: Walk, key: str) -> str:
    return walk.platform.text(key)


def members(match) -> set[int]:
    return set(match.member_ids())


async def test_four_weeks_of_ghosts_nudges_and_skips(storage) -> None:
    bot = Bot(storage, settings=SETTINGS)  # Monday 2 March 2026, 09:00 UTC (= London)
    walk = Walk(bot)
    for user in ("ana", "ben"):
        assert (await bot.join(user)).ok
    for user in ("cleo", "dan"):
        assert (await bot.join(user, topic="Spanish")).ok
    for user in ("eve", "fay"):
        assert (await bot.join(user, topic="Statistics")).ok
    skipped = await bot.run("eve", "peer skip")
    assert skipped.ok and "sit out the next matching round" in skipped.text
    assert (await bot.run("eve", "peer skip")).text.startswith("You're already sitting out")
    ana, ben, eve, fay = [await learner_id(bot, u) for u in ("ana", "ben", "eve", "fay")]
    cleo = await learner_id(bot, "cleo")

    # Monday's round: Eve sits it out, so Fay waits; the others are matched.
    await walk.until(utc(2026, 3, 2, 20))
    quiet, booked = sorted(await matches(bot), key=lambda m: m.id)
    assert members(quiet) == {ana, ben} and cleo in members(booked)
    assert all(eve not in members(m) and fay not in members(m) for m in await matches(bot))
    # Cleo proposes a time past both their evenings (18:00-21:00): Dan is asked, with the
    # rule it breaks, and accepts: booked by agreement though outside declared hours.
    late = await bot.run("cleo", "peer schedule", when="2026-03-04 20:30")
    assert late.ok and "must fit: 20:30-21:30 ends after your window 18:00-21:00" in late.text
    dan = await learner_id(bot, "dan")
    late_id = late.buttons[0].args["proposal"]
    await walk.until(utc(2026, 3, 2, 20, 30))
    asked = sent_text(walk, f"match:{booked.id}:proposal:{late_id}:ask:{dan}")
    assert "you: the 60-minute session must fit" in asked
    accepted = await bot.run("dan", "peer accept", proposal=late_id)
    assert accepted.ok and "Booked session #" in accepted.text

    # Thursday's round: Eve is back (one round only) and is matched with Fay.
    await walk.until(utc(2026, 3, 5, 20))
    [third] = [m for m in await matches(bot) if m.id not in (quiet.id, booked.id)]
    assert members(third) == {eve, fay} and third.created_at == utc(2026, 3, 5, 18)
    # Eve proposes; Fay declines: nothing is booked. Eve's next proposal Fay accepts.
    first_try = await bot.run("eve", "peer schedule", when="1", match=third.id)
    assert first_try.ok
    declined = await bot.run("fay", "peer decline", proposal=first_try.buttons[0].args["proposal"])
    assert declined.ok and "nothing was booked" in declined.text
    async with bot.storage.uow_factory() as uow:
        assert await uow.sessions.for_match(third.id) == []
    assert (await bot.book("eve", "peer schedule", when="2", match=third.id)).ok

    # The quiet match was nudged in its space at 24 h and 72 h, with its times again.
    sent = walk.platform
    assert sent.at(f"match:{quiet.id}:nudge:1") == utc(2026, 3, 3, 18)
    assert sent.at(f"match:{quiet.id}:nudge:2") == utc(2026, 3, 5, 18)
    nudge = sent.text(f"match:{quiet.id}:nudge:1")
    assert "no session is booked yet" in nudge and "{t:" in nudge
    # The match that booked was never bumped: its nudges were dropped at the booking.
    rows = await rows_by_key(bot)
    assert f"match:{booked.id}:nudge:1" not in sent.delivered_keys()
    assert rows[f"match:{booked.id}:nudge:2"].state == "dropped"

    # Ana answers the check-in; Ben stays silent: asked again three days later ...
    assert (await bot.run("ana", "peer met", answer="not-yet")).ok
    assert (await bot.run("cleo", "peer met", answer="yes")).ok
    await walk.until(utc(2026, 3, 8, 18))
    again = f"match:{quiet.id}:checkin:{ben}:again:{unix(utc(2026, 3, 8, 18))}"
    assert sent.at(again) == utc(2026, 3, 8, 18)

    # ... and when that third prompt has gone unanswered too, Ben is paused as a ghost.
    gus_joined = await bot.join("gus")  # two newcomers for the next round
    assert gus_joined.ok
    await walk.until(utc(2026, 3, 11, 12))
    assert (await bot.join("hal")).ok
    await walk.until(utc(2026, 3, 11, 18))
    assert sent.at(f"ghost:{quiet.id}:{ben}") == utc(2026, 3, 11, 18)
    assert "the last 3 check-ins went unanswered" in sent.text(f"ghost:{quiet.id}:{ben}")
    assert "`/peer resume`" in sent.text(f"ghost:{quiet.id}:{ben}")
    status = await bot.run("ben", "peer status")
    assert "paused" in status.text.lower()
    queue = await bot.run("mod", "peeradmin queue")
    assert "Paused as ghosts: 1" in queue.text and "Ben" in queue.text

    # Ana is told, with one button: back in the queue with her waiting time from 2 March.
    told = [m for _, m in sent.delivered if m.idempotency_key == f"left:{quiet.id}:{ben}:{ana}"]
    [button] = told[0].payload["buttons"]
    assert button["label"] == "Find me someone new"
    first = await bot.run("ana", button["action"], **button["args"])
    assert first.ok and "original waiting time" in first.text and "1 of 3" in first.text
    again_click = await bot.run("ana", button["action"], **button["args"])
    assert again_click.ok and again_click.text.startswith("You're already back in the queue")
    async with bot.storage.uow_factory() as uow:
        waiting = [e for e in await uow.queue.history(quiet.community_id)
                   if e.learner_id == ana and e.state is QueueState.WAITING]
    assert [e.joined_at for e in waiting] == [utc(2026, 3, 2, 9)]  # one click, one entry

    # Thursday's round: three Python learners wait; Ana, first in line, is matched.
    await walk.until(utc(2026, 3, 12, 20))
    [fourth] = [m for m in await matches(bot) if m.created_at == utc(2026, 3, 12, 18)]
    assert ana in members(fourth) and len(members(fourth)) == 2

    # The new pair books from its first nudge; so it gets no second one.
    await walk.until(utc(2026, 3, 13, 18))
    [bump] = [m for _, m in sent.delivered if m.idempotency_key == f"match:{fourth.id}:nudge:1"]
    book = next(b for b in bump.payload["buttons"] if b["label"] == "Book time 1")
    proposed = await bot.run("ana", book["action"], **book["args"])
    assert proposed.ok
    partner = next(i for i in fourth.member_ids() if i != ana)
    async with bot.storage.uow_factory() as uow:
        other = await uow.learners.get(partner)
    assert other is not None
    assert (await bot.run(other.platform_user_id, "peer accept",
                          proposal=proposed.buttons[0].args["proposal"])).ok

    # Ben comes back; the walk runs on to the end of the fourth week.
    assert (await bot.run("ben", "peer resume")).ok
    await walk.until(utc(2026, 3, 30, 9))
    assert f"match:{fourth.id}:nudge:2" not in sent.delivered_keys()
    assert "Paused as ghosts" not in (await bot.run("mod", "peeradmin queue")).text

    stats = await bot.run("mod", "peeradmin stats")
    assert stats.ok
    assert {k: stats.data[k] for k in ("booked", "met", "ghosted", "ghosts_now")} == {
        "booked": 3, "met": 1, "ghosted": 1, "ghosts_now": 0}
    assert "3 booked a session, 1 met, 1 were ghosted" in stats.text
    assert len(sent.attempts) == len(set(sent.attempts))  # nothing was delivered twice
