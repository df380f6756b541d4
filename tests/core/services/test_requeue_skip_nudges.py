"""Re-queue with priority (14.2), skip one round (14.5), nudges (14.4): the rules one by one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core.model import Mode, QueueEntry, Round
from core.services.skipping import taking_part
from core.settings import CommunitySettings
from tests.helpers import Bot
from tests.scheduler.support import learner_id, matches, pair, rows_by_key

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)


async def test_only_the_one_left_behind_may_requeue_and_keeps_their_wait(storage) -> None:
    bot = Bot(storage)
    bot.clock.advance(days=-2)
    assert (await bot.join("ana")).ok
    bot.clock.advance(days=2)
    assert (await bot.join("ben")).ok
    assert (await bot.run("mod", "peeradmin match-now")).ok
    bot.clock.advance(days=5)
    assert (await bot.run("ben", "peer unpair", reason="busy")).ok
    leaver = await bot.run("ben", "peer requeue")
    assert not leaver.ok and "a partner left you in" in leaver.text
    [told] = [m for k, m in (await rows_by_key(bot)).items() if k.startswith("left:")]
    [button] = told.payload["buttons"]
    assert (button["label"], button["action"]) == ("Find me someone new", "peer requeue")
    back = await bot.run("ana", button["action"], **button["args"])
    assert back.ok and "original waiting time" in back.text
    ana = await learner_id(bot, "ana")
    async with bot.storage.uow_factory() as uow:
        entry = await uow.queue.open_for(ana)
    assert entry is not None and entry.joined_at == T0 - timedelta(days=2)
    wrong = await bot.run("ana", "peer requeue", match="99")
    assert wrong.ok and "already back" in wrong.text  # queued already: nothing added


async def test_requeue_waits_for_a_paused_learner(storage) -> None:
    bot = Bot(storage)
    await pair(bot)
    assert (await bot.run("ben", "peer unpair", reason="moving")).ok
    assert (await bot.run("ana", "peer pause", weeks="1")).ok
    paused = await bot.run("ana", "peer requeue")
    assert not paused.ok and "`/peer resume` first" in paused.text


def _entry(learner: int, skip_at: datetime | None) -> QueueEntry:
    return QueueEntry(learner, 1, Mode.STUDY_BUDDY, T0, skip_at=skip_at)


def test_a_skip_lasts_exactly_one_real_round() -> None:
    skipper, other = _entry(1, T0 + timedelta(hours=1)), _entry(2, None)
    preview = Round(1, 0, T0 + timedelta(hours=2), dry_run=True)
    instant = Round(1, 0, T0 + timedelta(hours=3), figures={"instant": True})
    real = Round(1, 0, T0 + timedelta(hours=4))
    earlier = Round(1, 0, T0)
    assert taking_part([skipper, other], [earlier]) == [other]
    assert taking_part([skipper, other], [earlier, preview, instant]) == [other]
    assert taking_part([skipper, other], [earlier, preview, instant, real]) == [skipper, other]


async def test_skip_needs_a_queue_entry_and_a_dry_run_keeps_it(storage) -> None:
    bot = Bot(storage)
    refused = await bot.run("ana", "peer skip")
    assert not refused.ok and "not waiting in the queue" in refused.text
    assert (await bot.join("ana")).ok
    assert (await bot.join("ben")).ok
    assert (await bot.run("ana", "peer skip")).ok
    preview = await bot.run("mod", "peeradmin match-now", dry_run="yes")
    assert "0 matches" in preview.text
    assert "0 matches" in (await bot.run("mod", "peeradmin match-now")).text
    assert "1 match," in (await bot.run("mod", "peeradmin match-now")).text


async def test_an_anonymous_match_is_nudged_by_dm_and_met_stops_it(storage) -> None:
    bot = Bot(storage)
    assert (await bot.join("sam", mode="offer-support", support_kind="Concepts",
                           capacity="2")).ok
    assert (await bot.join("lee", mode="need-support", support_kind="Concepts",
                           anonymous="yes")).ok
    assert (await bot.match_now()).ok
    [match] = await matches(bot)
    rows = await rows_by_key(bot)
    lee = await learner_id(bot, "lee")
    nudges = sorted(k for k in rows if ":nudge:" in k)
    assert nudges == sorted(f"match:{match.id}:nudge:{n}:{lid}" for n in (1, 2)
                            for lid in match.member_ids())
    assert rows[f"match:{match.id}:nudge:1:{lee}"].due_at == match.created_at + timedelta(hours=24)
    assert "{u:sam}" not in rows[f"match:{match.id}:nudge:1:{lee}"].payload["text"]
    bot.clock.advance(hours=30)
    assert await bot.deliver() >= 2  # the first bump went out
    assert (await bot.run("lee", "peer met", answer="yes")).ok
    rows = await rows_by_key(bot)
    assert {rows[f"match:{match.id}:nudge:2:{lid}"].state for lid in match.member_ids()} == {
        "dropped"}


async def test_no_nudges_when_the_community_says_none(storage) -> None:
    bot = Bot(storage, settings=CommunitySettings(nudge_after_hours=()))
    await pair(bot)
    assert not [k for k in await rows_by_key(bot) if ":nudge:" in k]


async def test_rotating_partners_move_on_and_meet_someone_new(storage) -> None:
    from bot.scheduler import plan_all

    bot = Bot(storage, settings=CommunitySettings(schedule="off", rematch_every_weeks=2))
    for user in ("ana", "ben", "cleo", "dan"):
        assert (await bot.join(user, mode="accountability", rotate_partners="yes")).ok
    for user in ("eve", "fay"):  # they keep their partner
        assert (await bot.join(user, mode="accountability", topic="Spanish")).ok
    assert "**Partners:** new ones" in (await bot.run("ana", "peer profile")).text
    assert "3 matches" in (await bot.run("mod", "peeradmin match-now")).text
    first = {frozenset(m.member_ids()) for m in await matches(bot)}
    keepers = frozenset({await learner_id(bot, "eve"), await learner_id(bot, "fay")})
    bot.clock.advance(days=13)
    await plan_all(bot.services)
    assert all(m.is_active for m in await matches(bot))  # not two weeks yet
    bot.clock.advance(days=1)
    await plan_all(bot.services)
    assert [frozenset(m.member_ids()) for m in await matches(bot) if m.is_active] == [keepers]
    rows = await rows_by_key(bot)
    assert len([k for k in rows if k.startswith("rotate:")]) == 4
    assert "2 matches" in (await bot.run("mod", "peeradmin match-now")).text
    new = {frozenset(m.member_ids()) for m in await matches(bot) if m.is_active} - {keepers}
    assert len(new) == 2 and not new & first  # nobody is matched again with a recent partner


async def test_requeue_after_the_partner_forgot_everything(storage) -> None:
    bot = Bot(storage)
    await pair(bot)
    assert (await bot.run("ben", "peer forget", confirm="yes")).ok
    back = await bot.run("ana", "peer requeue")
    assert back.ok and "original waiting time" in back.text, back.text
