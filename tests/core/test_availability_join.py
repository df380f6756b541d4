"""The join flow echoes how availability and time zone were understood, and stores that."""

from __future__ import annotations

from core.availability import describe, parse_availability, stored_availability
from core.model import Profile
from tests.helpers import Bot


async def _profile(bot: Bot, user: str) -> Profile:
    async with bot.storage.uow_factory() as uow:
        community = await uow.communities.by_external("test", bot.community)
        learner = await uow.learners.by_platform_id(community.id, user)
        profile = await uow.profiles.get(learner.id)
    assert profile is not None
    return profile


async def test_join_confirmation_says_how_nine_to_five_was_read(memory_storage) -> None:
    bot = Bot(memory_storage)
    reply = await bot.join("ana", availability="Mon-Fri 9-5", timezone="europe/london")
    assert reply.ok, reply.text
    assert ("I read your availability as Mon-Fri 09:00-17:00 Europe/London, 40 h a week."
            in reply.text)
    profile = await _profile(bot, "ana")
    # What was understood is what is stored, and what the next form is pre-filled with.
    assert profile.availability == "Mon-Fri 09:00-17:00" and profile.timezone == "Europe/London"


async def test_invisible_characters_never_reach_the_profile(memory_storage) -> None:
    bot = Bot(memory_storage)
    reply = await bot.join("ana", availability="Sat\u200b 10\u00a0-\u202e12",
                           timezone="Europe/Paris\u200b")
    assert reply.ok, reply.text
    profile = await _profile(bot, "ana")
    assert (profile.availability, profile.timezone) == ("Sat 10:00-12:00", "Europe/Paris")


async def test_a_twenty_hour_window_is_refused_and_nothing_is_queued(memory_storage) -> None:
    bot = Bot(memory_storage)
    reply = await bot.join("ana", availability="Mon 14:00-10:00")
    assert not reply.ok
    assert "Did you mean Mon 14:00-22:00 or Mon 10:00-14:00?" in reply.field_errors["availability"]
    status = await bot.run("ana", "peer status")
    assert "queue for" not in status.text


async def test_gmt_plus_two_joins_as_utc_plus_two_and_explains_dst(memory_storage) -> None:
    bot = Bot(memory_storage)
    reply = await bot.join("ana", availability="Mon 18:00-20:00", timezone="GMT+2")
    assert reply.ok, reply.text
    assert "Mon 18:00-20:00 UTC+02:00, 2 h a week" in reply.text
    assert "no daylight saving time" in reply.text and "Europe/Paris" in reply.text
    assert (await _profile(bot, "ana")).timezone == "Etc/GMT-2"


async def test_an_ambiguous_abbreviation_is_a_question(memory_storage) -> None:
    bot = Bot(memory_storage)
    reply = await bot.join("ana", timezone="IST")
    assert not reply.ok
    question = reply.field_errors["timezone"]
    assert "Asia/Kolkata" in question and "Europe/Dublin" in question and "Which one" in question


async def test_rejoin_with_text_saved_before_the_stricter_grammar(memory_storage) -> None:
    bot = Bot(memory_storage)
    assert (await bot.join("ana")).ok
    await bot.run("ana", "peer leave")
    async with memory_storage.uow_factory() as uow:  # as an older version stored it
        profile = await _profile(bot, "ana")
        profile.availability = "Mon 14:00-10:00"
        await uow.profiles.save(profile)
        await uow.commit()
    reply = await bot.run("ana", "peer rejoin")
    assert not reply.ok and "/peer profile edit" in reply.text and "Did you mean" in reply.text
    # A round reads such a profile as no time at all instead of failing.
    assert stored_availability("Mon 14:00-10:00").weekly_hours() == 0


def test_describe_matches_the_issue_example() -> None:
    assert (describe(parse_availability("Mon-Fri 9-5"), "Europe/London")
            == "Mon-Fri 09:00-17:00 Europe/London, 40 h a week")
