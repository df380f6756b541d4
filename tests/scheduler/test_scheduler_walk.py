"""Two weeks of a match, walked with a fake clock on memory, SQLite and PostgreSQL:
round on schedule → match → check-in → bookings → reminders at the right instants for a
Londoner and a New Yorker across New York's clock change → feedback → quota reached.

The walk does what ``PeerScheduler`` does between the instants that matter: rounds whose
cron fired, the check-in planner, and the dispatcher until nothing is due.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.scheduler import crontab_trigger, fire_times, plan_all, run_due_rounds, tick
from core.settings import CommunitySettings
from tests.helpers import Bot
from tests.scheduler.support import TimedDeliverer, learner_id, matches, sessions, unix, utc

LONDON, NEW_YORK = ZoneInfo("Europe/London"), ZoneInfo("America/New_York")
SETTINGS = CommunitySettings(timezone="Europe/London", schedule="0 18 * * mon,thu",
                             monthly_sessions_per_learner=3)


class Walk:
    def __init__(self, bot: Bot) -> None:
        self.bot = bot
        self.platform = TimedDeliverer(bot.clock)
        self.trigger = crontab_trigger(SETTINGS.schedule, SETTINGS.timezone)

    async def _next_due(self) -> datetime | None:
        async with self.bot.storage.uow_factory() as uow:
            pending = await uow.outbox.pending()
        return min((m.due_at for m in pending), default=None)

    async def until(self, end: datetime) -> None:
        """Jump from one interesting instant to the next up to ``end``."""
        clock = self.bot.clock
        while True:
            now = clock.now()
            candidates = [end] + fire_times(self.trigger, now, end)[:1]
            due = await self._next_due()
            if due is not None and due > now:
                candidates.append(due)
            step = min(candidates) if due is None or due > now else now
            clock.set(step)
            await run_due_rounds(self.bot.services, now, step)
            await plan_all(self.bot.services)
            while (await tick(self.bot.services, {"test": self.platform})).sent:
                pass
            if step >= end:
                return


def local(text: str, zone: ZoneInfo) -> datetime:
    """The first {t:unix:...} instant in a message, as its reader sees it."""
    start = text.index("{t:") + 3
    return datetime.fromtimestamp(int(text[start:text.index(":", start)]), zone)


async def test_two_weeks_of_a_match(storage) -> None:
    bot = Bot(storage, settings=SETTINGS)  # Monday 2 March 2026, 09:00 UTC
    walk = Walk(bot)
    assert (await bot.join("ana", availability="Mon-Fri 17:00-21:00")).ok
    assert (await bot.join("ben", timezone="America/New_York", availability="Mon-Fri 12:00-17:00",
                           country="United States")).ok
    ana, ben = await learner_id(bot, "ana"), await learner_id(bot, "ben")

    # The round runs on its own on Monday at 18:00 London time; the DMs go out at once.
    await walk.until(utc(2026, 3, 2, 20))
    [match] = await matches(bot)
    mid = match.id
    assert match.created_at == utc(2026, 3, 2, 18)
    assert walk.platform.at(f"match:{mid}:dm:{ana}") == utc(2026, 3, 2, 18)
    assert walk.platform.at(f"space-open:{mid}") == utc(2026, 3, 2, 18)

    # Three days later: "did you meet?"; Ben says not yet and is asked again later.
    await walk.until(utc(2026, 3, 5, 20))
    for lid in (ana, ben):
        assert walk.platform.at(f"match:{mid}:checkin:{lid}") == utc(2026, 3, 5, 18)
    assert (await bot.run("ben", "peer met", answer="not-yet")).ok

    # Friday: Ben books Tuesday 13:00 his time. New York moves to EDT on Sunday 8 March,
    # London only on 29 March: that is 17:00 in London, four hours apart, not five.
    bot.clock.set(utc(2026, 3, 6, 12))
    assert (await bot.book("ben", "peer schedule", when="2026-03-10 13:00")).ok
    assert (await bot.book("ana", "peer schedule", when="2026-03-12 18:00")).ok
    first, second = await sessions(bot, mid)
    assert first.start == utc(2026, 3, 10, 17) and second.start == utc(2026, 3, 12, 18)

    # Wednesday: Ana moves the second session by an hour; its reminders move with it.
    await walk.until(utc(2026, 3, 11, 10))
    moved = await bot.book("ana", "peer reschedule", session=second.id, when="2026-03-12 19:00")
    assert moved.ok, moved.text
    await walk.until(utc(2026, 3, 13, 9))

    sent = walk.platform
    assert sent.at(f"match:{mid}:checkin:{ben}:again:{unix(utc(2026, 3, 8, 20))}") == utc(
        2026, 3, 8, 20
    )
    for lid, zone, hour in ((ana, LONDON, 17), (ben, NEW_YORK, 13)):
        day_before = f"session:{first.id}:seq0:remind:1440:{lid}"
        hour_before = f"session:{first.id}:seq0:remind:60:{lid}"
        assert sent.at(day_before) == utc(2026, 3, 9, 17)
        assert sent.at(hour_before) == utc(2026, 3, 10, 16)
        assert local(sent.text(hour_before), zone).hour == hour
        assert sent.at(f"session:{first.id}:seq0:feedback:{lid}") == utc(2026, 3, 10, 18)
        # The moved session: only its new reminders, at the new times.
        assert sent.at(f"session:{second.id}:seq1:remind:1440:{lid}") == utc(2026, 3, 11, 19)
        assert sent.at(f"session:{second.id}:seq1:remind:60:{lid}") == utc(2026, 3, 12, 18)
        assert f"session:{second.id}:seq0:remind:60:{lid}" not in sent.delivered_keys()
    assert local(sent.text(f"session:{second.id}:seq1:remind:60:{ben}"), NEW_YORK).hour == 15

    # Feedback through the prompt's button, both ways.
    for user in ("ana", "ben"):
        lid = ana if user == "ana" else ben
        [prompt] = [m for _, m in sent.delivered
                    if m.idempotency_key == f"session:{first.id}:seq0:feedback:{lid}"]
        [button] = prompt.payload["buttons"]
        form = await bot.run(user, button["action"], **button["args"])
        assert form.form is not None and form.form.context["session"] == str(first.id)
        saved = await bot.run(user, "peer feedback", **form.form.context, preparedness="5",
                              engagement="4", responsiveness="5")
        assert saved.ok, saved.text

    # The third session fits the quota of three; the fourth is refused until April.
    assert (await bot.book("ana", "peer schedule", when="2026-03-13 17:00")).ok
    fourth = await bot.book("ben", "peer schedule", when="2026-03-16 13:00")
    assert not fourth.ok and "limit of 3 sessions in March" in fourth.text
    assert f"{{t:{unix(utc(2026, 3, 31, 23))}:F}}" in fourth.text

    await walk.until(utc(2026, 3, 16, 9))
    async with bot.storage.uow_factory() as uow:
        rounds = await uow.rounds.list(match.community_id)
        late = [m for m in await uow.outbox.pending() if m.due_at <= bot.clock.now()]
    # Mondays and Thursdays at 18:00 London (still GMT in March), once each.
    assert [r.started_at for r in rounds] == [utc(2026, 3, 2, 18), utc(2026, 3, 5, 18),
                                              utc(2026, 3, 9, 18), utc(2026, 3, 12, 18)]
    assert late == []
    assert len(sent.attempts) == len(set(sent.attempts))  # nothing was delivered twice
