"""The parts of Slack's request payloads the app reads, as TypedDicts.

Bolt hands listeners plain dicts; these name the keys we rely on so mypy checks every read.
``total=False``: Slack omits keys freely (no ``channel`` on a Home-tab button, no ``team``
on some enterprise installs), so each read says what it falls back to. Only the keys read
are listed; the rest of a payload passes through untyped. shape.py checks these fields at
run time before Bolt dispatches a request, which is what makes the declared types hold.
"""

from __future__ import annotations

from typing import Any, TypedDict


class SlashBody(TypedDict, total=False):
    """A slash command (form-encoded; every value a string)."""

    team_id: str
    enterprise_id: str
    user_id: str
    user_name: str
    channel_id: str
    response_url: str
    trigger_id: str
    text: str


class SlackUser(TypedDict, total=False):
    """``user`` in an interaction payload."""

    id: str
    username: str
    name: str
    team_id: str


class SlackTeam(TypedDict, total=False):
    """``team`` in an interaction payload (null on some enterprise-wide installs)."""

    id: str
    domain: str


class SlackChannel(TypedDict, total=False):
    """``channel`` in a block_actions payload (absent for buttons on the Home tab)."""

    id: str
    name: str


class InteractionBody(TypedDict, total=False):
    """A ``block_actions`` or ``view_submission`` payload."""

    type: str
    team: SlackTeam | None
    team_id: str
    user: SlackUser
    channel: SlackChannel
    response_url: str
    trigger_id: str
    view: dict[str, Any]


class BlockAction(TypedDict, total=False):
    """One entry of ``actions`` in a block_actions payload (a PeerMatch button)."""

    action_id: str
    block_id: str
    value: str


class HomeOpenedEvent(TypedDict, total=False):
    """The ``app_home_opened`` event."""

    type: str
    user: str
    tab: str


class EventBody(TypedDict, total=False):
    """The Events API envelope around an event."""

    team_id: str
    api_app_id: str
    event: HomeOpenedEvent
