"""What happens after a slash command, a button click or a modal submission.

Every path is the same: turn the interaction into a ``CommandRequest``, call the core's
``handle`` (the only entry point: it validates, checks moderators, rate-limits), and render
the ``Reply``. Two generic Slack touches:

- when the core's only complaint is that required options are missing (``/peer unpair``
  typed bare, an "Unpair" button that carries the match but not the reason), a modal built
  from the command's catalogue options asks for them, and its submission runs the command;
- a reply asking for a form opens it as a modal; a submission whose reply has field errors
  is answered with ``response_action: errors`` on the matching inputs.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack import blocks, grammar
from adapters.slack.answer import Answerer, Origin
from adapters.slack.home import HomeTab
from adapters.slack.identity import ActorResolver
from adapters.slack.work import SettingsCache, SlackWork, Tracker, reply_to
from core import catalogue
from core.accepted import FOLLOW_UP, command_work
from core.catalogue import Command
from core.replies import Button, FormRequest, Reply
from core.services import accepted
from core.services.context import CommandRequest, Services
from core.services.dispatch import handle
from core.services.ratelimit import RateLimiter

log = logging.getLogger(__name__)
PLATFORM = "slack"
TITLE = "PeerMatch"
SORRY = "Sorry, something went wrong on our side. Please try again in a moment."
ON_IT = "⏳ On it: I'll post the result here when it's done."
# A command answers before its ack (so an acknowledged command is a done one) unless it
# takes longer than this: then the ack goes first and the reply follows (Slack allows 3 s).
ACK_BUDGET_SECONDS = 2.0
Ack = Callable[..., Awaitable[None]]


class HomeReadLimiter(RateLimiter):
    """The budget of Home tab reads: ten times the command budget (a refresh is two reads
    and follows every command and delivery), still bounded against a runaway client."""

    def check(self, key: tuple[str, str], limit: int, now: datetime) -> datetime | None:
        return super().check(key, limit * 10, now)


def late_answer(response: Mapping[str, Any]) -> Reply:
    """What a submission's ack would have shown, as a message: the modal was closed because
    the answer took longer than Slack waits."""
    errors = dict(response.get("errors") or {})
    if errors:
        return Reply(text="Please check: " + " ".join(errors.values()) + " (submit the form "
                          "again)", ok=False)
    view = response.get("view") or {}
    texts = [str(b.get("text", {}).get("text", "")) for b in view.get("blocks", [])
             if b.get("type") == "section"]
    return Reply(text="\n".join(t for t in texts if t) or "Please open the form again.",
                 ok=False)


async def _noop(**_kwargs: Any) -> None:
    """The ack of a modal submission is its response_action, sent by the listener."""


def _once(ack: Ack) -> Ack:
    """An ack that only the first call sends (the others would be lost anyway)."""
    sent = False

    async def once(**kwargs: Any) -> None:
        nonlocal sent
        if not sent:
            sent = True
            await ack(**kwargs)

    return once


def _asks_for_missing(cmd: Command | None, args: Mapping[str, str], reply: Reply) -> bool:
    if cmd is None or reply.ok or not reply.field_errors or reply.form is not None:
        return False
    missing = {f.name for f in grammar.missing_required(cmd, args)}
    return set(reply.field_errors) <= missing


def _inline(view: Mapping[str, Any], errors: Mapping[str, str]) -> dict[str, str]:
    """Field errors for the inputs this view has, without the label the input shows."""
    labels = {b.get("block_id"): b.get("label", {}).get("text", "") for b in view.get("blocks", [])}
    out = {}
    for name, message in errors.items():
        if name in blocks.block_ids(view):
            label = labels.get(name) or ""
            out[name] = message.removeprefix(f"{label}: ") if label else message
    return out


class Flow:
    """The shared glue behind every Bolt listener of build_app."""

    def __init__(self, services: Services, client: AsyncWebClient,
                 moderator_usergroups: tuple[str, ...] = ()) -> None:
        self.services = services
        # The Home tab re-reads status after every command and delivery; those reads are the
        # bot's doing, so they are counted apart and never eat the person's command budget.
        self.home_services = replace(services, rate_limiter=HomeReadLimiter())
        self.client = client
        self.actors = ActorResolver(client, moderator_usergroups)
        self.answer = Answerer(client)
        self.home = HomeTab(client, self.read_for_home)
        self.tracker = Tracker()
        self.settings = SettingsCache(services)
        self.work = SlackWork(self.settings, self.actors, self.answer)
        # Called when accepted work waits (a durable command, an instant match after a
        # join); the bot wires its runner (bot/work.py). Alone, the app runs it itself.
        self.on_accepted: Callable[[], None] = self._run_accepted_here
        self._token = secrets.token_hex(8)

    def _run_accepted_here(self) -> None:
        async def run() -> None:
            await accepted.run_pending(self.services, self._token, {PLATFORM: self.work})

        self.tracker.spawn(run)

    async def run(self, origin: Origin, command: str, args: dict[str, str],
                  services: Services | None = None) -> Reply:
        """One command through the core, as the person behind ``origin``."""
        services = services or self.services
        settings = await self.settings.get(origin.team_id)
        actor = await self.actors.actor(origin.user_id, origin.user_name, settings.moderator_roles)
        reply = await handle(
            services, CommandRequest(PLATFORM, origin.team_id, actor, command, args)
        )
        if command == "peeradmin config" and reply.ok:
            self.settings.forget(origin.team_id)  # the next command sees the change
        if reply.data.get(FOLLOW_UP):
            self.on_accepted()
        return reply

    async def read_for_home(self, origin: Origin, command: str, args: dict[str, str]) -> Reply:
        return await self.run(origin, command, args, self.home_services)

    async def command(self, origin: Origin, command: str, args: dict[str, str], ack: Ack,
                      note: str = "") -> None:
        """A slash command or a button: acknowledged once it is done (or accepted, when
        slow); then asked for what is missing, or answered.

        Returns right after the ack (the app runs with ``process_before_response``: Bolt
        sends the HTTP answer when the listener returns, instead of polling every 10 ms for
        an ack while the listener goes on); the reply is tracked work that follows."""
        ack = _once(ack)
        if command in accepted.DURABLE_COMMANDS:
            await self._accept(origin, command, args, ack)
            return
        if command in accepted.SLOW_READS:
            await ack()  # changes nothing: nothing to lose if the process dies now
        running = asyncio.ensure_future(self.run(origin, command, args))
        done, _ = await asyncio.wait([running], timeout=ACK_BUDGET_SECONDS)
        await ack()  # no-op when acknowledged above
        self.tracker.spawn(lambda: self._answer(origin, command, args, note, running, bool(done)))

    async def _answer(self, origin: Origin, command: str, args: dict[str, str], note: str,
                      running: asyncio.Future[Reply], before_ack: bool) -> None:
        """After the ack: the reply (or the modal asking for what is missing), then the
        person's Home tab."""
        try:
            reply = await running
            cmd = catalogue.command(command)
            if _asks_for_missing(cmd, args, reply):
                assert cmd is not None
                await self._ask(origin, cmd, args)
                return
            await self.show(origin, reply, command, args, note)
            self.tracker.spawn(lambda: self.home.refresh(origin))
        except Exception:
            log.exception("Slack command %s failed%s", command,
                          "" if before_ack else " (after ack)")
            await self.answer.post(origin, Reply(text=SORRY, ok=False))

    async def _accept(self, origin: Origin, command: str, args: dict[str, str], ack: Ack) -> None:
        """Store a slow command before acknowledging it; the runner does it from there."""
        try:
            await accepted.accept(self.services, command_work(
                PLATFORM, origin.team_id, command, args, {}, reply_to(origin),
                self.services.clock.now()))
        except Exception:
            log.exception("could not accept Slack command %s", command)
            await ack(text=SORRY)
            return
        await ack(text=ON_IT)
        self.on_accepted()

    async def show(self, origin: Origin, reply: Reply, command: str, args: dict[str, str],
                   note: str = "") -> None:
        """Open the reply's form, or post the reply."""
        if reply.form is None:
            await self.answer.post(origin, reply, note)
            return
        view = await self.form_view(origin, reply.form, reply.text)
        if not await self.answer.open_modal(origin, view):
            # The trigger expired (3 s) or Slack refused: a button gives a fresh trigger.
            retry = Button("Open the form", command, dict(args), style="primary")
            await self.answer.post(origin, Reply(text=reply.text, buttons=(retry,)), note)

    def _meta(self, origin: Origin, command: str, context: Mapping[str, str]) -> dict[str, Any]:
        return {
            "c": command,
            "x": dict(context),
            "ru": origin.response_url,
            "ch": origin.channel_id,
        }

    async def form_view(self, origin: Origin, form: FormRequest, intro: str) -> dict[str, Any]:
        spec = catalogue.FORMS[form.form]
        settings = await self.settings.get(origin.team_id)
        return blocks.modal(blocks.FORM_CALLBACK + spec.name, spec.title, spec.fields, form.values,
                            settings, self._meta(origin, form.submit_command, form.context), intro)

    async def command_view(
        self, origin: Origin, cmd: Command, args: Mapping[str, str]
    ) -> dict[str, Any]:
        fields = tuple(o for o in cmd.options if o.name not in args)
        settings = await self.settings.get(origin.team_id)
        title = ("Admin: " if cmd.moderator else "") + cmd.name.replace("-", " ").capitalize()
        return blocks.modal(blocks.COMMAND_CALLBACK + blocks.dotted(cmd.key), title, fields, {},
                            settings, self._meta(origin, cmd.key, args), cmd.description)

    async def _ask(self, origin: Origin, cmd: Command, args: dict[str, str]) -> None:
        view = await self.command_view(origin, cmd, args)
        if not await self.answer.open_modal(origin, view):
            retry = Button("Fill in the details", cmd.key, dict(args), style="primary")
            await self.answer.post(origin, Reply(text=f"`{grammar.usage(cmd)}`: {cmd.description}",
                                                 buttons=(retry,)))

    async def submit(
        self, origin: Origin, view: Mapping[str, Any]
    ) -> tuple[dict[str, Any], Reply | None, Origin]:
        """A modal submission: (what to ack with, the reply to show after, where to)."""
        meta = blocks.unpack_meta(view.get("private_metadata"))
        origin = Origin(
            origin.team_id,
            origin.user_id,
            origin.user_name,
            channel_id=str(meta.get("ch") or ""),
            response_url=str(meta.get("ru") or ""),
            trigger_id=origin.trigger_id,
        )
        command = str(meta.get("c") or "")
        args = {**{str(k): str(v) for k, v in dict(meta.get("x") or {}).items()},
                **blocks.read_values(view)}
        if command in accepted.DURABLE_COMMANDS:
            notice = {"response_action": "update", "view": blocks.notice_modal(TITLE, ON_IT)}
            await self._accept(origin, command, args, _noop)
            return notice, None, origin
        try:
            reply = await self.run(origin, command, args)
        except Exception:
            log.exception("Slack submission of %s failed", command)
            return (
                {"response_action": "update", "view": blocks.notice_modal(TITLE, SORRY)},
                None,
                origin,
            )
        if reply.form is not None:
            new_view = await self.form_view(origin, reply.form, reply.text)
            return {"response_action": "update", "view": new_view}, None, origin
        inline = _inline(view, reply.field_errors)
        if inline:
            return {"response_action": "errors", "errors": inline}, None, origin
        if not reply.ok:
            return (
                {"response_action": "update", "view": blocks.notice_modal(TITLE, reply.text)},
                None,
                origin,
            )
        return {}, reply, origin

    async def submission(self, origin: Origin, view: Mapping[str, Any], ack: Ack) -> None:
        """A modal submission: its ack is its answer, unless the core takes longer than
        ``ACK_BUDGET_SECONDS``; then the modal is closed and the answer sent as a message.
        Like ``command``, it returns once acknowledged; the message follows as tracked work."""
        running = asyncio.ensure_future(self.submit(origin, view))
        done, _ = await asyncio.wait([running], timeout=ACK_BUDGET_SECONDS)
        if not done:
            await ack()

            async def late() -> None:
                try:
                    response, reply, where = await running
                except Exception:  # nobody else awaits it now: say so in the log
                    log.exception("Slack submission failed (after ack)")
                    return
                await self.after_submit(where, reply or late_answer(response))

            self.tracker.spawn(late)
            return
        response, reply, where = running.result()
        await ack(**response)
        if reply is not None:
            self.tracker.spawn(lambda: self.after_submit(where, reply))

    async def after_submit(self, origin: Origin, reply: Reply) -> None:
        try:
            await self.answer.post(origin.without_trigger(), reply)
            self.tracker.spawn(lambda: self.home.refresh(origin))
        except Exception:
            log.exception("answering a Slack submission failed")
