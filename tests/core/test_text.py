"""Text hygiene: nothing typed by one learner can reverse or hide text shown to another."""

from __future__ import annotations

import json
import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from core.services.context import Actor, CommandRequest
from core.services.lookup import people
from core.text import clean_display, clean_input
from tests.helpers import JOIN, Bot, handle_request

RLO, LRI, PDI, ZWSP, ZWJ, ZWNJ = "\u202e", "\u2066", "\u2069", "\u200b", "\u200d", "\u200c"
_BIDI = {chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F,
                          0x061C)}


def test_bidi_overrides_isolates_and_marks_are_removed() -> None:
    assert clean_display(f"Ana{RLO}lanigiro") == "Analanigiro"
    assert clean_display(f"{LRI}Ben{PDI} \u200fx\u200e") == "Ben x"
    assert clean_display("\u202aA\u202bB\u202cC\u202dD") == "ABCD"


def test_zero_width_and_control_characters_are_removed_but_lines_stay() -> None:
    assert clean_display(f"Py{ZWSP}thon\u2060\ufeff") == "Python"
    assert clean_display("a\x1b[31mred\x07\nnext\tcol") == "a[31mred\nnext\tcol"
    assert clean_display(f"Le{ZWJ}o{ZWNJ}n") == "Leon"  # between Latin letters: only hides


def test_joiners_that_carry_meaning_stay() -> None:
    technologist = f"👩{ZWJ}💻"
    family = f"👨{ZWJ}👩{ZWJ}👧"
    assert clean_display(f"Ana {technologist} {family}") == f"Ana {technologist} {family}"
    assert clean_display(f"👍🏽{ZWJ}x") == "👍🏽x"  # a joiner to nothing emoji goes
    persian = f"می{ZWNJ}خواهم"  # "I want": ZWNJ is part of the spelling
    assert clean_display(persian) == persian
    england = "🏴\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f"
    assert clean_display(england) == england
    assert clean_display("hi\U000e0069\U000e0067") == "hi"  # tags smuggling text: gone


def test_input_cleaning_folds_spaces_and_keeps_line_breaks() -> None:
    assert clean_input(f"Mon\u00a0\u2009-{ZWSP}Fri  9-5") == "Mon -Fri 9-5"
    assert clean_input("Mon 9-5\r\nTue 10-12\u2028Wed 1-2") == "Mon 9-5\nTue 10-12\nWed 1-2"
    assert clean_input("Ｍｏｎ ９") == "Mon 9"


@given(st.text())
def test_nothing_direction_changing_or_zero_width_survives(text: str) -> None:
    cleaned = clean_display(text)
    assert not _BIDI & set(cleaned)
    assert ZWSP not in cleaned and "\ufeff" not in cleaned and "\u2060" not in cleaned
    assert all(unicodedata.category(c) != "Cc" or c in "\n\t" for c in cleaned)
    assert clean_display(cleaned) == cleaned


async def _run(bot: Bot, user: str, name: str, command: str, **args: str) -> None:
    request = CommandRequest("test", bot.community, Actor(user, name), command, args)
    reply = await handle_request(bot.services, request)
    assert reply.ok, reply.text


async def test_a_name_with_a_right_to_left_override_never_reaches_an_outbox_message(
        storage) -> None:
    bot = Bot(storage)
    await _run(bot, "u1", f"Ana{RLO}nimda", "peer join", mode="study-buddy",
               **{**JOIN, "goal": f"pass{RLO} the exam {LRI}now{PDI}"})
    await _run(bot, "u2", f"{ZWSP}Ben{PDI}", "peer join", mode="study-buddy", **JOIN)
    round_reply = await bot.run("mod", "peeradmin match-now")
    assert round_reply.ok and "1 match," in round_reply.text, round_reply.text
    await _run(bot, "u2", "Ben", "peer message", text=f"hello {RLO}olleh")
    assert await bot.deliver() >= 3
    payloads = json.dumps([m.payload for m in bot.deliverer.sent], ensure_ascii=False)
    assert "hello olleh" in payloads
    assert not _BIDI & set(payloads) and ZWSP not in payloads
    # Messages name members as {u:id}; each platform renders the names the core looks up.
    names = await people(bot.services, "test", bot.community)
    assert (names["u1"][0], names["u2"][0]) == ("Ananimda", "Ben")
    async with storage.uow_factory() as uow:  # the goal, shown in profiles, is clean too
        community = await uow.communities.by_external("test", bot.community)
        ana = await uow.learners.by_platform_id(community.id, "u1")
        assert (await uow.profiles.get(ana.id)).goal == "pass the exam now"


@given(st.text(alphabet=st.characters(max_codepoint=0x7F)))
def test_the_ascii_fast_path_agrees_with_the_general_one(text: str) -> None:
    # The general path, forced by one invisible non-ASCII character that it removes.
    assert clean_input(text) == clean_input(text + "\u200b")
