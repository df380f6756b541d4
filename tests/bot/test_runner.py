"""`peermatch run`: platforms are built from the config, and the bot works on its own."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import pytest

from adapters.sql.migrate import upgrade
from bot.app import build_app
from bot.config import ConfigError, load_config
from bot.runner import platform_tasks, run_bot
from core.charts import WARM_UP
from core.messages import DirectMessage
from core.model import Community, OutboxMessage, OutboxState


def _config(tmp_path: Path, **env: str):
    return load_config(env={"PEERMATCH_CONFIG": str(tmp_path / "none.toml"), **env}, dotenv=False)


def test_an_enabled_platform_without_its_token_stops_start_up(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'pm.db'}"
    upgrade(url)
    for env, key in (
        ({"PEERMATCH_BOT_PLATFORMS": "discord"}, "DISCORD_TOKEN"),
        ({"PEERMATCH_BOT_PLATFORMS": "slack", "SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_APP_TOKEN"),
        (
            {
                "PEERMATCH_BOT_PLATFORMS": "slack",
                "PEERMATCH_SLACK_MODE": "http",
                "SLACK_BOT_TOKEN": "xoxb-1",
            },
            "SLACK_SIGNING_SECRET",
        ),
    ):
        app = build_app(_config(tmp_path, **env), database_url=url)
        with pytest.raises(ConfigError, match=key):
            platform_tasks(app, {})


async def test_slack_http_mode_is_built_with_its_deliverer(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'pm.db'}"
    upgrade(url)
    app = build_app(
        _config(
            tmp_path,
            PEERMATCH_BOT_PLATFORMS="slack",
            PEERMATCH_SLACK_MODE="http",
            SLACK_BOT_TOKEN="xoxb-1",
            SLACK_SIGNING_SECRET="s3cret",
        ),
        database_url=url,
    )
    deliverers: dict = {}
    tasks = platform_tasks(app, deliverers)
    assert set(deliverers) == {"slack"} and len(tasks) == 1
    for task in tasks:
        task.close()  # built, not started: no network here
    await app.close()


async def test_run_delivers_due_messages_on_its_own(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'pm.db'}"
    upgrade(url)
    app = build_app(
        _config(tmp_path, PEERMATCH_BOT_DISPATCH_INTERVAL_SECONDS="0.2"), database_url=url
    )
    now = app.services.clock.now()
    async with app.services.uow_factory() as uow:
        community = await uow.communities.add(Community("console", "default", "default"))
        soon = DirectMessage("ana", "Your session starts soon", "t:1")
        row = await uow.outbox.add(OutboxMessage(soon, community.id, now))
        await uow.commit()
    drawn: list[tuple[dict[str, Any], int]] = []

    def render(stats: dict[str, Any]) -> bytes:
        drawn.append((stats, threading.get_ident()))
        return b""

    app.services.render_chart = render
    runner = asyncio.create_task(run_bot(app))
    try:
        for _ in range(100):
            await asyncio.sleep(0.1)
            async with app.services.uow_factory() as uow:
                [stored] = [m for m in await uow.outbox.list() if m.id == row.id]
            if stored.state is OutboxState.SENT:
                break
        assert stored.state is OutboxState.SENT
        assert "Your session starts soon" in capsys.readouterr().out
        # The chart was drawn once at start-up (matplotlib warmed), off the event loop.
        assert [stats for stats, _ in drawn] == [WARM_UP]
        assert drawn[0][1] != threading.get_ident()
    finally:
        runner.cancel()
        with pytest.raises(asyncio.CancelledError):
            await runner
        await app.close()
