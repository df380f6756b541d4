"""Rendering without a server: placeholders, message length, custom ids, modal pages."""

from __future__ import annotations

from dataclasses import replace

import pytest

from adapters.discord import forms
from adapters.discord.render import (
    MESSAGE_LIMIT,
    button_id,
    make_view,
    parse_button_id,
    render,
    split_text,
    to_discord_text,
)
from core import catalogue
from core.catalogue import Kind
from core.replies import Button, Reply
from core.settings import CommunitySettings


def test_placeholders_become_discord_markup() -> None:
    text = "Meet {t:1772470800:F} ({t:1772470800:R}) with {u:123456789012345678}, **bold**"
    assert to_discord_text(text) == ("Meet <t:1772470800:F> (<t:1772470800:R>) with "
                                     "<@123456789012345678>, **bold**")


def test_long_replies_are_split_at_line_breaks() -> None:
    lines = [f"{i:04d} " + "x" * 95 for i in range(45)]  # 4,500 characters
    chunks = split_text("\n".join(lines))
    assert len(chunks) == 3 and all(len(c) <= MESSAGE_LIMIT for c in chunks)
    assert "\n".join(chunks).split("\n") == lines


def test_very_long_replies_are_shortened_politely() -> None:
    chunks = split_text("y" * (MESSAGE_LIMIT * 9))
    assert len(chunks) == 5 and all(len(c) <= MESSAGE_LIMIT for c in chunks)
    assert chunks[-1].endswith("(shortened: this was too long for Discord)")


def test_button_ids_are_stable_short_and_round_trip() -> None:
    custom_id = button_id("123456789012345678", "peer unpair", {"match": "42"})
    assert custom_id == "pm:123456789012345678:peer.unpair:match=42"
    assert parse_button_id(custom_id) == ("123456789012345678", "peer unpair", {"match": "42"})
    long_id = button_id("1", "peer message", {"text": "z" * 200})
    assert len(long_id) <= 100
    assert parse_button_id(long_id) == ("1", "peer message", {"text": "z" * 200})
    assert parse_button_id("someone-else:button") is None


async def test_views_are_not_kept_in_memory_and_hold_at_most_25_buttons() -> None:
    view = make_view([Button(f"b{i}", "peer status") for i in range(30)], "1")
    assert view is not None and view.is_finished() and len(view.children) == 25
    assert render(Reply("hi")).view("1") is None


@pytest.mark.parametrize("name", sorted(catalogue.FORMS))
def test_every_form_fits_discord_modals(name: str) -> None:
    form = catalogue.FORMS[name]
    book = forms.FormBook()
    draft = book.start("1", "2", form, {}, "peer join", {}, CommunitySettings())
    seen: list[str] = []
    for page in range(len(draft.pages)):
        draft.todo = [page]
        payload = forms.modal(draft, "1").to_dict()
        assert 1 <= len(payload["components"]) <= 5 and len(payload["title"]) <= 45
        assert len(payload["custom_id"]) <= 100
        for label in payload["components"]:
            assert label["type"] == 18 and len(label["label"]) <= 45
            seen.append(label["component"]["custom_id"])
    assert seen == [f.name for f in form.fields]


def test_long_choice_lists_become_text_inputs_and_multi_selects_allow_several() -> None:
    many = CommunitySettings(topics=tuple(f"Topic {i}" for i in range(30)))
    assert forms.select_options(catalogue.TOPIC, many) is None
    assert forms.select_options(catalogue.TOPIC, CommunitySettings()) == CommunitySettings().topics
    assert (
        forms.select_options(catalogue.COHORT, CommunitySettings()) is None
    )  # no cohorts: free text
    draft = forms.FormBook().start(
        "1",
        "2",
        catalogue.FORMS["join-study-buddy"],
        {"languages": "English, French"},
        "peer join",
        {},
        CommunitySettings(),
    )
    languages = forms.modal(draft, "1").to_dict()["components"][1]["component"]
    assert languages["type"] == 3 and languages["max_values"] == len(CommunitySettings().languages)
    assert [o["value"] for o in languages["options"] if o["default"]] == ["English", "French"]


def test_submissions_are_read_from_labels_and_rows() -> None:
    components = [
        {"type": 18, "component": {"type": 4, "custom_id": "goal", "value": "Pass"}},
        {
            "type": 18,
            "component": {"type": 3, "custom_id": "languages", "values": ["English", "French"]},
        },
        {"type": 1, "components": [{"type": 4, "custom_id": "country", "value": ""}]},
    ]
    assert forms.read_submission(components) == {
        "goal": "Pass",
        "languages": "English, French",
        "country": "",
    }


def test_unfinished_forms_are_forgotten_after_a_while() -> None:
    now = [0.0]
    book = forms.FormBook(clock=lambda: now[0])
    book.start(
        "1", "2", catalogue.FORMS["feedback-peer"], {}, "peer feedback", {}, CommunitySettings()
    )
    assert book.get("1", "2", "feedback-peer") is not None
    now[0] += forms.DRAFT_TTL + 1
    assert book.get("1", "2", "feedback-peer") is None


def test_a_button_missing_required_options_asks_for_them() -> None:
    unpair = catalogue.command("peer unpair")
    assert unpair is not None
    form = forms.command_form(unpair, {"match": "3"})
    assert form is not None and [f.name for f in form.fields] == ["reason"]
    assert forms.command_form(unpair, {"match": "3", "reason": "busy"}) is None
    forget = catalogue.command("peer forget")
    assert (
        forget is not None and forms.command_form(forget, {}) is None
    )  # a yes/no is never required text
    assert all(f.kind is not Kind.BOOL for f in form.fields)
    assert replace(form, title="x").name == "cmd:peer.unpair"
