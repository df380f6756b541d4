"""`peermatch run`: the enabled platforms, the scheduler and the outbox, in one process."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any

from bot.app import App
from bot.config import Config, ConfigError, instance_id
from bot.work import WorkRunner
from core.charts import WARM_UP
from core.ports import Deliverer

if TYPE_CHECKING:  # the adapters are imported only when their platform is enabled
    from adapters.discord.settings import DiscordSettings
    from adapters.slack.settings import SlackSettings

log = logging.getLogger(__name__)
CONSOLE_COMMUNITY = "default"


def discord_settings(cfg: Config) -> DiscordSettings:
    """The Discord adapter's settings from config + environment (ConfigError if unusable)."""
    from adapters.discord.settings import DiscordSettings

    token = cfg.secrets.get("DISCORD_TOKEN", "")
    if not token:
        raise ConfigError("DISCORD_TOKEN", "is required when bot.platforms includes discord "
                          "(put it in the environment or .env)")
    shards = None if cfg.discord.auto_shard else (cfg.discord.shard_count or 1)
    return DiscordSettings(token=token, api_base_url=cfg.discord.api_base_url,
                           gateway_url=cfg.discord.gateway_url, shard_count=shards,
                           guild_ids=cfg.discord.guild_ids, sync_commands=cfg.discord.sync_commands)


def slack_settings(cfg: Config) -> SlackSettings:
    """The Slack adapter's settings from config + environment (ConfigError if unusable)."""
    from adapters.slack.settings import SlackSettings

    try:
        return SlackSettings(bot_token=cfg.secrets.get("SLACK_BOT_TOKEN", ""),
                             app_token=cfg.secrets.get("SLACK_APP_TOKEN", ""),
                             signing_secret=cfg.secrets.get("SLACK_SIGNING_SECRET", ""),
                             mode=cfg.slack.mode, port=cfg.slack.port, path=cfg.slack.path,
                             api_base_url=cfg.slack.api_base_url,
                             moderator_usergroups=cfg.slack.moderator_usergroups)
    except ValueError as exc:
        raise ConfigError("slack", str(exc)) from None


def platform_tasks(app: App, deliverers: dict[str, Deliverer],
                   work: WorkRunner | None = None,
                   closers: list[Callable[[], Awaitable[None]]] | None = None,
                   ) -> list[Coroutine[Any, Any, Any]]:
    """Build every enabled platform (failing early on bad settings) and return what to run.
    With ``work``, the platforms' accepted commands are run (and answered) by that runner;
    ``closers`` gets what to close once deliveries have stopped too."""
    cfg, services = app.config, app.services
    tasks: list[Coroutine[Any, Any, Any]] = []
    if "slack" in cfg.bot.platforms:
        from adapters.slack.app import build_app, deliverer_for, flow_of
        from adapters.slack.runner import close_slack, run_slack

        settings = slack_settings(cfg)
        slack_app = build_app(services, settings)
        deliverers["slack"] = deliverer_for(slack_app)
        if work is not None:
            flow = flow_of(slack_app)
            work.serve("slack", flow.work)
            flow.on_accepted = work.kick
        tasks.append(run_slack(slack_app, settings))
        if closers is not None:
            closers.append(lambda: close_slack(slack_app))
    if "discord" in cfg.bot.platforms:
        from adapters.discord.client import PeerMatchDiscord, run_discord

        def wire(client: PeerMatchDiscord) -> None:
            if work is not None:  # the runner runs (and answers) Discord's accepted work
                work.serve("discord", client.work)
                client.on_accepted = work.kick
                work.kick()  # rows a crashed process left: the runner may have looked already

        tasks.append(run_discord(services, discord_settings(cfg), deliverers, wire))
    if "console" in cfg.bot.platforms:
        from adapters.console.repl import PLATFORM, Console

        console = Console(services, CONSOLE_COMMUNITY, sys.stdin, sys.stdout)
        deliverers[PLATFORM] = console.deliverer
        if sys.stdin.isatty():
            tasks.append(console.repl())
    return tasks


def _on_stop_signals(stop: asyncio.Event) -> list[signal.Signals]:
    """SIGTERM (systemctl/docker stop) and SIGINT (Ctrl-C) ask for a graceful stop."""
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):  # not the main thread, or no signals
            continue
        installed.append(sig)
    return installed


async def run_bot(app: App) -> None:
    """Serve until a platform stops (the console's `quit`), SIGTERM/SIGINT arrive, or the
    task is cancelled. A signal stops gracefully: platforms stop taking interactions first,
    running deliveries get ``bot.shutdown_timeout_seconds`` to finish, then the caller
    closes the database; the process exits 0."""
    from bot.scheduler import PeerScheduler

    deliverers: dict[str, Deliverer] = {}
    work = WorkRunner(app.services, instance_id(app.config))
    closers: list[Callable[[], Awaitable[None]]] = []
    tasks = [asyncio.ensure_future(t) for t in platform_tasks(app, deliverers, work, closers)]
    scheduler = PeerScheduler(app.services, deliverers, dispatch=app.config.dispatch,
                              tick_seconds=app.config.bot.dispatch_interval_seconds,
                              instance_id=instance_id(app.config))
    stop = asyncio.Event()
    signals = _on_stop_signals(stop)
    await scheduler.start()
    work.start()  # what a crashed process accepted runs now
    # matplotlib imported and its fonts loaded in a thread now, not by the first stats.
    warming = asyncio.ensure_future(asyncio.to_thread(app.services.render_chart, WARM_UP))
    log.info("PeerMatch running on %s; jobs: %s", ", ".join(app.config.bot.platforms),
             ", ".join(scheduler.jobs()))
    stopper = asyncio.ensure_future(stop.wait())
    bound = app.config.bot.shutdown_timeout_seconds
    try:
        done, _ = await asyncio.wait([*tasks, stopper], return_when=asyncio.FIRST_COMPLETED)
        if stopper in done:
            log.info("stop requested: no new interactions; finishing running work (%.0f s)",
                     bound)
        for task in done - {stopper}:
            task.result()  # a platform that crashed stops the bot loudly
    finally:
        stopper.cancel()
        warming.cancel()  # a thread already running finishes by itself
        for task in tasks:  # stop taking interactions before the outbox winds down
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=bound)
        worked, delivered = await asyncio.gather(work.stop(bound), scheduler.stop(bound))
        finished = worked and delivered
        for close in closers:
            await close()
        loop = asyncio.get_running_loop()
        for sig in signals:
            loop.remove_signal_handler(sig)
        log.info("PeerMatch stopped%s", "" if finished else
                 " (work still running at the bound was cancelled; it resumes on restart)")
