"""The console pre-fills the join form's time zone with the terminal's zone, as Slack does
with users.info's tz."""

from __future__ import annotations

import io
from collections import deque

import pytest

from adapters.console.repl import Console, local_zone
from core.services.context import Services
from core.settings import CommunitySettings
from tests.fakes import FakeClock


class _Lines:
    def __init__(self, lines: list[str]) -> None:
        self.queue = deque(lines)

    def readline(self) -> str:
        return self.queue.popleft() + "\n" if self.queue else ""


@pytest.mark.parametrize(("tz", "zone"), [
    ("Europe/Paris", "Europe/Paris"), (":Asia/Tokyo", "Asia/Tokyo"), ("Etc/UTC", "UTC"),
    ("CET-1CEST,M3.5.0,M10.5.0/3", ""),  # a POSIX rule is no name to offer
])
def test_local_zone_from_tz(monkeypatch: pytest.MonkeyPatch, tz: str, zone: str) -> None:
    monkeypatch.setenv("TZ", tz)
    assert local_zone() == zone


async def test_join_form_offers_the_terminal_zone(memory_storage) -> None:
    services = Services(memory_storage.uow_factory, FakeClock(), CommunitySettings(),
                        seed_source=lambda: 1)
    # Topic, languages, then Enter on the time zone keeps the offered one; the rest answered.
    answers = ["Python", "English", "", "Mon-Fri 9-5", "", "", "", "", ""]
    out = io.StringIO()
    console = Console(services, "c1", _Lines(answers), out, zone="America/Lima")  # type: ignore[arg-type]
    await console.meta_or_command("as ana")
    await console.meta_or_command("/peer join study-buddy")
    text = out.getvalue()
    assert "Your time zone [America/Lima]" in text
    assert "I read your availability as Mon-Fri 09:00-17:00 America/Lima, 40 h a week." in text
