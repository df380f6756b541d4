"""Core text → Slack mrkdwn, and catalogue forms → valid Block Kit."""

from __future__ import annotations

import json

import pytest

from adapters.slack import blocks, render
from core import catalogue
from core.replies import Button
from core.settings import CommunitySettings
from tests.adapters.slack.blockkit import block_problems, view_problems


def test_markup() -> None:
    assert render.mrkdwn("**bold** and *it* and `**code**`") == "*bold* and _it_ and `**code**`"
    assert render.mrkdwn("- one\n- two") == "• one\n• two"
    assert render.mrkdwn("hi {u:U123}") == "hi <@U123>"
    assert render.mrkdwn("use `/peeradmin queue`") == "use `/peer admin queue`"


def test_times_render_in_each_readers_zone_with_a_utc_fallback() -> None:
    assert render.mrkdwn("at {t:1772474400:F}") == \
        "at <!date^1772474400^{date_long_pretty} {time}|Mon 02 Mar 2026 18:00 UTC>"
    assert render.mrkdwn("{t:1772474400:R}").startswith("<!date^1772474400^{ago}|")
    assert render.mrkdwn("{t:1772474400}").startswith(
        "<!date^1772474400^{date_long_pretty} {time}|"
    )


def test_user_text_cannot_inject_markup() -> None:
    text = render.mrkdwn("reason: <!channel> & <@U999> {u:U1}")
    assert text == "reason: &lt;!channel&gt; &amp; &lt;@U999&gt; <@U1>"


def test_long_text_is_split_into_sections() -> None:
    long = "\n".join(f"line {i} " + "x" * 90 for i in range(100))
    parts = render.chunks(long)
    assert len(parts) > 1 and all(len(p) <= render.SECTION_LIMIT for p in parts)
    assert "\n".join(parts) == long
    assert (
        block_problems(blocks.message_blocks(long, (Button("Go", "peer status"),)), "message") == []
    )


@pytest.mark.parametrize("name", sorted(catalogue.FORMS))
def test_every_form_is_a_valid_modal_with_every_field(name: str) -> None:
    form = catalogue.FORMS[name]
    view = blocks.modal(
        blocks.FORM_CALLBACK + name,
        form.title,
        form.fields,
        {"timezone": "Europe/London", "languages": "English, Spanish", "topic": "python"},
        CommunitySettings(),
        {"c": "peer join", "x": {"mode": "study-buddy"}},
    )
    assert view_problems(view) == []
    assert [b["block_id"] for b in view["blocks"]] == [f.name for f in form.fields]
    by_id = {b["block_id"]: b for b in view["blocks"]}
    if "topic" in by_id:  # choices from the settings, pre-selected case-insensitively
        assert by_id["topic"]["element"]["initial_option"]["value"] == "Python"
        assert [o["value"] for o in by_id["languages"]["element"]["initial_options"]] == [
            "English",
            "Spanish",
        ]
        assert by_id["timezone"]["element"]["initial_value"] == "Europe/London"
        assert by_id["cohort"]["optional"] is True


@pytest.mark.parametrize("cmd", [c for c in catalogue.COMMANDS if c.options], ids=lambda c: c.key)
def test_every_command_with_options_is_a_valid_modal(cmd: catalogue.Command) -> None:
    view = blocks.modal(blocks.COMMAND_CALLBACK + blocks.dotted(cmd.key), cmd.name, cmd.options, {},
                        CommunitySettings(), {"c": cmd.key}, cmd.description)
    assert view_problems(view) == []


def test_values_are_read_back_as_raw_strings() -> None:
    view = {"state": {"values": {
        "topic": {"v": {"type": "static_select", "selected_option": {"value": "Python"}}},
        "languages": {"v": {"type": "multi_static_select",
                            "selected_options": [{"value": "English"}, {"value": "French"}]}},
        "anonymous": {"v": {"type": "checkboxes", "selected_options": []}},
        "user": {"v": {"type": "users_select", "selected_user": "U2"}},
        "capacity": {"v": {"type": "number_input", "value": "3"}},
        "goal": {"v": {"type": "plain_text_input", "value": None}},
        "cohort": {"v": {"type": "static_select", "selected_option": None}},
    }}}
    assert blocks.read_values(view) == {"topic": "Python", "languages": "English, French",
                                        "anonymous": "no", "user": "U2", "capacity": "3",
                                        "goal": "", "cohort": ""}


def test_buttons_are_stable_and_decodable() -> None:
    element = blocks.button_element(Button("Unpair", "peer unpair", {"match": "4"}, "danger"), 2)
    assert element["action_id"] == "pm:peer.unpair:2" and element["style"] == "danger"
    assert blocks.decode_button(element) == ("peer unpair", {"match": "4"})
    assert blocks.decode_button({"action_id": "pm:peeradmin.queue:0", "value": "garbage"}) == \
        ("peeradmin queue", {})
    assert "style" not in blocks.button_element(Button("Help", "peer help"), 0)


def test_private_metadata_stays_under_the_limit() -> None:
    meta = {"c": "peer join", "x": {"mode": "study-buddy"}, "ru": "https://hooks/" + "x" * 3000}
    packed = blocks.pack_meta(meta)
    assert len(packed) <= 3000 and json.loads(packed) == {
        "c": "peer join",
        "x": {"mode": "study-buddy"},
    }
