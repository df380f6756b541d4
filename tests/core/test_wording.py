"""Texts people read (issue 14.8): one pluralisation helper, articles, "or" lists, relative
times, and each reported wording bug, driven through the commands that showed it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from adapters.console.render import render_text
from core.replies import ts
from core.services.delivery import fallback_for
from core.settings import CommunitySettings
from core.text import join_words, plural, relative_time, with_article
from tests.helpers import Bot
from tests.scheduler.support import learner_id, matches, pair, rows_by_key, sessions


def test_plural_articles_and_lists() -> None:
    assert [plural(n, "match") for n in (0, 1, 2)] == ["0 matches", "1 match", "2 matches"]
    assert plural(1, "minute") == "1 minute" and plural(3, "city") == "3 cities"
    assert plural(2, "person") == "2 people" and plural(2, "day", "days") == "2 days"
    assert with_article("accountability partner") == "an accountability partner"
    assert with_article("study buddy") == "a study buddy"
    assert with_article("hour") == "an hour"
    assert join_words(["English"], "or") == "English"
    assert join_words(["English", "Swahili"], "or") == "English or Swahili"
    assert join_words(["A", "B", "C"]) == "A, B and C"


def test_relative_times_never_say_zero_minutes() -> None:
    assert relative_time(20) == "in a moment" and relative_time(-5) == "a moment ago"
    assert relative_time(60) == "in 1 minute" and relative_time(150) == "in 2 minutes"
    assert relative_time(3 * 3600) == "in 3 hours" and relative_time(-3 * 86400) == "3 days ago"
    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    shown = render_text(f"Please try again {ts(now + timedelta(seconds=25), 'R')}.", "UTC", {},
                        now)
    assert shown == "Please try again in a moment."


async def test_the_partner_of_someone_who_unpairs_reads_no_self_reference(storage) -> None:
    bot = Bot(storage)
    mid = await pair(bot)
    assert (await bot.book("ana", "peer schedule", when="2026-03-04 18:00")).ok
    [session] = await sessions(bot, mid)
    assert (await bot.run("ana", "peer unpair", reason="moving on")).ok
    rows = await rows_by_key(bot)
    ben, ana = await learner_id(bot, "ben"), await learner_id(bot, "ana")
    to_ben = rows[f"session:{session.id}:cancel:{ben}"].payload["text"]
    assert "cancelled session" not in to_ben and "{u:ben}" not in to_ben
    assert f"Session #{session.id} with {{u:ana}}" in to_ben and f"match #{mid} ended" in to_ben
    to_ana = rows[f"session:{session.id}:cancel:{ana}"].payload["text"]
    assert "with {u:ben}" in to_ana and "{u:ana}" not in to_ana


async def test_a_cancel_names_the_canceller_to_the_other(storage) -> None:
    bot = Bot(storage)
    await pair(bot)
    booked = await bot.book("ana", "peer schedule", when="2026-03-04 18:00")
    sid = booked.buttons[0].args["session"]
    assert (await bot.run("ana", "peer cancel", session=sid)).ok
    rows = await rows_by_key(bot)
    to_ben = rows[f"session:{sid}:cancel:{await learner_id(bot, 'ben')}"].payload["text"]
    assert f"{{u:ana}} cancelled your session #{sid}" in to_ben and "{u:ben}" not in to_ben
    to_ana = rows[f"session:{sid}:cancel:{await learner_id(bot, 'ana')}"].payload["text"]
    assert f"You cancelled session #{sid} with {{u:ben}}" in to_ana


async def test_waiting_reasons_use_an_article_and_an_or(storage) -> None:
    bot = Bot(storage)
    assert (await bot.join("ana", mode="accountability")).ok
    assert (await bot.join("cat", languages="English, Swahili", topic="Statistics")).ok
    assert (await bot.join("dan", languages="French", topic="Statistics")).ok
    assert (await bot.run("mod", "peeradmin match-now")).ok
    alone = (await bot.run("ana", "peer status")).text
    assert "waiting for an accountability partner on Python" in alone
    assert "first in line" not in alone
    cat = (await bot.run("cat", "peer status")).text
    assert "speaks English or Swahili yet" in cat


async def test_the_only_suggested_time_is_not_a_range_of_one(storage) -> None:
    bot = Bot(storage, settings=CommunitySettings(suggested_times=1))
    await pair(bot)
    [match] = await matches(bot)
    assert len(match.suggested_times) == 1
    refused = await bot.run("ana", "peer schedule", when="9")
    assert not refused.ok and "between 1 and 1" not in refused.text
    assert "Pick suggested time 1" in refused.text


async def test_round_summaries_and_stats_count_in_the_singular(storage) -> None:
    bot = Bot(storage)
    assert (await bot.join("ana")).ok and (await bot.join("ben")).ok
    assert "Round done**: 1 match, 0 still waiting" in (
        await bot.run("mod", "peeradmin match-now")).text
    assert "in 1 match (1 active)" in (await bot.run("mod", "peeradmin stats")).text


async def test_the_intro_dm_reads_true_when_it_falls_back_into_the_space(storage) -> None:
    bot = Bot(storage)
    mid = await pair(bot)
    intro = (await rows_by_key(bot))[f"match:{mid}:dm:{await learner_id(bot, 'ana')}"]
    fallback = fallback_for(intro.message)
    assert fallback is not None
    assert "on its way" not in fallback.text and "private space" in fallback.text


async def test_editing_a_profile_is_titled_so_and_one_field_is_enough(storage) -> None:
    bot = Bot(storage)
    assert (await bot.join("ana")).ok
    form = await bot.run("ana", "peer profile", action="edit")
    assert form.form is not None and form.form.form == "profile-study-buddy"
    from core import catalogue
    assert catalogue.FORMS[form.form.form].title == "Edit profile: Study buddy"
    edited = await bot.run("ana", "peer profile", action="edit", availability="Mon 10-12")
    assert edited.ok, edited.text
    assert "**Availability:** Mon 10:00-12:00" in edited.text and "**Topic:** Python" in edited.text


async def test_met_yes_without_a_session_never_starts_before_the_match(storage) -> None:
    bot = Bot(storage)
    mid = await pair(bot)
    [match] = await matches(bot)
    bot.clock.advance(minutes=10)  # they met right away, 10 minutes after the match
    assert (await bot.run("ana", "peer met", answer="yes")).ok
    [met] = await sessions(bot, mid)
    assert met.start >= match.created_at and met.end == bot.clock.now()
