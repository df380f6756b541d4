"""Running the Slack app: Socket Mode (no public URL) or HTTP mode (Slack posts to us).

``run_slack`` runs until cancelled; on the way out it stops taking new work and waits a
little for interactions already acknowledged, so nobody's command is cut off mid-way.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from aiohttp import web
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.app.async_app import AsyncApp

from adapters.slack import gate
from adapters.slack.app import drain, flow_of
from adapters.slack.settings import SlackSettings

log = logging.getLogger(__name__)
SHUTDOWN_GRACE_SECONDS = 10.0
# After a refused oversized request aiohttp reads and discards what the client still sends
# (so the client sees the 413, not a reset); bounded so a slow sender cannot hold on.
LINGER_SECONDS = 2.0


@dataclass
class HttpServer:
    """A started HTTP-mode server; ``port`` is the bound port (useful when asked for 0)."""

    runner: web.AppRunner
    port: int

    async def stop(self) -> None:
        await self.runner.cleanup()


def web_app(app: AsyncApp, settings: SlackSettings) -> web.Application:
    """The aiohttp application serving Slack's requests on ``settings.path``: every
    request passes the gate (size, signature, shape) before the app sees it."""
    return gate.web_app(app, settings.signing_secret, settings.path)


async def start_http(app: AsyncApp, settings: SlackSettings, *, host: str | None = None,
                     port: int | None = None) -> HttpServer:
    """Start serving HTTP mode; returns at once with the server running."""
    runner = web.AppRunner(web_app(app, settings), access_log=None, lingering_time=LINGER_SECONDS)
    await runner.setup()
    site = web.TCPSite(runner, host or settings.host, settings.port if port is None else port)
    await site.start()
    bound = runner.addresses[0][1]  # the real port when 0 ("any free port") was asked for
    log.info("Slack HTTP mode listening on %s:%s%s", host or settings.host, bound, settings.path)
    return HttpServer(runner, int(bound))


async def start_socket(app: AsyncApp, settings: SlackSettings) -> AsyncSocketModeHandler:
    """Connect to Slack over Socket Mode (``apps.connections.open`` through the app's client,
    so ``api_base_url`` applies); returns once connected."""
    gate.quiet_libraries()
    handler = AsyncSocketModeHandler(app, settings.app_token, web_client=app.client)
    # slack_bolt leaves connect_async/close_async unannotated: the one untyped edge here.
    await handler.connect_async()  # type: ignore[no-untyped-call]
    log.info("Slack Socket Mode connected")
    return handler


async def run_slack(app: AsyncApp, settings: SlackSettings) -> None:
    """Serve the app in the configured mode until cancelled."""
    flow_of(app).answer.share_session()  # deliveries too: one connection pool from the start
    if settings.mode == "socket":
        handler = await start_socket(app, settings)
        try:
            await asyncio.Event().wait()
        finally:
            await handler.close_async()  # type: ignore[no-untyped-call]
            await _finish(app)
    else:
        server = await start_http(app, settings)
        try:
            await asyncio.Event().wait()
        finally:
            await server.stop()
            await _finish(app)


async def _finish(app: AsyncApp) -> None:
    try:
        async with asyncio.timeout(SHUTDOWN_GRACE_SECONDS):
            await drain(app)
    except TimeoutError:
        log.warning("Slack: stopped with interactions still running")
    # The shared HTTP session stays open: deliveries still finishing use the same client.
    # The bot closes it once the outbox has stopped (close_slack).


async def close_slack(app: AsyncApp) -> None:
    """Close the app's shared HTTP session (after the last delivery)."""
    await flow_of(app).answer.close()
