"""core/textcommand.py: the one-line command grammar shared by the console and Slack.

The grammar only splits a line into raw strings; the core validates them. So the first tests
pin the splitting (options by position and by name, quoting, what an unknown word becomes),
and the last ones run parsed lines through the real core on SQLite to show that every
mistake a person can type ends in a polite answer naming the field, never an exception.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core import catalogue
from core.catalogue import Command, Kind
from core.textcommand import GrammarError, Parsed, lookup, missing_required, parse, parse_args
from core.textcommand import usage as text_usage
from tests.helpers import Bot


def cmd(key: str) -> Command:
    found = catalogue.command(key)
    assert found is not None, key
    return found


def mention(raw: str) -> str:
    """Slack's ``<@U123|name>`` -> ``U123``, as the Slack adapter passes it."""
    return raw.removeprefix("<@").removesuffix(">").split("|")[0]


# -- command words -------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["", "   ", "\n\t "])
def test_nothing_typed_is_help(text: str) -> None:
    assert parse("peer", text) == Parsed("peer help", {})


@pytest.mark.parametrize(("group", "word", "key"), [
    ("peer", "JOIN", "peer join"),
    ("peer", "Status", "peer status"),
    ("peeradmin", "match_now", "peeradmin match-now"),
    ("peeradmin", "END_MATCH", "peeradmin end-match"),
])
def test_a_command_word_in_any_case_with_underscores(group: str, word: str, key: str) -> None:
    found = lookup(group, word)
    assert found is not None and found.key == key
    assert parse(group, word).key == key


def test_commands_belong_to_their_group() -> None:
    assert lookup("peer", "ban") is None  # a moderator command is not a /peer one
    assert lookup("peeradmin", "join") is None
    assert lookup("peer", "joi") is None  # no guessing from prefixes


@pytest.mark.parametrize("group", ["peer", "peeradmin"])
def test_an_unknown_command_is_refused_politely_with_the_list(group: str) -> None:
    with pytest.raises(GrammarError) as raised:
        parse(group, "dance   the night away")
    message = str(raised.value)
    assert message.startswith("I don't know `dance`. Commands: ")
    listed = message.removeprefix("I don't know `dance`. Commands: ").removesuffix(".")
    assert listed.split(", ") == [c.name for c in catalogue.COMMANDS if c.group == group]
    assert isinstance(raised.value, ValueError)  # callers that catch ValueError still work


# -- options by position -------------------------------------------------------------------

@pytest.mark.parametrize(("group", "text", "args"), [
    ("peer", "pause 2", {"weeks": "2"}),
    ("peer", "reschedule 4 2026-03-05 18:00", {"session": "4", "when": "2026-03-05 18:00"}),
    ("peer", "met not-yet 3", {"answer": "not-yet", "match": "3"}),
    ("peer", "reschedule 4", {"session": "4"}),  # the rest is simply missing
    ("peeradmin", "pair U1 U2", {"user_a": "U1", "user_b": "U2"}),
    ("peeradmin", "config", {}),
])
def test_words_fill_the_options_in_order(group: str, text: str, args: dict[str, str]) -> None:
    assert parse(group, text).args == args


def test_the_last_free_text_option_takes_the_rest_with_its_spacing() -> None:
    assert parse("peer", "unpair we  never\n met").args == {"reason": "we  never\n met"}
    assert parse("peer", "message line one\n\n  line two").args == {
        "text": "line one\n\n  line two"}
    # A keyword after the text: the text's words are kept, joined by single spaces.
    assert parse("peer", "message hi   there match=2 and more").args == {
        "match": "2", "text": "hi there and more"}


def test_more_words_than_options_stay_on_the_last_option() -> None:
    # Nothing is lost: the core then says "'2 weeks' is not a whole number".
    assert parse("peer", "pause 2 weeks").args == {"weeks": "2 weeks"}
    assert parse("peer", "met yes 2 @ana @ben").args == {"answer": "yes", "match": "2",
                                                         "who": "@ana @ben"}
    # Both options named: the extra words go to the last declared one ("'2 and more' is not
    # a whole number"), not quietly into the reason.
    assert parse("peer", "unpair match=2 reason=busy and more").args == {
        "match": "2 and more", "reason": "busy"}


def test_a_command_without_options_ignores_what_follows() -> None:
    # There is no option to keep the words on, and these commands need no input.
    assert parse("peer", "status now please") == Parsed("peer status", {})


def test_quotes_in_free_text_are_kept_as_written() -> None:
    assert parse("peer", 'unpair "too busy"').args == {"reason": '"too busy"'}


# -- options by name -----------------------------------------------------------------------

@pytest.mark.parametrize(("text", "args"), [
    ("unpair reason=busy match=3", {"reason": "busy", "match": "3"}),
    ("unpair match:3 reason:busy", {"match": "3", "reason": "busy"}),
    ("unpair MATCH=3 Reason=busy", {"match": "3", "reason": "busy"}),
    ('unpair reason="too busy this term" match=3', {"reason": "too busy this term", "match": "3"}),
    ('unpair reason="still open at the end', {"reason": "still open at the end"}),
    ("unpair reason= match=1", {"reason": "", "match": "1"}),
])
def test_keywords_set_options_by_name(text: str, args: dict[str, str]) -> None:
    assert parse("peer", text).args == args


def test_a_flag_named_alone_means_yes() -> None:
    # issue 14.8: `/peeradmin match-now dry_run` was refused ("'dry_run' is not yes or no").
    assert parse("peeradmin", "match-now dry_run").args == {"dry_run": "yes"}
    assert parse("peeradmin", "match-now dry-run").args == {"dry_run": "yes"}
    assert parse("peeradmin", "pair U1 U2 confirm").args == {"user_a": "U1", "user_b": "U2",
                                                             "confirm": "yes"}


def test_schedule_takes_a_date_a_time_then_the_match() -> None:
    # issue 14.8: `/peer schedule 2026-12-12 13:00 19` (date time match-id) is understood.
    assert parse("peer", "schedule 2026-12-12 13:00 19").args == {
        "when": "2026-12-12 13:00", "match": "19"}
    assert parse("peer", "schedule 2 19").args == {"when": "2", "match": "19"}
    assert parse("peer", "schedule 2026-12-12 13:00").args == {"when": "2026-12-12 13:00"}
    assert parse("peer", "schedule 2026-12-12 13:00 19 90").args == {
        "when": "2026-12-12 13:00", "match": "19", "minutes": "90"}
    assert parse("peer", "schedule 2026-12-12 13:00 minutes:45").args == {
        "when": "2026-12-12 13:00", "minutes": "45"}


def test_the_help_line_of_schedule_is_what_parses() -> None:
    line = next(x for x in catalogue.help_lines(False) if x.startswith("`/peer schedule"))
    assert "YYYY-MM-DD HH:MM" in line and "[match]" in line
    example = line.split("e.g. `")[1].split("`")[0]
    assert parse("peer", example.removeprefix("/peer ")).args == {
        "when": "2026-12-12 13:00", "match": "19"}


def test_keywords_accept_a_dash_for_an_underscore() -> None:
    assert parse("peeradmin", "match-now dry-run=yes").args == {"dry_run": "yes"}
    assert parse("peeradmin", "match-now DRY_RUN:yes").args == {"dry_run": "yes"}


@pytest.mark.parametrize(("text", "args"), [
    ("unpair topic=Python is done", {"reason": "topic=Python is done"}),  # not an option here
    ("unpair see: the notes at 10:00", {"reason": "see: the notes at 10:00"}),
    ("schedule reason=x 1", {"when": "reason=x", "match": "1"}),
])
def test_unknown_option_names_are_just_words(text: str, args: dict[str, str]) -> None:
    assert parse("peer", text).args == args


def test_form_fields_are_keywords_of_the_commands_that_open_forms() -> None:
    parsed = parse("peer", 'join mode=study-buddy topic=Python languages="English, French"')
    assert parsed.args == {"mode": "study-buddy", "topic": "Python",
                           "languages": "English, French"}
    assert parse("peer", 'feedback clarity=5 comment="very clear"').args == {
        "clarity": "5", "comment": "very clear"}
    assert parse("peer", "profile edit goal=pass").args == {"action": "edit", "goal": "pass"}
    # The same names mean nothing to a command without a form.
    assert parse("peer", "message topic=Python").args == {"text": "topic=Python"}


def test_mentions_become_user_ids_only_in_user_options() -> None:
    parsed = parse("peeradmin", "ban <@U1|ana> spammed <@U2|ben>", mention)
    assert parsed.args == {"user": "U1", "reason": "spammed <@U2|ben>"}
    parsed = parse("peeradmin", "ban reason:spam user:<@U9|x>", mention)
    assert parsed.args == {"reason": "spam", "user": "U9"}
    assert parse("peeradmin", "unban <@U1|ana>").args == {"user": "<@U1|ana>"}  # no converter


WORDS = st.text(st.sampled_from("ab1:=-_\n "), min_size=1, max_size=8).filter(str.strip)
COMMANDS_WITH_OPTIONS = [c for c in catalogue.COMMANDS if c.options]


@given(st.sampled_from(COMMANDS_WITH_OPTIONS), st.lists(WORDS, max_size=6))
def test_no_typed_word_is_silently_lost(command: Command, words: list[str]) -> None:
    text = " ".join(words)
    args = parse_args(command, text)
    known = {o.name for o in command.options}
    assert set(args) <= known | {f.name for form in catalogue.FORMS.values() for f in form.fields}
    kept = " ".join(args.values())
    for token in text.split():
        name, sep, value = token.replace("=", ":").partition(":")
        if sep and name.casefold().replace("-", "_") in args:
            continue  # a keyword: its value is what counts (a later one may replace it)
        assert token in kept, (token, args)


# -- what is missing, and usage ------------------------------------------------------------

def test_missing_required_lists_required_options_not_given() -> None:
    assert [f.name for f in missing_required(cmd("peer reschedule"), {})] == ["session", "when"]
    assert [f.name for f in missing_required(cmd("peer unpair"), {"match": "1"})] == ["reason"]
    assert [f.name for f in missing_required(cmd("peer unpair"), {"reason": "  \n"})] == [
        "reason"]  # blank is missing
    assert missing_required(cmd("peer unpair"), {"reason": "busy"}) == ()
    assert missing_required(cmd("peer forget"), {}) == ()  # yes/no: absent means no
    assert missing_required(cmd("peeradmin config"), {}) == ()  # all optional


def test_every_required_option_of_every_command_is_reported() -> None:
    for command in catalogue.COMMANDS:
        required = [o.name for o in command.options if o.required and o.kind is not Kind.BOOL]
        assert [f.name for f in missing_required(command, {})] == required


def test_usage_marks_required_and_optional_options() -> None:
    assert text_usage(cmd("peer unpair")) == "/peer unpair <reason> [match]"
    assert text_usage(cmd("peer help")) == "/peer help"
    assert text_usage(cmd("peeradmin end-match")) == "/peeradmin end-match <match> <reason>"
    assert text_usage(cmd("peeradmin end-match"), "/peer admin end-match") == (
        "/peer admin end-match <match> <reason>")


# -- mistakes end in polite answers from the core ------------------------------------------

@pytest.mark.parametrize(("user", "group", "text", "field", "says"), [
    ("ana", "peer", "pause", "weeks", "Weeks: this is required."),
    ("ana", "peer", "pause 2 weeks", "weeks", "Weeks: '2 weeks' is not a whole number."),
    ("ana", "peer", "pause 0", "weeks", "Weeks: must be at least 1."),
    ("ana", "peer", "unpair reason=", "reason", "Why are you unpairing?: this is required."),
    ("ana", "peer", "met maybe", "answer",
     "Did you meet?: 'maybe' is not one of: yes, not-yet, no, no-show."),
    ("ana", "peer", "forget confirm:maybe", "confirm", "'maybe' is not yes or no."),
    ("ana", "peer", "join study-buddy extra words", "mode", "'study-buddy extra words' is not one"),
    ("ana", "peer", "reschedule x 2026-03-05 18:00", "session",
     "Session number: 'x' is not a whole number."),
    ("mod", "peeradmin", "end-match abc why", "match", "Match number: 'abc' is not a whole"),
])
async def test_a_mistyped_line_gets_a_polite_answer_naming_the_field(
        sqlite_storage: Any, user: str, group: str, text: str, field: str, says: str) -> None:
    bot = Bot(sqlite_storage)
    parsed = parse(group, text)
    reply = await bot.run(user, parsed.key, **parsed.args)
    assert not reply.ok
    assert reply.text.startswith("Please check: ") and says in reply.text
    assert set(reply.field_errors) == {field} and says in reply.field_errors[field]


async def test_a_learner_typing_a_moderator_command_is_told_so(sqlite_storage: Any) -> None:
    bot = Bot(sqlite_storage)
    parsed = parse("peeradmin", "stats")
    reply = await bot.run("ana", parsed.key, **parsed.args)
    assert not reply.ok and reply.text.startswith("Sorry, that command is for moderators")
