"""The one catalogue: every command routed, forms within platform limits, text grammar."""

from __future__ import annotations

from collections import Counter

import pytest

from core import catalogue
from core.model import Mode
from core.services.registry import HANDLERS
from core.settings import CommunitySettings
from core.textcommand import GrammarError, parse


def test_every_command_has_exactly_one_handler_and_no_handler_is_orphaned() -> None:
    assert set(HANDLERS) == {c.key for c in catalogue.COMMANDS}


def test_names_and_descriptions_fit_both_platforms() -> None:
    for c in catalogue.COMMANDS:
        assert c.name == c.name.lower() and " " not in c.name and len(c.name) <= 32
        assert 0 < len(c.description) <= 100
        assert len(c.options) <= 25
        for o in c.options:
            assert o.name == o.name.lower() and len(o.name) <= 32 and len(o.label) <= 45
            assert len(o.choices) <= 25
    # Discord allows 25 subcommands per group: a 26th /peer command would stop the bot from
    # syncing its commands at start.
    per_group = Counter(c.group for c in catalogue.COMMANDS)
    assert max(per_group.values()) <= 25, per_group


def test_every_mode_has_a_join_form_with_the_common_fields() -> None:
    for mode in Mode:
        names = [f.name for f in catalogue.join_form(mode).fields]
        assert names[:4] == ["topic", "languages", "timezone", "availability"]
        assert len(names) == len(set(names))
    assert "anonymous" in [f.name for f in catalogue.join_form(Mode.NEED_SUPPORT).fields]
    assert "capacity" in [f.name for f in catalogue.join_form(Mode.OFFER_SUPPORT).fields]


def test_validate_reports_every_bad_field_at_once() -> None:
    form = catalogue.join_form(Mode.STUDY_BUDDY)
    values, errors = catalogue.validate(
        form.fields,
        {"topic": "Nope", "timezone": "Mars/X", "availability": "whenever"},
        CommunitySettings(),
    )
    assert set(errors) == {"topic", "languages", "timezone", "availability"}
    assert values == {}


@pytest.mark.parametrize(
    ("group", "text", "key", "args"),
    [
        ("peer", "", "peer help", {}),
        ("peer", "join study-group", "peer join", {"mode": "study-group"}),
        (
            "peer",
            "unpair we never managed to meet",
            "peer unpair",
            {"reason": "we never managed to meet"},
        ),
        ("peer", "unpair reason:busy match=3", "peer unpair", {"reason": "busy", "match": "3"}),
        ("peer", "schedule 2026-03-05 18:00", "peer schedule", {"when": "2026-03-05 18:00"}),
        ("peer", "reschedule 4 2", "peer reschedule", {"session": "4", "when": "2"}),
        (
            "peeradmin",
            "ban U123 spamming everyone",
            "peeradmin ban",
            {"user": "U123", "reason": "spamming everyone"},
        ),
        ("peeradmin", "config group_max 4", "peeradmin config", {"key": "group_max", "value": "4"}),
        (
            "peer",
            'join mode=study-buddy availability:"Mon 18:00-20:00"',
            "peer join",
            {"mode": "study-buddy", "availability": "Mon 18:00-20:00"},
        ),
    ],
)
def test_text_grammar(group: str, text: str, key: str, args: dict[str, str]) -> None:
    parsed = parse(group, text)
    assert (parsed.key, parsed.args) == (key, args)


def test_text_grammar_refuses_unknown_commands_and_keeps_extra_words_for_the_core() -> None:
    with pytest.raises(GrammarError, match="don't know `dance`"):
        parse("peer", "dance")
    # Extra words stay on the last option, so the core refuses them politely.
    assert parse("peer", "pause 2 weeks").args == {"weeks": "2 weeks"}
    assert parse("peer", "JOIN Study-Buddy").key == "peer join"


@pytest.mark.parametrize(("expr", "ok"), [
    ("0 18 * * mon,thu", True), ("*/30 9-17 * * 1-5", True), ("off", True), ("0 0 1 jan *", True),
    ("0 25 * * *", False), ("0 18 * * funday", False), ("every day", False), ("*/0 * * * *", False),
])
def test_schedule_check(expr: str, ok: bool) -> None:
    from core.cron import check_schedule

    assert (check_schedule(expr) is None) is ok
