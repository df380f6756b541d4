"""Who is asking: a Slack user as the core's ``Actor``.

``users.info`` gives the display name, the time zone (pre-fills forms) and whether the
person is a workspace admin or owner (``platform_admin``); ``usergroups.users.list`` tells
which of the configured moderator usergroups they belong to (``roles``). The core decides
what that means (core/services/dispatch.py ``is_moderator``): nothing is decided here.

Answers are cached for a few minutes: a slash command must open its modal within the 3 s
its trigger_id lives, and Slack rate-limits ``users.info`` (tier 4).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from core.services.context import Actor

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Person:
    name: str
    admin: bool
    timezone: str


class ActorResolver:
    """Builds ``Actor`` values from Slack user ids, with a short cache."""

    def __init__(self, client: AsyncWebClient, moderator_usergroups: tuple[str, ...] = (),
                 ttl_seconds: float = 300.0) -> None:
        self._client = client
        self._usergroups = moderator_usergroups
        self._ttl = ttl_seconds
        self._people: dict[str, tuple[float, _Person]] = {}
        self._groups: dict[str, tuple[float, frozenset[str]]] = {}

    def forget(self, user_id: str = "") -> None:
        """Drop cached answers (one person, or everyone)."""
        if user_id:
            self._people.pop(user_id, None)
        else:
            self._people.clear()
            self._groups.clear()

    async def actor(self, user_id: str, fallback_name: str = "",
                    community_roles: tuple[str, ...] = ()) -> Actor:
        """The person as an Actor. ``community_roles``: the community's configured moderator
        roles, so a usergroup added with ``/peer admin config`` counts without a restart."""
        person = await self._person(user_id, fallback_name)
        # Slack usergroup ids start with S; anything else there is not a usergroup.
        groups = dict.fromkeys(
            [*self._usergroups, *(r for r in community_roles if r.startswith("S"))]
        )
        roles = tuple([g for g in groups if user_id in await self._members(g)])
        return Actor(user_id=user_id, display_name=person.name, platform_admin=person.admin,
                     roles=roles, timezone=person.timezone)

    async def _person(self, user_id: str, fallback_name: str) -> _Person:
        cached = self._people.get(user_id)
        if cached and time.monotonic() - cached[0] < self._ttl:
            return cached[1]
        try:
            response = await self._client.users_info(user=user_id)
            user: dict[str, Any] = response.get("user") or {}
        except SlackApiError as exc:
            # Missing users:read or a deleted user: carry on as a plain learner.
            log.warning("users.info failed for %s: %s", user_id, exc.response.get("error"))
            return _Person(fallback_name or user_id, False, "")
        profile = user.get("profile") or {}
        person = _Person(
            name=profile.get("display_name")
            or profile.get("real_name")
            or user.get("real_name")
            or user.get("name")
            or fallback_name
            or user_id,
            admin=bool(
                user.get("is_admin") or user.get("is_owner") or user.get("is_primary_owner")
            ),
            timezone=str(user.get("tz") or ""),
        )
        self._people[user_id] = (time.monotonic(), person)
        return person

    async def _members(self, usergroup: str) -> frozenset[str]:
        cached = self._groups.get(usergroup)
        if cached and time.monotonic() - cached[0] < self._ttl:
            return cached[1]
        try:
            response = await self._client.usergroups_users_list(usergroup=usergroup)
            members = frozenset(str(u) for u in response.get("users") or [])
        except SlackApiError as exc:
            log.warning("usergroups.users.list failed for %s: %s (needs usergroups:read)",
                        usergroup, exc.response.get("error"))
            members = frozenset()
        self._groups[usergroup] = (time.monotonic(), members)
        return members
