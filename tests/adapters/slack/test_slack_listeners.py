"""The Bolt app's listeners: one per kind (slash command, buttons, modals, Home), not one
per catalogue command (Bolt tries them in turn, building each one's arguments), and the
modal pattern holds exactly the catalogue's callback ids."""

from __future__ import annotations

from typing import Any

from adapters.slack import blocks
from adapters.slack.app import _views_pattern
from core import catalogue


def test_the_modal_pattern_is_exactly_the_catalogues_modals() -> None:
    pattern = _views_pattern()
    ours = [blocks.FORM_CALLBACK + name for name in catalogue.FORMS]
    ours += [blocks.COMMAND_CALLBACK + blocks.dotted(c.key) for c in catalogue.COMMANDS
             if c.options]
    assert ours and all(pattern.fullmatch(i) for i in ours)
    no_options = [blocks.COMMAND_CALLBACK + blocks.dotted(c.key) for c in catalogue.COMMANDS
                  if not c.options]
    for other in [*no_options, "pmform:", "pmform:nope", "someone_elses_modal",
                  ours[0] + "x", "x" + ours[0]]:
        assert not pattern.fullmatch(other), other


def test_one_listener_per_kind(app: Any) -> None:
    assert len(app._async_listeners) == 4
