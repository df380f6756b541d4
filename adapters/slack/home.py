"""The App Home tab: the learner's status, match, next session and buttons to act.

Nothing here decides anything: the tab shows what the core answers to ``peer status`` and
``peer sessions`` for that person, rendered like any reply. It is published when the person
opens the tab and again after every command they run (and after a DM reaches them), so it
stays current. Only people who have opened the tab since the process started are
refreshed: publishing for everyone else would cost API calls nobody looks at, and opening
the tab always publishes afresh.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.answer import Origin
from adapters.slack.blocks import actions_blocks, text_blocks
from core.replies import Button, Reply

log = logging.getLogger(__name__)

Runner = Callable[[Origin, str, dict[str, str]], Awaitable[Reply]]
QUICK_ACTIONS = (Button("Join", "peer join", style="primary"), Button("My profile", "peer profile"),
                 Button("Help", "peer help"))


def _unique(buttons: list[Button]) -> list[Button]:
    seen: set[tuple[str, tuple[tuple[str, str], ...]]] = set()
    out = []
    for b in buttons:
        key = (b.action, tuple(sorted(b.args.items())))
        if key not in seen:
            seen.add(key)
            out.append(b)
    return out


def home_view(status: Reply, sessions: Reply | None) -> dict[str, Any]:
    """The Home tab view for one person."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": "PeerMatch"}},
        *text_blocks(status.text),
    ]
    buttons = list(status.buttons)
    if sessions is not None and sessions.ok:
        blocks += [{"type": "divider"},
                   {"type": "header", "text": {"type": "plain_text", "text": "Sessions"}},
                   *text_blocks(sessions.text)]
        buttons += list(sessions.buttons)
    blocks += [{"type": "divider"}, *actions_blocks(_unique(buttons + list(QUICK_ACTIONS)))]
    return {"type": "home", "callback_id": "pmhome", "blocks": blocks[:100]}


class HomeTab:
    """Publishes Home tabs; remembers who has looked at theirs."""

    def __init__(self, client: AsyncWebClient, run: Runner) -> None:
        self._client = client
        self._run = run
        self._viewers: dict[str, str] = {}  # user id -> team id
        # Refreshes coalesce per person: while one publishes, later asks only mark it stale
        # and it publishes once more after, so a burst of commands costs two, not one each.
        self._busy: dict[str, bool] = {}  # user id -> stale since the publish began

    def viewer_team(self, user_id: str) -> str | None:
        return self._viewers.get(user_id)

    async def opened(self, origin: Origin) -> None:
        self._viewers[origin.user_id] = origin.team_id
        await self.publish(origin)

    async def refresh(self, origin: Origin) -> None:
        """Republish if this person has opened their tab (after a command, a DM, ...)."""
        user = origin.user_id
        if user not in self._viewers:
            return
        if user in self._busy:
            self._busy[user] = True
            return
        self._busy[user] = False
        try:
            while True:
                await self.publish(origin)
                if not self._busy[user]:
                    return
                self._busy[user] = False
        finally:
            del self._busy[user]

    async def publish(self, origin: Origin) -> None:
        quiet = origin.without_trigger()
        status = await self._run(quiet, "peer status", {})
        if not status.ok:
            return  # refused (e.g. reading too often): keep the tab as it is
        sessions = await self._run(quiet, "peer sessions", {})
        try:
            await self._client.views_publish(
                user_id=origin.user_id, view=home_view(status, sessions)
            )
        except SlackApiError as exc:
            log.warning(
                "views.publish for %s failed: %s", origin.user_id, exc.response.get("error")
            )
