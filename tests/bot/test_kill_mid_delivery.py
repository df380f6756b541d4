"""SIGKILL a real `peermatch run` while the fake Slack holds a request it has already carried
out (issue 10.1, 10.2): after a restart the dead process's claims are taken back at once,
well inside the 120 s lease, and the message in flight is reconciled with
``conversations.history`` instead of being posted again. Every message arrives once."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

from adapters.sql.migrate import upgrade
from adapters.sql.uow import SqlStorage
from core.model import OutboxMessage, OutboxState
from core.settings import DispatchSettings
from tests.adapters.slack.fake_slack import FakeSlack
from tests.bot.test_graceful_stop import (
    _exit_code,
    _seed,
    _start,
    _until,
    fake,
    settle_and_stop,
)

__all__ = ["fake"]  # the fixture, shared with the graceful-stop tests

LEASE = DispatchSettings().lease_seconds
TAKE_BACK_BOUND = 20.0  # seconds: far less than the lease a crash used to cost


async def _stored(url: str) -> dict[str, OutboxMessage]:
    storage = SqlStorage(url)
    try:
        async with storage.uow_factory() as uow:
            return {m.idempotency_key: m for m in await uow.outbox.list()}
    finally:
        await storage.dispose()


async def test_a_kill_mid_delivery_is_taken_back_at_once_and_reconciled(
        tmp_path: Path, fake: FakeSlack) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'pm.db'}"
    upgrade(url)
    await _seed(url, 3)  # three DMs to one person: delivered in order, one at a time
    fake.after("chat.postMessage", "hang")  # the first is posted, then no answer comes
    proc = _start(url, fake, tmp_path, tmp_path / "run.log")
    try:
        await _until(lambda: len(fake.messages) == 1, 30)
        await asyncio.sleep(0.3)  # nothing else moves while the call hangs
        proc.send_signal(signal.SIGKILL)
        assert await _exit_code(proc, 10) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
    rows = await _stored(url)
    in_flight = rows["stop:0"]
    assert in_flight.state is OutboxState.PENDING and in_flight.unclear  # journaled first
    assert in_flight.claimed_by and all(m.claim_token for m in rows.values())
    assert len(fake.messages) == 1

    fake.after_faults_clear()
    history_before = len(fake.calls_to("conversations.history"))
    log = tmp_path / "again.log"
    again = _start(url, fake, tmp_path, log)
    try:
        # At once: the restarted instance takes its own claims back instead of waiting
        # out the lease (LEASE seconds) the dead process had set.
        assert TAKE_BACK_BOUND < LEASE
        await _until(lambda: len(fake.messages) >= 3, TAKE_BACK_BOUND)
        await settle_and_stop(again)
    finally:
        if again.poll() is None:
            again.kill()
    texts = sorted(m["text"] for m in fake.messages)
    assert texts == [f"message {i}" for i in range(3)]  # each once: none re-sent
    assert len(fake.calls_to("conversations.history")) > history_before  # it asked first
    assert "took back 3 outbox row(s)" in log.read_text()
    rows = await _stored(url)
    assert {m.state for m in rows.values()} == {OutboxState.SENT}
    assert not any(m.unclear or m.claim_token for m in rows.values())
