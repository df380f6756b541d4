"""The Bolt ``AsyncApp``: listeners registered in a loop from the core catalogue.

- ``/peer`` (one slash command; grammar.py maps its text onto catalogue commands);
- one action listener per catalogue command for buttons (``pm:<command>:<n>``), plus a
  catch-all so a button from an old message always gets an answer;
- one view listener per catalogue form (``pmform:<form>``) and per command with options
  (``pmcmd:<command>``);
- ``app_home_opened`` publishes the Home tab.

Slack wants an ack within 3 s. A command is acknowledged once the core has done it (a few
milliseconds; ``flow.ACK_BUDGET_SECONDS`` at most), so an acknowledged command is a done one
and a crash cannot lose it; slow commands (a round) are stored first and acknowledged
"on it" (core/accepted.py), then run from the store. The reply follows the ack, as tracked
work (``process_before_response``: the HTTP answer goes when the listener returns). A modal
submission's ack *is* its answer (close, update or inline errors).
"""

from __future__ import annotations

import logging
import re
import weakref
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack import blocks, grammar, shape
from adapters.slack.answer import Origin
from adapters.slack.client import make_client
from adapters.slack.deliver import SlackDeliverer
from adapters.slack.flow import Flow
from adapters.slack.gate import bolt_logger
from adapters.slack.payloads import (
    BlockAction,
    EventBody,
    HomeOpenedEvent,
    InteractionBody,
    SlackUser,
    SlashBody,
)
from adapters.slack.settings import SlackSettings
from core import catalogue
from core.messages import DirectMessage, Message, OpenSpace
from core.services.context import Services

log = logging.getLogger(__name__)
_FLOWS: weakref.WeakKeyDictionary[AsyncApp, Flow] = weakref.WeakKeyDictionary()


def flow_of(app: AsyncApp) -> Flow:
    """The adapter state behind an app made by ``build_app`` (its Home tab, its tracker)."""
    return _FLOWS[app]


async def drain(app: AsyncApp) -> None:
    """Wait until interactions already acknowledged have finished their work (callers bound
    the wait with ``asyncio.timeout``)."""
    await flow_of(app).tracker.drain()


def _team(context: AsyncBoltContext, body: Mapping[str, object]) -> str:
    team = body.get("team")
    return str(context.team_id or (team.get("id") if isinstance(team, dict) else "")
               or body.get("team_id") or context.enterprise_id or "")


def _bare(ack: AsyncAck) -> Callable[..., Awaitable[None]]:
    """A block action's ack carries no message: whatever is passed, send a bare ack."""
    async def bare(**_kwargs: Any) -> None:
        await ack()

    return bare


def _with_text(ack: AsyncAck) -> Callable[..., Awaitable[None]]:
    """A slash command's ack may carry a message (shown to the person at once)."""
    async def send(**kwargs: Any) -> None:
        await ack(**kwargs)

    return send


def _unknown_note(typed: str) -> str:
    return f"I don't know `{grammar.SLASH} {typed}`. Here is what I can do:"


def build_app(services: Services, settings: SlackSettings, *,
              client: AsyncWebClient | None = None) -> AsyncApp:
    """The Slack app for one workspace. Pass ``client`` to share one (e.g. with the
    SlackDeliverer); by default one is made from ``settings`` (client.make_client)."""
    client = client or make_client(settings)
    app = AsyncApp(
        client=client,
        signing_secret=settings.signing_secret,
        # Socket Mode frames come over an authenticated websocket: nothing to sign.
        request_verification_enabled=settings.mode == "http",
        name="peermatch",
        # The HTTP answer goes when a listener returns: ours return right after their ack
        # and leave the reply to tracked work (flow.py). Without it Bolt polls every 10 ms
        # per request for the ack, which under load costs more CPU than the commands.
        process_before_response=True,
        # Bolt copies this logger's filter onto its own: no bodies, tokens or tracebacks.
        logger=bolt_logger(),
    )
    flow = Flow(services, client, settings.moderator_usergroups)
    _FLOWS[app] = flow

    # Bolt passes listener arguments by name; the annotations type the payload dicts it gives.
    async def on_slash(ack: AsyncAck, body: SlashBody, context: AsyncBoltContext) -> None:
        async with flow.tracker.track():
            parsed = grammar.parse(str(body.get("text") or ""))
            origin = Origin(
                _team(context, body),
                str(body.get("user_id")),
                str(body.get("user_name") or ""),
                channel_id=str(body.get("channel_id") or ""),
                response_url=str(body.get("response_url") or ""),
                trigger_id=str(body.get("trigger_id") or ""),
            )
            note = _unknown_note(parsed.unknown) if parsed.unknown else ""
            await flow.command(origin, parsed.command, parsed.args, _with_text(ack), note)

    async def on_button(ack: AsyncAck, body: InteractionBody, action: BlockAction,
                        context: AsyncBoltContext) -> None:
        async with flow.tracker.track():
            command, args = blocks.decode_button(action)
            user: SlackUser = body.get("user") or {}
            origin = Origin(_team(context, body), str(user.get("id")),
                            str(user.get("username") or user.get("name") or ""),
                            channel_id=str((body.get("channel") or {}).get("id") or ""),
                            response_url=str(body.get("response_url") or ""),
                            trigger_id=str(body.get("trigger_id") or ""))
            await flow.command(origin, command, args, _bare(ack))

    async def on_submit(ack: AsyncAck, body: InteractionBody, view: dict[str, Any],
                        context: AsyncBoltContext) -> None:
        async with flow.tracker.track():
            user: SlackUser = body.get("user") or {}
            origin = Origin(_team(context, body), str(user.get("id")),
                            str(user.get("username") or user.get("name") or ""),
                            trigger_id=str(body.get("trigger_id") or ""))
            await flow.submission(origin, view, _with_text(ack))

    async def on_home(event: HomeOpenedEvent, body: EventBody,
                      context: AsyncBoltContext) -> None:
        if event.get("tab", "home") != "home":
            return  # the Messages tab fires the same event
        # Events are acknowledged when the listener returns: the publish follows.
        origin = Origin(_team(context, body), str(event.get("user")))
        flow.tracker.spawn(lambda: flow.home.opened(origin))

    async def well_formed(body: dict[str, Any], next_: Callable[[], Awaitable[None]]
                          ) -> BoltResponse | None:
        flow.answer.share_session()  # inside the loop: one connection pool for every call
        # HTTP requests were checked by the gate already; this holds for Socket Mode and
        # in-process dispatch too: a payload our listeners cannot read goes no further.
        found = shape.problem(body)
        if found is not None:
            log.warning("Slack payload refused: %s", found)
            return BoltResponse(status=400, body={"error": "malformed payload"})
        await next_()
        return None

    app.middleware(well_formed)
    app.command(grammar.SLASH)(on_slash)
    # One listener per kind, not one per command: Bolt tries listeners in turn, building
    # each one's arguments, and a submission behind ~40 button listeners paid for all of
    # them. Every button of ours goes to on_button (which decodes the command; one of a
    # command that no longer exists gets the core's "I don't know ..."); the views are
    # exactly the catalogue's, in one pattern.
    app.action(re.compile(rf"^{re.escape(blocks.ACTION_PREFIX)}"))(on_button)
    app.view(_views_pattern())(on_submit)
    app.event("app_home_opened")(on_home)
    return app


def _views_pattern() -> re.Pattern[str]:
    """The callback ids of our modals: one per catalogue form, one per command with
    options (its options modal)."""
    ids = [blocks.COMMAND_CALLBACK + blocks.dotted(cmd.key)
           for cmd in catalogue.COMMANDS if cmd.options]
    ids += [blocks.FORM_CALLBACK + name for name in catalogue.FORMS]
    return re.compile("^(?:" + "|".join(re.escape(i) for i in ids) + ")$")


def deliverer_for(app: AsyncApp) -> SlackDeliverer:
    """The outbox deliverer sharing the app's client; a delivered DM (a match, a reminder,
    a partner leaving) also refreshes the recipients' Home tabs."""
    flow = flow_of(app)

    async def refresh_homes(message: Message) -> None:
        match message:
            case DirectMessage():
                users: tuple[str, ...] = (message.user_id,)
            case OpenSpace():
                users = message.members
            case _:
                users = ()
        for user in users:
            team = flow.home.viewer_team(user)
            if team:  # after the delivery, not inside it: the outbox does not wait on it
                origin = Origin(team, user)
                flow.tracker.spawn(lambda o=origin: flow.home.refresh(o))  # type: ignore[misc]

    return SlackDeliverer(app.client, on_delivered=refresh_homes)
