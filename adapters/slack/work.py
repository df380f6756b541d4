"""Work the Slack app does beside its listeners: tracking, settings it reads often, and
running accepted work (core/accepted.py) for Slack rows.

- ``Tracker`` counts interactions still being worked on after their ack, so a shutdown
  (or a test) can wait for them;
- ``SettingsCache`` keeps each workspace's effective settings for a few seconds: every
  command needs them *before* the core (to resolve the person's moderator usergroups) and
  every form to render its choices; reading them once per command doubled the units of
  work of a command. A config change made here drops the entry at once; one made by
  another process shows within ``TTL_SECONDS``;
- ``SlackWork`` is the ``WorkPlatform`` of Slack rows: it rebuilds the request (the actor
  resolved again) and answers on the response_url, or by DM once that has expired.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from adapters.slack.answer import Answerer, Origin
from adapters.slack.identity import ActorResolver
from core.accepted import AcceptedWork
from core.replies import Reply
from core.services.context import CommandRequest, Services
from core.services.lookup import community_settings
from core.settings import CommunitySettings

PLATFORM = "slack"
TTL_SECONDS = 10.0


class Tracker:
    """Counts interactions still being worked on after their ack, so a shutdown (or a
    test) can wait for them to finish."""

    def __init__(self) -> None:
        self._busy = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._tasks: set[asyncio.Task[None]] = set()

    @asynccontextmanager
    async def track(self) -> AsyncIterator[None]:
        self._busy += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._busy -= 1
            if self._busy == 0:
                self._idle.set()

    def spawn(self, work: Callable[[], Awaitable[None]]) -> None:
        """Run ``work`` after the current interaction, tracked like one (a reference is
        kept: the loop holds tasks only weakly)."""
        async def tracked() -> None:
            async with self.track():
                await work()

        task = asyncio.ensure_future(tracked())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Return once no tracked interaction is running; the caller bounds the wait."""
        await self._idle.wait()


class SettingsCache:
    """Effective community settings by workspace, kept ``TTL_SECONDS``."""

    def __init__(self, services: Services) -> None:
        self._services = services
        self._kept: dict[str, tuple[float, CommunitySettings]] = {}
        # One read per workspace at a time: a burst of commands after the entry expired
        # waits for that read instead of each making its own.
        self._reading: dict[str, asyncio.Future[CommunitySettings]] = {}

    async def get(self, team_id: str) -> CommunitySettings:
        kept = self._kept.get(team_id)
        if kept is not None and time.monotonic() - kept[0] < TTL_SECONDS:
            return kept[1]
        reading = self._reading.get(team_id)
        if reading is None:
            reading = asyncio.ensure_future(self._read(team_id))
            self._reading[team_id] = reading
        return await asyncio.shield(reading)

    async def _read(self, team_id: str) -> CommunitySettings:
        try:
            settings = await community_settings(self._services, PLATFORM, team_id)
            self._kept[team_id] = (time.monotonic(), settings)
            return settings
        finally:
            del self._reading[team_id]

    def forget(self, team_id: str) -> None:
        self._kept.pop(team_id, None)


def origin_of(work: AcceptedWork) -> Origin:
    """Where the person asked (kept in the row's ``reply_to``)."""
    to = work.reply_to
    return Origin(work.community_external_id, to.get("user_id", ""), to.get("user_name", ""),
                  channel_id=to.get("channel_id", ""), response_url=to.get("response_url", ""))


def reply_to(origin: Origin) -> dict[str, str]:
    return {"user_id": origin.user_id, "user_name": origin.user_name,
            "channel_id": origin.channel_id, "response_url": origin.response_url}


class SlackWork:
    """Rebuilds and answers Slack's accepted commands (core.services.accepted.WorkPlatform)."""

    def __init__(self, settings: SettingsCache, actors: ActorResolver, answer: Answerer) -> None:
        self._settings = settings
        self._actors = actors
        self._answer = answer

    async def request_for(self, work: AcceptedWork) -> CommandRequest:
        origin = origin_of(work)
        settings = await self._settings.get(origin.team_id)
        actor = await self._actors.actor(origin.user_id, origin.user_name,
                                         settings.moderator_roles)
        return CommandRequest(PLATFORM, origin.team_id, actor, work.command,
                              {str(k): str(v) for k, v in dict(work.payload["args"]).items()})

    async def reply(self, work: AcceptedWork, reply: Reply) -> None:
        # Answerer.post falls back to a DM when the response_url refuses (expired, used up).
        await self._answer.post(origin_of(work), reply)
