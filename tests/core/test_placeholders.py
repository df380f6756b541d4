"""The one placeholder tokenizer (core/replies.py): tokens, what is not one, substitution."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.replies import TimeRef, UserRef, mention, substitute, tokens, ts

WHEN = datetime(2026, 3, 2, 18, 0, tzinfo=UTC)
UNIX = int(WHEN.timestamp())


def test_tokens_split_text_and_placeholders_in_order() -> None:
    text = f"Meet {mention('U1')} at {ts(WHEN)} ({ts(WHEN, 'R')})."
    assert tokens(text) == ["Meet ", UserRef("U1"), " at ", TimeRef(UNIX, "F"), " (",
                            TimeRef(UNIX, "R"), ")."]
    assert tokens("") == [] and tokens("plain") == ["plain"]
    assert tokens("{u:1}{t:5}") == [UserRef("1"), TimeRef(5, "F")]


@pytest.mark.parametrize("text", [
    "{t:}", "{t:abc}", "{t:12:X}", "{t:12:FF}", "{u:}", "{u:a b}", "{u:{x}}", "{x:1}", "{t:12",
])
def test_what_is_not_a_placeholder_stays_text(text: str) -> None:
    assert all(isinstance(t, str) for t in tokens(text))
    assert substitute(text, lambda _t: "TIME", lambda _u: "USER") == text


def test_negative_instants_and_every_style() -> None:
    assert tokens("{t:-60:R}") == [TimeRef(-60, "R")]
    for style in "tTdDfFR":
        assert tokens(f"{{t:1:{style}}}") == [TimeRef(1, style)]


def test_substitute_replaces_each_token_once() -> None:
    out = substitute(f"{ts(WHEN)} {mention('U9')}", lambda t: f"[{t.unix}/{t.style}]",
                     lambda u: f"[@{u.user_id}]")
    assert out == f"[{UNIX}/F] [@U9]"
