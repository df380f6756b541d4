"""Console, Discord and Slack render the same placeholders of one text, through the one
tokenizer in core/replies.py."""

from __future__ import annotations

from datetime import UTC, datetime

from adapters.console.render import render_text as console_text
from adapters.discord.render import to_discord_text
from adapters.slack.render import date_token, mrkdwn
from core.replies import UserRef, mention, tokens, ts

WHEN = datetime(2026, 3, 2, 18, 0, tzinfo=UTC)
UNIX = int(WHEN.timestamp())

# One text, three renderers: every placeholder becomes that platform's form of the same token.
TEXT = (f"Hi {mention('123')} and {mention('456')}: first session {ts(WHEN)}, "
        f"that is {ts(WHEN, 'R')}; {{t:{UNIX}:D}}.")


def test_all_three_renderers_render_the_same_tokens() -> None:
    found = [t for t in tokens(TEXT) if not isinstance(t, str)]
    assert len(found) == 5
    discord = to_discord_text(TEXT)
    slack = mrkdwn(TEXT)
    console = console_text(TEXT, "Europe/London", {"123": "ana", "456": "ben"},
                           now=datetime(2026, 3, 1, 18, 0, tzinfo=UTC))
    for token in found:
        if isinstance(token, UserRef):
            assert f"<@{token.user_id}>" in discord and f"<@{token.user_id}>" in slack
        else:
            assert f"<t:{token.unix}:{token.style}>" in discord
            assert date_token(token.unix, token.style) in slack
    assert "@ana" in console and "@ben" in console
    assert "Mon 02 Mar 2026 18:00 Europe/London" in console and "in 24 hours" in console
    for rendered in (discord, slack, console):
        assert "{t:" not in rendered and "{u:" not in rendered
        # the plain text between placeholders is the same everywhere
        for piece in ("first session ", "that is "):
            assert piece in rendered
    # counts agree: each renderer made exactly one output per token
    assert discord.count("<t:") == 3 and slack.count("<!date^") == 3
    assert discord.count("<@") == 2 and slack.count("<@") == 2
