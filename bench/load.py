"""Command throughput through the real served Bolt app (issue 9.6).

A real `peermatch run` process serves Slack in HTTP mode against the fake Slack Web API of
the tests (tests/adapters/slack/fake_slack.py, in this process); this process sends signed
requests open-loop (one every 1/rate s, whatever the answers) from USERS people, a mix of
`/peer status`, `/peer help`, `/peer join study-buddy` (opens a modal), a join submission
and `/peer admin queue`. For each request it measures the ack (the HTTP answer) and the
reply (the response_url post, the modal opened, or the ack itself when that is the answer).
Errors: a status other than 200, an ack after Slack's 3 s, no reply within 10 s.
The load starts once the bot is idle (its start-up and first planner pass over the stored
learners done: "idle after"); CPU per request is the bot's (from /proc) and the bench's own
(the generator and the fake Slack) over the run.

    .venv/bin/python bench/load.py [--db sqlite|postgres] [--rates 50,100,200]
        [--seconds 60] [--learners 0,10000,100000] [--users 1000]

Learners are seeded through the bulk import (core/services/importing.py) before the runs;
one database per learner count, used by each rate in turn (joins of earlier rates stay).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web
from sqlalchemy import text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from adapters.sql.migrate import upgrade  # noqa: E402
from adapters.sql.uow import SqlStorage  # noqa: E402
from bot.app import SystemClock  # noqa: E402
from core.services.context import Actor, CommandRequest, Services  # noqa: E402
from core.services.dispatch import handle  # noqa: E402
from core.services.importing import import_rows  # noqa: E402
from core.settings import CommunitySettings  # noqa: E402
from tests.adapters.slack.driver import _state, signed_headers  # noqa: E402
from tests.adapters.slack.fake_slack import BOT_TOKEN, FakeSlack  # noqa: E402

SECRET = "bench-secret"
PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
KINDS = ("status", "help", "join", "submit", "queue")
REPLY_BOUND = 10.0
ZONES = ("Europe/Paris", "America/New_York", "Asia/Kolkata", "Africa/Lagos", "Europe/London")
TOPICS = ("Python", "Data Science", "Calculus", "Spanish")


class BenchSlack(FakeSlack):
    """The fake Slack, noting when each reply arrives (response_url posts, views.open)."""

    def __init__(self) -> None:
        super().__init__()
        self.waiting: dict[str, asyncio.Future[float]] = {}

    def expect(self, *keys: str) -> asyncio.Future[float]:
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        for key in keys:
            self.waiting[key] = future
        return future

    def _arrived(self, key: str) -> None:
        future = self.waiting.pop(key, None)
        if future is not None and not future.done():
            future.set_result(time.monotonic())

    async def _response(self, request: web.Request) -> web.Response:
        answer = await super()._response(request)
        self._arrived(request.match_info["key"])
        return answer

    def m_views_open(self, p: dict[str, Any]) -> dict[str, Any]:
        answer = super().m_views_open(p)
        self._arrived(str(p.get("trigger_id", "")))
        return answer


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def settled(pid: int, *, quiet: float = 0.05, bound: float = 180.0) -> float:
    """Wait until the bot is idle (start-up, the planner's first pass over the stored
    learners: work of its own, not of the commands measured): under ``quiet`` CPU seconds
    per half second, at most ``bound`` s. Returns the seconds waited."""
    started = time.monotonic()
    before = cpu_seconds(pid)
    while time.monotonic() - started < bound:
        await asyncio.sleep(0.5)
        now = cpu_seconds(pid)
        if now - before < quiet:
            break
        before = now
    return time.monotonic() - started


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def known_users(url: str, users: int, *, platform: str = "slack", community: str = "T1",
                      people: list[tuple[str, str]] | None = None) -> None:
    """The bench's people have used the bot before (first contact is a write; the runs
    measure a community in use, not 1,000 first contacts), under the names the platform
    shows (a changed name is a write too). ``people``: (user id, name) pairs; by default
    the fake Slack's users of ``one_run``."""
    storage = SqlStorage(url)
    try:
        services = Services(storage.uow_factory, SystemClock(),
                            CommunitySettings(commands_per_minute=0))
        people = people or [*((f"U{i:04d}", f"User {i}") for i in range(users)),
                            ("UADMIN", "Admin"), ("UWARM", "Warm")]
        for who, name in people:
            await handle(services, CommandRequest(platform, community, Actor(who, name),
                                                  "peer help"))
    finally:
        await storage.dispose()


async def seed(url: str, learners: int, *, platform: str = "slack",
               community: str = "T1") -> float:
    """``learners`` waiting learners in ``community`` (workspace T1), through the bulk
    import."""
    if not learners:
        return 0.0
    rng = random.Random(5)
    rows = [{"User ID": f"W{i:07d}", "Name": f"Learner {i}",
             "What are you looking for?": "study-buddy", "Topic": rng.choice(TOPICS),
             "Languages": "English", "Time zone": rng.choice(ZONES),
             "Availability": rng.choice(("Mon-Fri 18:00-21:00", "Sat 10:00-14:00", "Flexible"))}
            for i in range(learners)]
    storage = SqlStorage(url)
    started = time.monotonic()
    try:
        # Joined just now (the wall clock): no "still waiting" DM is due during the runs.
        report = await import_rows(Services(storage.uow_factory, SystemClock()), platform,
                                   community, rows)
        # Their welcome DMs went out long ago: the runs measure commands, not a backlog.
        async with storage.engine.begin() as conn:
            await conn.execute(text("UPDATE outbox SET state = 'sent'"))
    finally:
        await storage.dispose()
    print(f"  seeded {learners:,} learners in {time.monotonic() - started:.1f} s "
          f"(imported {report.imported:,}, rejected {len(report.rejected)}"
          f"{'; ' + report.problem if report.problem else ''})", flush=True)
    return time.monotonic() - started


def start_bot(url: str, fake: FakeSlack, port: int, workdir: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PEERMATCH_CONFIG": str(workdir / "none.toml"),
           "PEERMATCH_DATABASE_URL": url, "PEERMATCH_BOT_PLATFORMS": "slack",
           "PEERMATCH_SLACK_MODE": "http", "PEERMATCH_SLACK_PORT": str(port),
           "PEERMATCH_SLACK_API_BASE_URL": fake.api_url, "SLACK_BOT_TOKEN": BOT_TOKEN,
           "SLACK_SIGNING_SECRET": SECRET, "PEERMATCH_BOT_LOG_LEVEL": "WARNING"}
    # PEERMATCH_LOAD_PROFILE=file: the bot runs under cProfile (written when it stops).
    profile = os.environ.get("PEERMATCH_LOAD_PROFILE")
    prefix = ["-m", "cProfile", "-o", profile] if profile else []
    return subprocess.Popen([sys.executable, *prefix, "-m", "bot.cli", "run"], cwd=workdir,
                            env=env,
                            stdout=(workdir / "bot.log").open("ab"), stderr=subprocess.STDOUT)


class Load:
    """Builds and sends the requests of one run; keeps the figures."""

    def __init__(self, fake: BenchSlack, url: str, users: int, view: dict[str, Any]) -> None:
        self.fake, self.url, self.users, self.view = fake, url, users, view
        self.rng = random.Random(9)
        self.n = 0
        self.acks: list[float] = []
        self.replies: list[float] = []
        self.errors: dict[str, int] = {}
        self.http: aiohttp.ClientSession | None = None

    def _error(self, why: str) -> None:
        self.errors[why] = self.errors.get(why, 0) + 1

    def _slash(self, user: str, text: str, key: str, trigger: str) -> str:
        return urlencode({"token": "legacy", "team_id": "T1", "team_domain": "bench",
                          "channel_id": "C0GENERAL", "channel_name": "general",
                          "user_id": user, "user_name": user.lower(), "command": "/peer",
                          "text": text, "api_app_id": "A1", "trigger_id": trigger,
                          "response_url": self.fake.response_url(key)})

    def _submission(self, user: str, key: str) -> str:
        view = {**self.view, "private_metadata": json.dumps(
            {"c": "peer join", "x": {"mode": "study-buddy"}, "ru": self.fake.response_url(key),
             "ch": "C0GENERAL"}),
            "state": {"values": _state(self.view, {
                "topic": self.rng.choice(TOPICS), "languages": "English",
                "availability": "Mon-Fri 18:00-21:00", "timezone": "Europe/London"})},
            "team_id": "T1", "app_installed_team_id": "T1"}
        payload = {"type": "view_submission", "team": {"id": "T1", "domain": "bench"},
                   "user": {"id": user, "username": user.lower(), "name": user.lower(),
                            "team_id": "T1"},
                   "api_app_id": "A1", "token": "legacy", "trigger_id": f"sub-{key}",
                   "view": view, "response_urls": []}
        return urlencode({"payload": json.dumps(payload)})

    async def one(self, kind: str) -> None:
        self.n += 1
        key, trigger = f"r{self.n}", f"t{self.n}"
        user = f"U{self.rng.randrange(self.users):04d}"
        if kind == "submit":
            body = self._submission(user, key)
        else:
            text = {"status": "status", "help": "help", "join": "join study-buddy",
                    "queue": "admin queue"}[kind]
            body = self._slash("UADMIN" if kind == "queue" else user, text, key, trigger)
        arrived = self.fake.expect(key, trigger)
        assert self.http is not None
        started = time.monotonic()
        try:
            async with self.http.post(self.url, data=body.encode(), headers=signed_headers(
                    body, "application/x-www-form-urlencoded", secret=SECRET)) as resp:
                answer = await resp.text()
                status = resp.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            self._error(type(exc).__name__)
            return
        ack = time.monotonic() - started
        self.acks.append(ack)
        if status != 200:
            self._error(f"HTTP {status}")
            return
        if ack > 3.0:
            self._error("ack after 3 s")
        if kind == "submit" and "response_action" in answer:
            self.replies.append(ack)  # a refusal (already queued): the ack is the answer
            return
        try:
            async with asyncio.timeout(REPLY_BOUND):
                self.replies.append(await arrived - started)
        except TimeoutError:
            self._error("no reply")

    async def run(self, rate: float, seconds: float) -> None:
        self.http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0),
                                          timeout=aiohttp.ClientTimeout(total=30))
        tasks = []
        started = time.monotonic()
        try:
            for i in range(int(rate * seconds)):
                delay = started + i / rate - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.ensure_future(self.one(KINDS[i % len(KINDS)])))
            await asyncio.gather(*tasks)
        finally:
            await self.http.close()


async def _template(fake: BenchSlack, url: str) -> dict[str, Any]:
    """The join modal as the app renders it (opened once by a warm-up user)."""
    body = urlencode({"team_id": "T1", "user_id": "UWARM", "user_name": "warm",
                      "command": "/peer", "text": "join study-buddy", "channel_id": "C0",
                      "response_url": fake.response_url("warm"), "trigger_id": "warm"})
    async with aiohttp.ClientSession() as http:
        for _ in range(300):
            try:
                async with http.post(url, data=body.encode(), headers=signed_headers(
                        body, "application/x-www-form-urlencoded", secret=SECRET)):
                    break
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.1)
    for _ in range(300):
        if fake.opened_views:
            break
        await asyncio.sleep(0.1)
    else:
        raise RuntimeError(f"no join modal opened; answers: {fake.responses}")
    return dict(fake.opened_views[0]["view"])


async def one_run(url: str, learners: int, rate: float, seconds: float, users: int,
                  workdir: Path) -> dict[str, Any]:
    fake = BenchSlack()
    await fake.start()
    for i in range(users):
        fake.add_user(f"U{i:04d}", f"User {i}", tz=ZONES[i % len(ZONES)])
    fake.add_user("UADMIN", "Admin", tz="UTC", admin=True)
    fake.add_user("UWARM", "Warm", tz="UTC")
    port = _free_port()
    bot = start_bot(url, fake, port, workdir)
    endpoint = f"http://127.0.0.1:{port}/slack/events"
    try:
        view = await _template(fake, endpoint)
        load = Load(fake, endpoint, users, view)
        waited = await settled(bot.pid)
        cpu_before, own_before = cpu_seconds(bot.pid), time.process_time()
        await load.run(rate, seconds)
        cpu = cpu_seconds(bot.pid) - cpu_before
        own = time.process_time() - own_before  # the generator and the fake Slack
    except Exception:
        print(f"the bot's log: {workdir / 'bot.log'}", file=sys.stderr)
        raise
    finally:
        bot.terminate()
        try:
            await asyncio.to_thread(bot.wait, 30)
        except subprocess.TimeoutExpired:  # still working through a backlog: stop it
            print("  (the bot was still busy 30 s after SIGTERM: killed)", flush=True)
            bot.kill()
            await asyncio.to_thread(bot.wait)
        await fake.stop()
    if os.environ.get("PEERMATCH_LOAD_LOG"):  # where the bot's warnings went, for a look
        shutil.copyfile(workdir / "bot.log", os.environ["PEERMATCH_LOAD_LOG"])
    return figures(load, learners, rate, cpu, own, waited, load.errors)


async def _pg_database() -> str:
    import asyncpg

    name = f"pm_load_{secrets.token_hex(3)}"
    conn = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/test")
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return name


async def _drop_pg(name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/test")
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def figures(load: Any, learners: int, rate: float, cpu: float, own: float, waited: float,
            kinds: dict[str, int]) -> dict[str, Any]:
    """One run's figures, the same for every platform's bench: percentiles of the acks and
    replies, errors by kind, the bot's and the bench's CPU per request, the load average."""
    return {"learners": learners, "rate": rate, "sent": load.n,
            "ack_p50": _pct(load.acks, 0.5), "ack_p99": _pct(load.acks, 0.99),
            "reply_p50": _pct(load.replies, 0.5), "reply_p99": _pct(load.replies, 0.99),
            "errors": sum(load.errors.values()), "kinds": kinds,
            "cpu_ms": cpu / max(1, load.n) * 1000, "own_ms": own / max(1, load.n) * 1000,
            "load": os.getloadavg()[0], "settle": waited,
            "mean_ack": statistics.fmean(load.acks) if load.acks else float("nan")}


def figures_line(r: dict[str, Any]) -> str:
    """One row of the printed table."""
    return (f"{r['learners']:,} | {r['rate']:g} | {r['sent']} | {r['ack_p50'] * 1000:.0f} ms"
            f" | {r['ack_p99'] * 1000:.0f} ms | {r['reply_p50'] * 1000:.0f} ms | "
            f"{r['reply_p99'] * 1000:.0f} ms | {r['cpu_ms']:.1f} ms | "
            f"{r['own_ms']:.1f} ms | {r['load']:.1f} | {r['settle']:.0f} s | "
            f"{r['errors']} {r['kinds'] or ''}")


@contextlib.asynccontextmanager
async def bench_database(db: str, workdir: Path) -> AsyncIterator[str]:
    """A fresh, migrated database for one learner count: a SQLite file in ``workdir`` or a
    PostgreSQL database of its own, dropped afterwards."""
    pg_name = ""
    if db == "sqlite":
        url = f"sqlite+aiosqlite:///{workdir / 'load.db'}"
    else:
        pg_name = await _pg_database()
        url = PG_URL.rsplit("/", 1)[0] + f"/{pg_name}"
    try:
        await asyncio.to_thread(upgrade, url)
        yield url
    finally:
        if pg_name:
            await _drop_pg(pg_name)


def arguments(doc: str | None, rates: str, platform: str, unit: str) -> argparse.Namespace:
    """The options every load bench takes, parsed; prints the table's heading."""
    parser = argparse.ArgumentParser(description=(doc or "").split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--rates", default=rates)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--learners", default="0,10000,100000")
    parser.add_argument("--users", type=int, default=1000)
    args = parser.parse_args()
    print(f"# load{platform}: {args.db}, {args.seconds:g} s per run, {args.users} users; "
          f"mix {'/'.join(KINDS)}", flush=True)
    print(f"learners | {unit}/s | sent | ack p50 | ack p99 | reply p50 | reply p99 | "
          f"bot CPU/{unit} | bench CPU/{unit} | load avg | idle after | errors")
    return args


async def main() -> None:
    args = arguments(__doc__, "50,100,200", "", "req")
    for learners in [int(x) for x in args.learners.split(",")]:
        with tempfile.TemporaryDirectory(prefix="pm-load-") as tmp:
            workdir = Path(tmp)
            async with bench_database(args.db, workdir) as url:
                await seed(url, learners)
                await known_users(url, args.users)
                for rate in [float(x) for x in args.rates.split(",")]:
                    r = await one_run(url, learners, rate, args.seconds, args.users, workdir)
                    print(figures_line(r), flush=True)

if __name__ == "__main__":
    asyncio.run(main())
