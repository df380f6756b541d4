"""Typed outbox messages: stored form unchanged, round trips exact, fallbacks keep files."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from adapters.console.deliver import ConsoleDeliverer
from core import keys
from core.messages import (
    CloseSpace,
    DirectMessage,
    Message,
    OpenSpace,
    SpaceMessage,
    from_row,
)
from core.model import OutboxMessage
from core.replies import Attachment, Button
from core.services.delivery import expired, fallback_for
from tests.fakes import FakeClock

WHEN = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
BUTTON = Button("Unpair", "peer unpair", {"match": "7"}, "danger")
INVITE = Attachment("session-3.ics", b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", "text/calendar")

EVERY_TYPE: list[Message] = [
    DirectMessage("U1", "hi {u:U2}", keys.intro_dm(7, 1), (BUTTON,), (INVITE,), 7, WHEN),
    DirectMessage("U1", "plain", "k:1"),
    OpenSpace(7, "peer-7-python", ("U1", "U2"), "Welcome", (BUTTON,), "thread", "123",
              ("Moderators",)),
    SpaceMessage(7, "in the space", keys.dm_fallback("k:1"), (BUTTON,), (INVITE,), "C1"),
    SpaceMessage(7, "no files", "k:2"),
    CloseSpace(7, "C1", "archive", "bye"),
]


@pytest.mark.parametrize("message", EVERY_TYPE, ids=lambda m: type(m).__name__)
def test_each_type_round_trips_through_its_stored_form(message: Message) -> None:
    row = OutboxMessage(message, 1, WHEN)
    assert from_row(row.kind, row.target, row.idempotency_key, row.payload) == message


def test_stored_kinds_and_payload_keys_are_the_ones_rows_already_have() -> None:
    """No migration: old rows load, new rows look like old ones."""
    dm, _, space, post, post_plain, close = EVERY_TYPE
    assert (dm.kind, space.kind, post.kind, close.kind) == (
        "dm", "space_open", "space_message", "space_close")
    assert set(dm.to_payload()) == {"text", "buttons", "attachments", "match_id", "expires_at"}
    assert set(DirectMessage("U1", "x", "k").to_payload()) == {
        "text", "buttons", "attachments", "match_id"}
    assert set(space.to_payload()) == {"match_id", "name", "members", "intro", "buttons",
                                       "space_mode", "space_parent", "moderator_roles"}
    assert set(post_plain.to_payload()) == {"match_id", "text", "buttons", "space_id"}
    assert set(close.to_payload()) == {"match_id", "space_id", "action", "text"}
    assert (space.key, close.key) == ("space-open:7", "space-close:7")
    # A voice channel (Discord, ``voice_channel``) adds one key, only when asked for.
    voiced = replace(space, voice=True)
    assert set(voiced.to_payload()) - set(space.to_payload()) == {"voice"}
    assert from_row("space_open", "7", "k", voiced.to_payload()) == voiced
    assert (dm.target, space.target) == ("U1", "7")
    assert dm.to_payload()["buttons"] == [
        {"label": "Unpair", "action": "peer unpair", "args": {"match": "7"}, "style": "danger"}]


def test_old_rows_with_odd_values_still_load() -> None:
    """A hand-written expiry without a zone is UTC; a malformed one never expires."""
    naive = from_row("dm", "U1", "k", {"text": "x", "expires_at": "2026-03-02T09:00:00"})
    assert isinstance(naive, DirectMessage) and naive.expires_at == WHEN
    broken = from_row("dm", "U1", "k", {"text": "x", "expires_at": "soon"})
    assert not expired(OutboxMessage(broken, 1, WHEN), datetime(2100, 1, 1, tzinfo=UTC))
    assert expired(OutboxMessage(naive, 1, WHEN), WHEN)
    with pytest.raises(ValueError, match="unknown outbox kind"):
        from_row("fax", "U1", "k", {})


def test_a_dm_falling_back_to_the_space_keeps_its_files_and_buttons() -> None:
    dm = EVERY_TYPE[0]
    assert isinstance(dm, DirectMessage)
    fallback = fallback_for(dm)
    assert fallback is not None
    assert (fallback.match_id, fallback.key) == (7, "dm-fallback:match:7:dm:1")
    assert fallback.attachments == (INVITE,) and fallback.buttons == (BUTTON,)
    assert fallback.text.startswith("{u:U1} ") and fallback.text.endswith("hi {u:U2}")
    assert fallback_for(DirectMessage("U1", "anonymous: no space", "k")) is None
    assert fallback_for(EVERY_TYPE[5]) is None


async def test_the_console_delivers_every_type(tmp_path: Path) -> None:
    out = io.StringIO()

    async def people() -> dict[str, tuple[str, str]]:
        return {"U1": ("ana", "Europe/London"), "U2": ("ben", "UTC")}

    deliverer = ConsoleDeliverer(out, people, tmp_path, FakeClock(WHEN))
    facts = [await deliverer.deliver(OutboxMessage(m, 1, WHEN)) for m in EVERY_TYPE]
    assert facts[2] == {"space_id": "console:peer-7-python"}
    assert [f for i, f in enumerate(facts) if i != 2] == [{}] * 5
    text = out.getvalue()
    assert "📨 DM to @ana:" in text
    assert "🏠 Private space #peer-7-python opened for @ana, @ben" in text
    assert "💬 In C1:" in text and "🗄️  Space C1 archived." in text
    assert "[Unpair] → /peer unpair match=7" in text
    # The DM's invite and the fallback's invite are both written out.
    assert (tmp_path / "ana-session-3.ics").read_bytes() == INVITE.content
    assert (tmp_path / "C1-session-3.ics").read_bytes() == INVITE.content
