"""The world bench/chaos.py breaks: a database, the fake Slack, real `peermatch` processes.

Everything the bot touches is real except Slack itself: `peermatch run` (HTTP mode) and
`peermatch round` run as separate processes on a SQLite file or a PostgreSQL database of
their own, and talk to the fake Slack of the tests over HTTP. The fake survives the kills
and keeps every message it accepted, so what reached "Slack" can be counted afterwards.
"""

from __future__ import annotations

import asyncio
import csv
import io
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from adapters.sql.uow import SqlStorage  # noqa: E402
from core.model import OutboxMessage  # noqa: E402
from tests.adapters.slack.driver import signed_headers  # noqa: E402
from tests.adapters.slack.fake_slack import BOT_TOKEN, FakeSlack  # noqa: E402
from tests.sql.support import create_database, drop_database  # noqa: E402

SECRET = "chaos-signing-secret"
PG_SERVER = os.environ.get("PEERMATCH_TEST_POSTGRES_URL",
                           "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
HEADERS = ["Timestamp", "Slack ID", "Name", "What are you looking for?", "Topic", "Language",
           "Time zone", "Availability"]
ZONES = ["Europe/Paris", "America/New_York", "Asia/Kolkata", "Europe/London"]
WINDOWS = ["Mon-Sun 00:00-23:59"]  # everyone can meet: rounds always have work to store


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def create_pg_database() -> str:
    """A fresh PostgreSQL database for one chaos run; returns its URL."""
    return await create_database(PG_SERVER, "pm_chaos")


async def drop_pg_database(url: str) -> None:
    await drop_database(PG_SERVER, url)


@dataclass
class Bot:
    """One `peermatch run` process serving Slack over HTTP on ``port``."""

    proc: subprocess.Popen[bytes]
    port: int
    log: Path
    slot: str = "a"

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None


@dataclass
class World:
    """The database, the fake Slack and the bot processes of one chaos run."""

    workdir: Path
    url: str
    fake: FakeSlack
    users: list[str] = field(default_factory=list)
    bots: list[Bot] = field(default_factory=list)
    runs: int = 0
    acked: dict[str, str] = field(default_factory=dict)  # response key -> command text

    def env(self) -> dict[str, str]:
        return {**os.environ, "PYTHONPATH": str(ROOT),
                "PEERMATCH_CONFIG": str(self.workdir / "none.toml"),
                "PEERMATCH_DATABASE_URL": self.url, "PEERMATCH_BOT_PLATFORMS": "slack",
                "PEERMATCH_SLACK_MODE": "http", "PEERMATCH_SLACK_API_BASE_URL": self.fake.api_url,
                "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SECRET,
                "PEERMATCH_BOT_DISPATCH_INTERVAL_SECONDS": "0.2",
                "PEERMATCH_BOT_SHUTDOWN_TIMEOUT_SECONDS": "3"}

    def peermatch(self, *args: str) -> subprocess.Popen[bytes]:
        """Start a `peermatch` command (not waited for: the caller may kill it)."""
        self.runs += 1
        out = (self.workdir / f"cmd-{self.runs}.log").open("wb")
        return subprocess.Popen([sys.executable, "-m", "bot.cli", *args], cwd=self.workdir,
                                env=self.env(), stdout=out, stderr=subprocess.STDOUT)

    def peermatch_done(self, *args: str, timeout: float = 300) -> int:
        return self.peermatch(*args).wait(timeout)

    def add_learners(self, count: int) -> None:
        """Queue ``count`` new learners through `peermatch import` (and tell the fake)."""
        start = len(self.users)
        rows = []
        for i in range(start, start + count):
            uid = f"U{100000 + i}"
            self.users.append(uid)
            self.fake.add_user(uid, f"Learner{i}", tz=ZONES[i % len(ZONES)])
            rows.append(["2026-11-01 10:00:00", uid, f"Learner {i}", "study buddy",
                         "Python", "English", ZONES[i % len(ZONES)], WINDOWS[0]])
        buf = io.StringIO()
        csv.writer(buf).writerows([HEADERS, *rows])
        path = self.workdir / f"batch-{start}.csv"
        path.write_text(buf.getvalue())
        code = self.peermatch_done("import", str(path), "--platform", "slack",
                                   "--community", self.fake.team_id)
        if code not in (0, 1):
            raise RuntimeError(f"import failed ({code}): see {self.workdir}")

    def start_bot(self, slot: str = "a") -> Bot:
        """A bot process; ``slot`` is its instance id (each of two processes on one host
        has its own, as README asks; a restart of a slot takes back that slot's claims)."""
        port = free_port()
        self.runs += 1
        log = self.workdir / f"bot-{self.runs}.log"
        env = {**self.env(), "PEERMATCH_SLACK_PORT": str(port),
               "PEERMATCH_BOT_INSTANCE_ID": f"chaos-{slot}"}
        proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "run"], cwd=self.workdir,
                                env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
        bot = Bot(proc, port, log, slot)
        self.bots.append(bot)
        return bot

    async def ready(self, bot: Bot, seconds: float = 30) -> bool:
        """Wait until the bot answers HTTP (False if it died or never did)."""
        deadline = time.monotonic() + seconds
        async with aiohttp.ClientSession() as http:
            while time.monotonic() < deadline and bot.alive:
                try:
                    async with http.get(f"http://127.0.0.1:{bot.port}/health") as r:
                        if r.status < 500:
                            return True
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
        return False

    def living(self) -> list[Bot]:
        return [b for b in self.bots if b.alive]

    @staticmethod
    def kill(proc: subprocess.Popen[bytes], sig: int = signal.SIGKILL) -> None:
        if proc.poll() is None:
            proc.send_signal(sig)
            proc.wait(30)

    async def slash(self, bot: Bot, user: str, command_text: str) -> int:
        """Send a signed `/peer <text>` to ``bot``; returns the HTTP status (0 if refused)."""
        key = f"chaos-{secrets.token_hex(6)}"
        body = urlencode({
            "token": "legacy", "team_id": self.fake.team_id, "team_domain": "chaos",
            "channel_id": "C0GENERAL", "channel_name": "general", "user_id": user,
            "user_name": user.lower(), "command": "/peer", "text": command_text,
            "api_app_id": "A1", "response_url": self.fake.response_url(key),
            "trigger_id": f"trigger-{key}"})
        headers = signed_headers(body, "application/x-www-form-urlencoded", secret=SECRET)
        try:
            async with aiohttp.ClientSession() as http, http.post(
                    f"http://127.0.0.1:{bot.port}/slack/events", data=body, headers=headers,
                    timeout=aiohttp.ClientTimeout(total=5)) as r:
                body = await r.read()
                # Acknowledged without the answer in the ack itself: the answer must come
                # later through the response_url (or the work must be recorded as failed).
                if r.status == 200 and not body.strip():
                    self.acked[key] = command_text
                return r.status
        except (aiohttp.ClientError, TimeoutError):
            return 0

    async def outbox(self) -> list[OutboxMessage]:
        """Every outbox row, read through the product's own repository."""
        storage = SqlStorage(self.url)
        try:
            async with storage.uow_factory(writes=False) as uow:
                return await uow.outbox.list()
        finally:
            await storage.dispose()

    async def query(self, sql: str) -> list[Any]:
        engine = create_async_engine(self.url)
        try:
            async with engine.connect() as conn:
                return list((await conn.execute(text(sql))).all())
        finally:
            await engine.dispose()
