"""The discord.py client: turns interactions into core requests and shows the replies.

Slash commands come through the command tree generated from the catalogue; buttons and
modal submits are routed here by custom id (``pm:`` command buttons, ``pmf:`` forms), so
they keep working after a restart. Every rule is the core's: this module only builds a
``CommandRequest`` (who, where, which command, raw args) and renders the ``Reply``. A slow
command (``DURABLE_COMMANDS``) is stored as accepted work before Discord hears anything,
then deferred, and run from the store (work.py), so a crash after the deferral loses nothing.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

import discord
import yarl
from discord import app_commands
from discord.gateway import DiscordWebSocket

from adapters.discord import forms, shape
from adapters.discord.commands import build_groups
from adapters.discord.deliver import DiscordDeliverer
from adapters.discord.render import make_view, parse_button_id
from adapters.discord.respond import ACK_BUDGET, answer, apologise, show
from adapters.discord.settings import DiscordSettings
from adapters.discord.work import DiscordWork, actor_of, reply_to, who
from core import catalogue
from core.accepted import command_work
from core.ports import Deliverer
from core.replies import Reply
from core.services import accepted
from core.services.context import Actor, CommandRequest, Services
from core.services.dispatch import handle
from core.services.lookup import community_settings
from core.settings import CommunitySettings

log = logging.getLogger(__name__)

PLATFORM = "discord"
SETTINGS_TTL = 30.0  # seconds community settings are cached for autocomplete and forms
EXPIRED = "This form has expired (or I restarted). Please run the command again."
UNKNOWN = "I don't know this button or form any more. Please run the command again."
UNREADABLE = "Sorry, I couldn't read that request. Please run the command again."
_DISCORD_GATEWAY = DiscordWebSocket.DEFAULT_GATEWAY


def point_at(settings: DiscordSettings) -> None:
    """Send REST calls to ``api_base_url`` and connect to ``gateway_url`` (when set).

    Both are process-wide in discord.py (``Route.BASE``, ``DEFAULT_GATEWAY``).
    """
    discord.http.Route.BASE = settings.api_base_url.rstrip("/")
    DiscordWebSocket.DEFAULT_GATEWAY = (yarl.URL(settings.gateway_url) if settings.gateway_url
                                        else _DISCORD_GATEWAY)


def actor_for(interaction: discord.Interaction) -> Actor:
    """Who is asking, as the interaction says (work.actor_of)."""
    return actor_of(interaction.user, interaction.permissions.administrator)


class PeerMatchDiscord(discord.Client):
    """PeerMatch on Discord. Build with ``create_client`` (it picks sharding)."""

    ack_budget: float = ACK_BUDGET

    def __init__(self, services: Services, settings: DiscordSettings, **options: Any) -> None:
        point_at(settings)
        intents = discord.Intents.none()
        intents.guilds = True  # roles and channels; no privileged intent is needed
        # Nothing pings by default: a reply allows exactly the members it mentions on
        # purpose (render.Rendered.allowed_mentions), so text from learners pings no one.
        mentions = discord.AllowedMentions.none()
        # Longer rate-limit waits than 30 s raise RateLimited instead of blocking: the
        # outbox dispatcher then retries the row after Discord's retry_after.
        super().__init__(intents=intents, max_ratelimit_timeout=30.0, allowed_mentions=mentions,
                         **options)
        self.services = services
        self.settings = settings
        self.tree = GuardedTree(self)
        self.tree.error(self._on_tree_error)
        self._refusals: set[asyncio.Task[None]] = set()
        self._guard_interactions()
        self.forms = forms.FormBook()
        self._settings_cache: dict[str, tuple[float, CommunitySettings]] = {}
        # Accepted work (adapters/discord/work.py): run by the bot's runner once it is
        # wired (bot/runner.py sets ``on_accepted``); alone, the client runs it itself.
        self.work = DiscordWork(self, services)
        self.on_accepted: Callable[[], None] = self._run_accepted_here
        self._work_token = secrets.token_hex(8)
        self._working: set[asyncio.Task[int]] = set()
        if settings.gateway_url:
            self._use_gateway(settings.gateway_url)

    def _use_gateway(self, url: str) -> None:
        """Auto-sharding asks REST for the gateway URL: answer with the configured one."""
        ask = self.http.get_bot_gateway

        async def get_bot_gateway() -> Any:
            shards, _, limits = await ask()
            return shards, url, limits

        self.http.get_bot_gateway = get_bot_gateway  # type: ignore[method-assign]

    # ---- the gateway's door ------------------------------------------------------------
    def _guard_interactions(self) -> None:
        """Check every INTERACTION_CREATE before discord.py reads it: a malformed one is
        answered politely (when it carries an id and token) and goes no further."""
        parsers = self._connection.parsers
        original = parsers["INTERACTION_CREATE"]

        def guarded(payload: Any) -> None:
            found = shape.problem(payload)
            if found is None:
                try:
                    original(payload)
                    return
                except Exception as exc:  # discord.py could not read it after all
                    found = f"unreadable ({type(exc).__name__})"
            log.warning("ignored a malformed interaction: %s", found)
            self._refuse(payload)

        parsers["INTERACTION_CREATE"] = guarded

    def _refuse(self, payload: Any) -> None:
        ids = shape.answerable(payload)
        kind = payload.get("type") if ids is not None else None
        if ids is None or kind not in shape.KNOWN_TYPES:
            return  # nothing to answer to, or no answer we know the type of
        body: dict[str, Any] = ({"type": 8, "data": {"choices": []}} if kind == 4 else
                                {"type": 4, "data": {"content": UNREADABLE, "flags": 64,
                                                     "allowed_mentions": {"parse": []}}})
        route = discord.http.Route("POST", "/interactions/{interaction_id}/{interaction_token}"
                                   "/callback", interaction_id=ids[0], interaction_token=ids[1])

        async def send() -> None:
            try:
                await self.http.request(route, json=body)
            except (discord.HTTPException, OSError) as exc:
                log.warning("could not answer a malformed interaction (%s)", type(exc).__name__)

        task = asyncio.get_running_loop().create_task(send())
        self._refusals.add(task)
        task.add_done_callback(self._refusals.discard)

    # ---- start-up ---------------------------------------------------------------------
    async def on_ready(self) -> None:
        self.work.ready.set()  # accepted work waiting for the gateway goes on

    async def setup_hook(self) -> None:
        guilds = [discord.Object(int(g)) for g in self.settings.guild_ids]
        for group in build_groups(self.run_command, self.settings_for):
            if guilds:
                self.tree.add_command(group, guilds=guilds)
            else:
                self.tree.add_command(group)
        if self.settings.sync_commands:
            await self.sync_commands()

    async def sync_commands(self) -> None:
        """Register the commands: in the configured guilds (instant) or globally."""
        try:
            if self.settings.guild_ids:
                for guild_id in self.settings.guild_ids:
                    await self.tree.sync(guild=discord.Object(int(guild_id)))
            else:
                await self.tree.sync()
        except discord.HTTPException:
            log.exception("could not register the slash commands with Discord")

    # ---- the core ----------------------------------------------------------------------
    async def settings_for(self, guild_id: str) -> CommunitySettings:
        """The community's settings (for choices), cached briefly: autocomplete is chatty."""
        cached = self._settings_cache.get(guild_id)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        value = await community_settings(self.services, PLATFORM, guild_id)
        self._settings_cache[guild_id] = (time.monotonic() + SETTINGS_TTL, value)
        return value

    def request(self, interaction: discord.Interaction, guild_id: str, key: str,
                args: dict[str, str]) -> CommandRequest:
        guild = self.get_guild(int(guild_id)) if guild_id.isdigit() else None
        return CommandRequest(PLATFORM, guild_id, actor_for(interaction), key, dict(args),
                              community_name=guild.name if guild else "")

    async def run_command(self, interaction: discord.Interaction, key: str, args: dict[str, str],
                          guild_id: str = "") -> None:
        """Run a catalogue command for an interaction and show the reply (or its form)."""
        guild_id = guild_id or str(interaction.guild_id or "")
        if not guild_id:
            await apologise(interaction, "Please use PeerMatch from your community's server.")
            return

        async def present(i: discord.Interaction, reply: Reply) -> None:
            await self._present(i, reply, guild_id)

        await self._run(interaction, self.request(interaction, guild_id, key, args), present)

    async def _run(self, interaction: discord.Interaction, request: CommandRequest,
                   present: Callable[[discord.Interaction, Reply], Awaitable[None]]) -> None:
        """The one way a command reaches the core: a slow one is accepted (stored) before
        Discord hears anything; every other one answers within its 3 s or its deferral."""
        if request.command in accepted.DURABLE_COMMANDS:
            await self._accept(interaction, request)
            return
        await answer(interaction, handle(self.services, request), present,
                     budget=self.ack_budget)

    async def _accept(self, interaction: discord.Interaction, request: CommandRequest) -> None:
        """Store a slow command, then defer; the runner does it and replies (work.py)."""
        try:
            await accepted.accept(self.services, command_work(
                PLATFORM, request.community_external_id, request.command, request.args,
                who(request.actor), reply_to(interaction), self.services.clock.now()))
        except Exception:  # not stored: say so now, while the interaction can be answered
            log.exception("could not accept Discord command %s", request.command)
            await apologise(interaction)
            return
        try:
            await interaction.response.defer(ephemeral=True, thinking=True)
        except discord.HTTPException:  # stored anyway: the reply comes by follow-up or DM
            log.warning("could not defer an accepted command in time", exc_info=True)
        self.on_accepted()

    def _run_accepted_here(self) -> None:
        task = asyncio.ensure_future(accepted.run_pending(self.services, self._work_token,
                                                          {PLATFORM: self.work}))
        self._working.add(task)  # the loop holds tasks only weakly
        task.add_done_callback(self._working.discard)

    async def _present(self, interaction: discord.Interaction, reply: Reply, guild_id: str,
                       draft: forms.Draft | None = None) -> None:
        """Show a reply: open its form if it asks for one, offer a fix if a form was wrong."""
        uid = str(interaction.user.id)
        extra: list[discord.ui.Item[Any]] = []
        if draft is not None:
            if reply.field_errors and forms.keep_errors(draft, reply.field_errors):
                extra.append(forms.open_button(guild_id, draft.form.name, "Fix my answers"))
            else:
                self.forms.drop(guild_id, uid, draft.form.name)
        if reply.form is not None:
            form = forms.catalogue_form(reply.form.form)
            if form is None:
                log.error("the core asked for an unknown form %r", reply.form.form)
            else:
                new = self.forms.start(guild_id, uid, form, reply.form.values,
                                       reply.form.submit_command, reply.form.context,
                                       await self.settings_for(guild_id))
                # A modal can only be a first response, and never the answer to a modal.
                from_modal = interaction.type is discord.InteractionType.modal_submit
                if not interaction.response.is_done() and not from_modal:
                    await interaction.response.send_modal(forms.modal(new, guild_id))
                    return
                extra.append(forms.open_button(guild_id, form.name, "Open the form"))
        await show(interaction, reply, guild_id, extra)

    # ---- buttons and modals ------------------------------------------------------------
    async def on_interaction(self, interaction: discord.Interaction) -> None:
        data: dict[str, Any] = dict(interaction.data or {})
        custom_id = str(data.get("custom_id", ""))
        try:
            if interaction.type is discord.InteractionType.component:
                if custom_id.startswith("pm:"):
                    await self._on_button(interaction, custom_id)
                elif custom_id.startswith("pmf:"):
                    await self._on_form_button(interaction, custom_id)
                else:
                    await apologise(interaction, UNKNOWN)
            elif interaction.type is discord.InteractionType.modal_submit:
                if custom_id.startswith("pmf:"):
                    await self._on_form_submit(interaction, custom_id, data.get("components", []))
                else:
                    await apologise(interaction, UNKNOWN)
        except Exception:
            log.exception("interaction %s failed", custom_id)
            await apologise(interaction)

    async def _on_button(self, interaction: discord.Interaction, custom_id: str) -> None:
        """A core button: run its command, or first ask for the options it lacks."""
        parsed = parse_button_id(custom_id)
        if parsed is None:
            await apologise(interaction, "This button has expired. Please run the command again.")
            return
        guild_id = str(interaction.guild_id or parsed[0])
        key, args = parsed[1], parsed[2]
        cmd = catalogue.command(key)
        form = forms.command_form(cmd, args) if cmd is not None and guild_id else None
        if form is not None:
            draft = self.forms.start(guild_id, str(interaction.user.id), form, {}, key, args,
                                     await self.settings_for(guild_id))
            await interaction.response.send_modal(forms.modal(draft, guild_id))
            return
        await self.run_command(interaction, key, args, guild_id)

    async def _on_form_button(self, interaction: discord.Interaction, custom_id: str) -> None:
        """'Next', 'Fix my answers', 'Open the form': open the draft's next page."""
        parsed = forms.parse_id(custom_id)
        guild_id = str(interaction.guild_id or (parsed[1] if parsed else ""))
        draft = self.forms.get(guild_id, str(interaction.user.id), parsed[3]) if parsed else None
        if draft is None or not draft.todo:
            await apologise(interaction, EXPIRED)
            return
        await interaction.response.send_modal(forms.modal(draft, guild_id))

    async def _on_form_submit(self, interaction: discord.Interaction, custom_id: str,
                              components: list[dict[str, Any]]) -> None:
        """A page of a form: keep it; on the last page, send everything to the core."""
        parsed = forms.parse_id(custom_id)
        guild_id = str(interaction.guild_id or (parsed[1] if parsed else ""))
        uid = str(interaction.user.id)
        draft = self.forms.get(guild_id, uid, parsed[3]) if parsed else None
        if parsed is None or draft is None:
            await apologise(interaction, EXPIRED)
            return
        forms.absorb(draft, parsed[2], forms.read_submission(components))
        if draft.todo:
            more = len(draft.todo)
            view = make_view((), guild_id, [forms.open_button(guild_id, draft.form.name, "Next")])
            assert view is not None  # it holds the Next button
            await interaction.response.send_message(
                f"Saved. Press **Next** to continue ({more} more page{'s' if more > 1 else ''}).",
                view=view, ephemeral=True,
                allowed_mentions=discord.AllowedMentions.none())
            return
        request = self.request(
            interaction, guild_id, draft.submit_command, forms.submit_args(draft)
        )

        async def present(i: discord.Interaction, reply: Reply) -> None:
            await self._present(i, reply, guild_id, draft)

        await self._run(interaction, request, present)

    async def _on_tree_error(self, interaction: discord.Interaction,
                             error: app_commands.AppCommandError) -> None:
        if isinstance(error, app_commands.CommandInvokeError):  # our code failed: keep the trace
            log.error("slash command failed: %s", error, exc_info=error)
            await apologise(interaction)
            return
        # The request itself was wrong (an unknown command, an option discord.py could not
        # convert, a failed check): one line, and a polite answer.
        log.warning("slash command refused: %s", type(error).__name__)
        await apologise(interaction, UNREADABLE)


class GuardedTree(app_commands.CommandTree):
    """The command tree, with a last guard: discord.py runs a command in a task that only
    catches ``AppCommandError``; anything else (options it could not read) would end as a
    "Task exception was never retrieved" traceback and an unanswered interaction."""

    async def _call(self, interaction: discord.Interaction) -> None:
        try:
            await super()._call(interaction)
        except app_commands.AppCommandError:
            raise
        except Exception as exc:
            log.warning("could not run an app command interaction (%s)", type(exc).__name__)
            if interaction.type is discord.InteractionType.autocomplete:
                if not interaction.response.is_done():
                    try:
                        await interaction.response.autocomplete([])
                    except discord.HTTPException:
                        log.warning("could not answer an autocomplete")
            else:
                await apologise(interaction, UNREADABLE)


class PeerMatchShardedDiscord(PeerMatchDiscord, discord.AutoShardedClient):
    """The same client over several gateway shards (big bots); Discord picks the count
    unless ``shard_count`` is set."""


def create_client(
    services: Services, settings: DiscordSettings, **options: Any
) -> PeerMatchDiscord:
    """The client for these settings: one connection if ``shard_count`` is 1 (or 0), else
    sharded (``options`` go to discord.py, e.g. ``guild_ready_timeout``)."""
    if settings.shard_count is not None and settings.shard_count <= 1:
        return PeerMatchDiscord(services, settings, **options)
    return PeerMatchShardedDiscord(services, settings, shard_count=settings.shard_count, **options)


async def run_discord(services: Services, settings: DiscordSettings,
                      deliverers: dict[str, Deliverer] | None = None,
                      wire: Callable[[PeerMatchDiscord], None] | None = None) -> None:
    """Connect, sync the commands and serve until cancelled or closed.

    ``deliverers`` (the registry the outbox dispatcher uses) gets ``"discord"`` added;
    ``wire`` is called with the client before it connects (the bot hands its accepted
    work to its runner there).
    """
    client = create_client(services, settings)
    if deliverers is not None:
        deliverers[PLATFORM] = DiscordDeliverer(client)
    if wire is not None:
        wire(client)
    async with client:
        await client.start(settings.token)
