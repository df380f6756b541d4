"""SIGTERM/SIGINT stop a real `peermatch run` process gracefully (issue 10.5): it stops
taking interactions, lets a running delivery finish within the bound, exits 0, and a
restart sends what was left, once."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from adapters.sql.migrate import upgrade
from adapters.sql.uow import SqlStorage
from core.messages import DirectMessage
from core.model import Community, OutboxMessage, OutboxState
from tests.adapters.slack.fake_slack import BOT_TOKEN, FakeSlack

ROOT = Path(__file__).resolve().parents[2]
BOUND = 4.0  # bot.shutdown_timeout_seconds for these runs


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(url: str, fake: FakeSlack, tmp_path: Path, sig_log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PEERMATCH_CONFIG": str(tmp_path / "none.toml"),
           "PEERMATCH_DATABASE_URL": url, "PEERMATCH_BOT_PLATFORMS": "slack",
           "PEERMATCH_SLACK_MODE": "http", "PEERMATCH_SLACK_PORT": str(_free_port()),
           "PEERMATCH_SLACK_API_BASE_URL": fake.api_url, "SLACK_BOT_TOKEN": BOT_TOKEN,
           "SLACK_SIGNING_SECRET": "s3cret", "PEERMATCH_BOT_DISPATCH_INTERVAL_SECONDS": "0.2",
           "PEERMATCH_BOT_SHUTDOWN_TIMEOUT_SECONDS": str(BOUND)}
    return subprocess.Popen([sys.executable, "-m", "bot.cli", "run"], cwd=tmp_path, env=env,
                            stdout=sig_log.open("wb"), stderr=subprocess.STDOUT)


async def _rows(url: str) -> dict[str, OutboxState]:
    storage = SqlStorage(url)
    try:
        async with storage.uow_factory() as uow:
            return {m.idempotency_key: m.state for m in await uow.outbox.list()}
    finally:
        await storage.dispose()


async def _seed(url: str, count: int) -> None:
    storage = SqlStorage(url)
    try:
        async with storage.uow_factory() as uow:
            community = await uow.communities.add(Community("slack", "T1", "T1"))
            now = datetime.now(UTC)
            for i in range(count):
                await uow.outbox.add(OutboxMessage(
                    DirectMessage("U1", f"message {i}", f"stop:{i}"), community.id, now))
            await uow.commit()
    finally:
        await storage.dispose()


async def _until(condition, seconds: float) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.05)


async def _exit_code(proc: subprocess.Popen[bytes], seconds: float) -> int | None:
    for _ in range(int(seconds / 0.05)):
        if proc.poll() is not None:
            break
        await asyncio.sleep(0.05)
    return proc.poll()


async def settle_and_stop(proc: subprocess.Popen[bytes]) -> None:
    """Give a wrong second copy of a message a second to show up, then stop ``proc`` as an
    operator does (SIGTERM) and expect a clean exit within the shutdown bound."""
    await asyncio.sleep(1.0)
    proc.send_signal(signal.SIGTERM)
    assert await _exit_code(proc, BOUND + 10) == 0


@pytest.fixture
async def fake() -> FakeSlack:
    slack = FakeSlack()
    slack.add_user("U1", "Ada", tz="Europe/London")
    await slack.start()
    yield slack  # type: ignore[misc]
    await slack.stop()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["TERM", "INT"])
async def test_a_signal_lets_the_running_delivery_finish_and_a_restart_sends_the_rest_once(
        tmp_path: Path, fake: FakeSlack, sig: signal.Signals) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'pm.db'}"
    upgrade(url)
    await _seed(url, 5)
    fake.slow("chat.postMessage", 1.5)  # five take 7.5 s: more than the bound
    log = tmp_path / "run.log"
    proc = _start(url, fake, tmp_path, log)
    try:
        await _until(lambda: fake.calls_to("chat.postMessage"), 30)
        started = time.monotonic()
        proc.send_signal(sig)
        code = await _exit_code(proc, BOUND + 10)
        took = time.monotonic() - started
    finally:
        if proc.poll() is None:
            proc.kill()
    assert code == 0, log.read_text()
    assert took < BOUND + 5, took
    states = list((await _rows(url)).values())
    assert states.count(OutboxState.SENT) == 1  # the one in flight finished, recorded
    assert states.count(OutboxState.PENDING) == 4  # the rest were not started
    assert "Traceback" not in log.read_text() and "PeerMatch stopped" in log.read_text()
    fake.slow("chat.postMessage", 0)
    again = _start(url, fake, tmp_path, tmp_path / "again.log")
    try:
        await _until(lambda: len(fake.messages) >= 5, 10)  # at once: no lease to wait out
        await settle_and_stop(again)
    finally:
        if again.poll() is None:
            again.kill()
    texts = sorted(m["text"] for m in fake.messages)
    assert texts == [f"message {i}" for i in range(5)]  # each once
    assert set((await _rows(url)).values()) == {OutboxState.SENT}


async def test_a_hung_platform_call_does_not_hold_the_stop_past_the_bound(
        tmp_path: Path, fake: FakeSlack) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'pm.db'}"
    upgrade(url)
    await _seed(url, 1)
    fake.slow("chat.postMessage", 120)
    log = tmp_path / "run.log"
    proc = _start(url, fake, tmp_path, log)
    try:
        await _until(lambda: fake.calls_to("chat.postMessage"), 30)
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        code = await _exit_code(proc, BOUND + 10)
        took = time.monotonic() - started
    finally:
        if proc.poll() is None:
            proc.kill()
    assert code == 0, log.read_text()
    assert took < BOUND + 5, took
    assert "cancelled" in log.read_text()
    assert set((await _rows(url)).values()) == {OutboxState.PENDING}  # kept, not failed
