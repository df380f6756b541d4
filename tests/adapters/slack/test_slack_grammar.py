"""The /peer grammar: generated from the catalogue, every command reachable."""

from __future__ import annotations

import pytest

from adapters.slack import grammar
from core import catalogue


@pytest.mark.parametrize("cmd", catalogue.COMMANDS, ids=lambda c: c.key)
def test_every_catalogue_command_is_reachable(cmd: catalogue.Command) -> None:
    typed = grammar.slash_name(cmd).removeprefix("/peer ").strip()
    assert grammar.parse(typed).command == cmd.key
    assert grammar.parse(typed.upper()).command == cmd.key  # case does not matter


@pytest.mark.parametrize(("text", "command", "args"), [
    ("", "peer help", {}),
    ("   ", "peer help", {}),
    ("admin", "peer help", {}),
    ("admin help", "peer help", {}),
    ("join study-buddy", "peer join", {"mode": "study-buddy"}),
    ("unpair we never met", "peer unpair", {"reason": "we never met"}),
    ("unpair match:2 we never met", "peer unpair", {"match": "2", "reason": "we never met"}),
    ("unpair we never met match=2", "peer unpair", {"match": "2", "reason": "we never met"}),
    ('unpair reason:"too busy" match:3', "peer unpair", {"reason": "too busy", "match": "3"}),
    ("pause 2", "peer pause", {"weeks": "2"}),
    ("schedule 2026-03-05 18:00", "peer schedule", {"when": "2026-03-05 18:00"}),
    ("reschedule 4 2026-03-05 18:00", "peer reschedule",
     {"session": "4", "when": "2026-03-05 18:00"}),
    ("admin end-match 3 they asked", "peeradmin end-match", {"match": "3", "reason": "they asked"}),
    ("admin match_now dry_run:yes", "peeradmin match-now", {"dry_run": "yes"}),
    ("admin pair <@U1|ada> <@U2>", "peeradmin pair", {"user_a": "U1", "user_b": "U2"}),
    ("admin ban user:<@U9|x> spamming   the  channel", "peeradmin ban",
     {"user": "U9", "reason": "spamming   the  channel"}),
    ("admin config topics Python, Go", "peeradmin config",
     {"key": "topics", "value": "Python, Go"}),
    ("forget confirm:yes", "peer forget", {"confirm": "yes"}),
])
def test_parse(text: str, command: str, args: dict[str, str]) -> None:
    parsed = grammar.parse(text)
    assert (parsed.command, parsed.args, parsed.unknown) == (command, args, "")


def test_unknown_subcommands_give_help_and_say_what_was_typed() -> None:
    assert grammar.parse("dance now") == grammar.Parsed("peer help", {}, "dance")
    assert grammar.parse("admin dance") == grammar.Parsed("peer help", {}, "admin dance")


def test_a_multiline_message_keeps_its_lines() -> None:
    assert grammar.parse("message hello\n  there").args == {"text": "hello\n  there"}


def test_extra_words_are_not_silently_dropped() -> None:
    # The core then refuses "'2 weeks' is not a whole number" instead of pausing 2 weeks quietly.
    assert grammar.parse("pause 2 weeks").args == {"weeks": "2 weeks"}


def test_words_that_look_like_keywords_stay_text() -> None:
    parsed = grammar.parse("unpair see: the notes at 10:00")
    assert parsed.args == {"reason": "see: the notes at 10:00"}


def test_missing_required_and_usage() -> None:
    unpair = catalogue.command("peer unpair")
    forget = catalogue.command("peer forget")
    assert unpair is not None and forget is not None
    assert [f.name for f in grammar.missing_required(unpair, {"match": "1"})] == ["reason"]
    assert grammar.missing_required(forget, {}) == ()  # yes/no: absent means no
    assert grammar.usage(unpair) == "/peer unpair <reason> [match]"
    admin = catalogue.command("peeradmin end-match")
    assert admin is not None and grammar.usage(admin) == "/peer admin end-match <match> <reason>"
