"""The Block Kit limits Slack enforces, checked by the fake Web API.

Slack answers ``invalid_blocks`` / ``invalid_arguments`` when a message or view breaks them;
the fake does the same, so a test fails on the kind of payload production would reject.
Only documented limits we rely on are checked (https://docs.slack.dev/reference/block-kit).
"""

from __future__ import annotations

from typing import Any


def _text_len(obj: Any) -> int:
    return len(obj.get("text", "")) if isinstance(obj, dict) else 0


_OPTION_ELEMENTS = ("static_select", "multi_static_select", "checkboxes", "radio_buttons")


def _button(el: dict[str, Any], where: str, out: list[str]) -> None:
    if not 0 < _text_len(el.get("text")) <= 75:
        out.append(f"{where}: button text must be 1..75 characters")
    if len(el.get("value", "")) > 2000:
        out.append(f"{where}: button value longer than 2000")
    if el.get("style") not in (None, "primary", "danger"):
        out.append(f"{where}: bad button style {el.get('style')!r}")


def _options(el: dict[str, Any], where: str, out: list[str]) -> None:
    options = el.get("options", [])
    if not 0 < len(options) <= 100:
        out.append(f"{where}: 1..100 options needed")
    for o in options:
        if not 0 < _text_len(o.get("text")) <= 75 or len(o.get("value", "")) > 150:
            out.append(f"{where}: option text ≤75 / value ≤150")
    initial = el.get("initial_option")
    if initial is not None and initial not in options:
        out.append(f"{where}: initial_option is not one of the options")
    for o in el.get("initial_options", []):
        if o not in options:
            out.append(f"{where}: initial_options not among the options")


def _element(el: dict[str, Any], where: str, out: list[str]) -> None:
    kind = el.get("type")
    if not el.get("action_id") and kind not in ("image",):
        out.append(f"{where}: element without action_id")
    if len(el.get("action_id", "")) > 255:
        out.append(f"{where}: action_id longer than 255")
    if kind == "button":
        _button(el, where, out)
    if kind in _OPTION_ELEMENTS:
        _options(el, where, out)
    if "placeholder" in el and _text_len(el["placeholder"]) > 150:
        out.append(f"{where}: placeholder longer than 150")
    if kind == "plain_text_input" and "initial_value" in el and "max_length" in el \
            and len(el["initial_value"]) > el["max_length"]:
        out.append(f"{where}: initial_value longer than max_length")


def _actions(block: dict[str, Any], where: str, out: list[str]) -> None:
    elements = block.get("elements", [])
    if not 0 < len(elements) <= 25:
        out.append(f"{where}: actions need 1..25 elements")
    action_ids = [e.get("action_id") for e in elements]
    if len(action_ids) != len(set(action_ids)):
        out.append(f"{where}: duplicate action_id")
    for j, el in enumerate(elements):
        _element(el, f"{where}.elements[{j}]", out)


def _input(block: dict[str, Any], where: str, surface: str, out: list[str]) -> None:
    if surface == "message":
        out.append(f"{where}: input blocks only in modals")
    if not 0 < _text_len(block.get("label")) <= 2000:
        out.append(f"{where}: input label must be 1..2000 characters")
    _element(block.get("element", {}), f"{where}.element", out)


def block_problems(blocks: list[dict[str, Any]], surface: str) -> list[str]:
    """Problems of a blocks array for a surface: 'message', 'modal' or 'home'."""
    out: list[str] = []
    limit = 50 if surface == "message" else 100
    if len(blocks) > limit:
        out.append(f"more than {limit} blocks in a {surface}")
    ids = [b["block_id"] for b in blocks if "block_id" in b]
    if len(ids) != len(set(ids)):
        out.append("duplicate block_id")
    for i, block in enumerate(blocks):
        where = f"blocks[{i}]"
        kind = block.get("type")
        if kind == "section" and not 0 < _text_len(block.get("text")) <= 3000:
            out.append(f"{where}: section text must be 1..3000 characters")
        if kind == "header" and not 0 < _text_len(block.get("text")) <= 150:
            out.append(f"{where}: header text must be 1..150 characters")
        if kind == "actions":
            _actions(block, where, out)
        if kind == "input":
            _input(block, where, surface, out)
    return out


def view_problems(view: dict[str, Any]) -> list[str]:
    """Problems of a modal or home view."""
    kind = view.get("type")
    out = block_problems(view.get("blocks", []), kind or "?")
    if kind == "modal":
        if not 0 < _text_len(view.get("title")) <= 24:
            out.append("modal title must be 1..24 characters")
        for key in ("submit", "close"):
            if key in view and not 0 < _text_len(view[key]) <= 24:
                out.append(f"modal {key} must be 1..24 characters")
        if any(b.get("type") == "input" for b in view.get("blocks", [])) and "submit" not in view:
            out.append("must define submit to use an input block in modals")
        if len(view.get("private_metadata", "")) > 3000:
            out.append("private_metadata longer than 3000")
        if len(view.get("callback_id", "")) > 255:
            out.append("callback_id longer than 255")
    elif kind != "home":
        out.append(f"unknown view type {kind!r}")
    return out
