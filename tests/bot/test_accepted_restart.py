"""A `/peeradmin match-now` acknowledged by a real `peermatch run` process that is then
killed (SIGKILL) before the round is done runs once after the restart (issue 10.4): the
command was stored before the ack, and its round is kept only with the row marked done."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from adapters.sql.migrate import upgrade
from adapters.sql.uow import SqlStorage
from core.accepted import WorkState
from core.services.context import Actor, CommandRequest, Services
from core.services.dispatch import handle
from tests.adapters.slack.driver import signed_headers
from tests.adapters.slack.fake_slack import FakeSlack
from tests.bot.test_graceful_stop import _exit_code, _free_port, _until
from tests.fakes import FakeClock
from tests.helpers import JOIN

SECRET = "s3cret"


async def _seed(url: str) -> None:
    storage = SqlStorage(url)
    try:
        services = Services(storage.uow_factory, FakeClock())
        for user in ("U1", "U2"):
            reply = await handle(services, CommandRequest(
                "slack", "T1", Actor(user, user), "peer join", {"mode": "study-buddy", **JOIN}))
            assert reply.ok, reply.text
    finally:
        await storage.dispose()


async def _state(url: str) -> tuple[list[Any], int, int]:
    storage = SqlStorage(url)
    try:
        async with storage.uow_factory() as uow:
            community = await uow.communities.by_external("slack", "T1")
            rounds = await uow.rounds.list(community.id)
            matches = await uow.matches.list(community.id)
            return await uow.accepted.list(), len(rounds), len(matches)
    finally:
        await storage.dispose()


def _start(url: str, fake: FakeSlack, tmp: Path, port: int, log: Path) -> Any:
    import os
    import subprocess
    import sys

    from tests.bot.test_graceful_stop import ROOT

    env = {**os.environ, "PYTHONPATH": str(ROOT), "PEERMATCH_CONFIG": str(tmp / "none.toml"),
           "PEERMATCH_DATABASE_URL": url, "PEERMATCH_BOT_PLATFORMS": "slack",
           "PEERMATCH_SLACK_MODE": "http", "PEERMATCH_SLACK_PORT": str(port),
           "PEERMATCH_SLACK_API_BASE_URL": fake.api_url, "SLACK_BOT_TOKEN": "xoxb-test-token",
           "SLACK_SIGNING_SECRET": SECRET, "PEERMATCH_BOT_DISPATCH_INTERVAL_SECONDS": "0.2",
           "PEERMATCH_BOT_SHUTDOWN_TIMEOUT_SECONDS": "4"}
    return subprocess.Popen([sys.executable, "-m", "bot.cli", "run"], cwd=tmp, env=env,
                            stdout=log.open("wb"), stderr=subprocess.STDOUT)


async def _slash(port: int, fake: FakeSlack, text: str, key: str) -> tuple[int, str]:
    from urllib.parse import urlencode

    body = urlencode({"team_id": "T1", "user_id": "UADMIN", "user_name": "admin",
                      "command": "/peer", "text": text, "channel_id": "C0GENERAL",
                      "response_url": fake.response_url(key), "trigger_id": "t1"})
    url = f"http://127.0.0.1:{port}/slack/events"
    for _ in range(200):  # the process is starting
        try:
            async with aiohttp.ClientSession() as http, http.post(
                    url, data=body.encode(),
                    headers=signed_headers(body, "application/x-www-form-urlencoded",
                                           secret=SECRET)) as resp:
                return resp.status, await resp.text()
        except aiohttp.ClientConnectionError:
            await asyncio.sleep(0.1)
    raise AssertionError("the bot never listened")


@pytest.fixture
async def fake() -> FakeSlack:
    slack = FakeSlack()
    for user in ("U1", "U2"):
        slack.add_user(user, user, tz="Europe/London")
    slack.add_user("UADMIN", "Admin", tz="UTC", admin=True)
    await slack.start()
    yield slack  # type: ignore[misc]
    await slack.stop()


async def test_match_now_killed_after_its_ack_runs_once_after_restart(
        tmp_path: Path, fake: FakeSlack) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'pm.db'}"
    upgrade(url)
    await _seed(url)
    fake.slow("users.info", 30)  # the runner is resolving the moderator when killed
    port = _free_port()
    proc = _start(url, fake, tmp_path, port, tmp_path / "first.log")
    try:
        status, shown = await _slash(port, fake, "admin match-now", "mn")
        assert status == 200 and "On it" in shown  # acknowledged
        await _until(lambda: fake.calls_to("users.info"), 30)
        proc.send_signal(signal.SIGKILL)
        assert await _exit_code(proc, 10) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
    [row], rounds, matches = await _state(url)
    assert (row.state, rounds, matches) == (WorkState.PENDING, 0, 0)  # not done, not lost

    fake.slow("users.info", 0)
    again = _start(url, fake, tmp_path, _free_port(), tmp_path / "again.log")
    try:
        await _until(lambda: [r for r in fake.responses if r["key"] == "mn"], 40)
        await asyncio.sleep(1.0)  # room for a wrong second run to show
        again.send_signal(signal.SIGTERM)
        assert await _exit_code(again, 15) == 0, (tmp_path / "again.log").read_text()
    finally:
        if again.poll() is None:
            again.kill()
    [summary] = [r["text"] for r in fake.responses if r["key"] == "mn"]
    assert "Round done" in summary and "1 match," in summary
    [row], rounds, matches = await _state(url)
    assert (row.state, rounds, matches) == (WorkState.REPLIED, 1, 1)  # once
