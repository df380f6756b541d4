"""Interaction throughput through the real discord.py client (issue 9.6, Discord).

A real `peermatch run` process (platform discord, one shard) connects to the fake Discord
of the tests (tests/adapters/discord/fake_discord.py: gateway websocket + REST, in this
process). This process pushes INTERACTION_CREATE events down the gateway open-loop (one
every 1/rate s, whatever the answers) from USERS guild members, a mix of `/peer status`,
`/peer help`, `/peer join mode:study-buddy` (opens the form's first page as a modal), the
submission of that page by a member who opened it a second earlier, and `/peeradmin queue`
(a member with Manage Server). For each interaction it measures the ack (the interaction
callback reaching the fake REST API: Discord wants it within 3 s) and the reply (the first
visible answer: a message callback, a modal, or the follow-up after a deferral).
Errors: an ack after 3 s, no reply within 10 s. As in bench/load.py the load starts once
the bot is idle, and CPU per interaction is the bot's and the bench's own.

    .venv/bin/python bench/load_discord.py [--db sqlite|postgres] [--rates 25,50]
        [--seconds 60] [--learners 0,10000,100000] [--users 1000]

Learners are seeded through the bulk import as in bench/load.py (one database per learner
count, used by each rate in turn).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from load import (  # noqa: E402
    arguments,
    bench_database,
    cpu_seconds,
    figures,
    figures_line,
    known_users,
    seed,
    settled,
)

from tests.adapters.discord.fake_discord import (  # noqa: E402
    LEARNER_PERMS,
    MANAGE_GUILD,
    FakeDiscord,
    Sent,
)
from tests.adapters.discord.interactions import DEFERRED, Users  # noqa: E402

KINDS = ("status", "help", "join", "submit", "queue")
REPLY_BOUND = 10.0
ACK_BOUND = 3.0
PAGE_1 = {"topic": "Python", "languages": ["English"], "timezone": "Europe/London",
          "availability": "Mon-Fri 18:00-21:00"}


class BenchDiscord(FakeDiscord):
    """The fake Discord, noting when each interaction is acknowledged and answered; it keeps
    no per-call history (a bench makes tens of thousands)."""

    def __init__(self, users: int) -> None:
        super().__init__()
        self.members = [self._add_user(f"u{i:04d}")["id"] for i in range(users)]
        self.acked: dict[str, float] = {}
        self.answered: dict[str, asyncio.Future[float]] = {}
        self.early: dict[str, float] = {}  # answered before the sender asked to be told
        self.template: Sent | None = None
        self.expired = 0

    def expect(self, token: str) -> asyncio.Future[float]:
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        if token in self.early:
            future.set_result(self.early.pop(token))
        else:
            self.answered[token] = future
        return future

    def record(self, kind: str, channel_id: str, body: dict[str, Any],
               files: list[tuple[str, bytes]], token: str = "", type_: int = 0,
               as_message: bool = True) -> Sent:
        sent = super().record(kind, channel_id, body, files, token, type_, as_message)
        self.sent.pop()  # not kept: the bench reads times, not texts
        self.calls.clear()
        now = time.monotonic()
        if "expired" in str(body.get("content", "")):
            self.expired += 1  # a form page answered "expired": the bench's mix went wrong
        if kind == "callback":
            self.acked.setdefault(token, now)
            if type_ == 9 and self.template is None:
                self.template = sent  # the join form's first page, for the submissions
        if kind == "followup" or (kind == "callback" and type_ != DEFERRED):
            future = self.answered.pop(token, None)
            if future is None:
                self.early.setdefault(token, now)
            elif not future.done():
                future.set_result(now)
        return sent


def start_bot(url: str, fake: FakeDiscord, workdir: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PEERMATCH_CONFIG": str(workdir / "none.toml"),
           "PEERMATCH_DATABASE_URL": url, "PEERMATCH_BOT_PLATFORMS": "discord",
           "PEERMATCH_DISCORD_API_BASE_URL": fake.api_url,
           "PEERMATCH_DISCORD_GATEWAY_URL": fake.gateway_url,
           "PEERMATCH_DISCORD_SHARD_COUNT": "1", "PEERMATCH_DISCORD_GUILD_IDS": fake.guild_id,
           "DISCORD_TOKEN": "bench-token", "PEERMATCH_BOT_LOG_LEVEL": "WARNING"}
    # PEERMATCH_LOAD_PROFILE=file: the bot runs under cProfile (written when it stops).
    profile = os.environ.get("PEERMATCH_LOAD_PROFILE")
    prefix = ["-m", "cProfile", "-o", profile] if profile else []
    return subprocess.Popen([sys.executable, *prefix, "-m", "bot.cli", "run"], cwd=workdir,
                            env=env,
                            stdout=(workdir / "bot.log").open("ab"), stderr=subprocess.STDOUT)


class Load:
    """Sends the interactions of one run; keeps the figures."""

    def __init__(self, fake: BenchDiscord) -> None:
        self.fake, self.users = fake, Users(fake)
        self.n = 0
        self.acks: list[float] = []
        self.replies: list[float] = []
        self.errors: dict[str, int] = {}
        self.opened: list[str] = []  # who opened the join form, oldest first

    def _error(self, why: str) -> None:
        self.errors[why] = self.errors.get(why, 0) + 1

    async def _interaction(self, kind: str, i: int) -> str:
        members = self.fake.members
        name = f"u{(i * 7919) % len(members):04d}"  # spread over everyone, deterministic
        if kind == "queue":
            return await self.users.slash("owner", "peeradmin queue",
                                          permissions=LEARNER_PERMS | MANAGE_GUILD)
        if kind == "submit" and len(self.opened) > 10:
            assert self.fake.template is not None
            # A member who opened the form about a second ago (10 cycles) sends page 1.
            return await self.users.submit(self.opened.pop(0), self.fake.template, PAGE_1)
        if kind in ("join", "submit"):
            self.opened.append(name)
            return await self.users.slash(name, "peer join", mode="study-buddy")
        return await self.users.slash(name, f"peer {kind}")

    async def one(self, kind: str, i: int) -> None:
        self.n += 1
        started = time.monotonic()
        # The token is only known once the event is built: expect it from inside the send.
        token = await self._interaction(kind, i)
        answered = self.fake.expect(token)
        try:
            async with asyncio.timeout(REPLY_BOUND):
                replied = await answered
        except TimeoutError:
            self.fake.answered.pop(token, None)
            self._error("no reply")
            return
        finally:
            acked = self.fake.acked.pop(token, None)
            if acked is not None:
                self.acks.append(acked - started)
                if acked - started > ACK_BOUND:
                    self._error("ack after 3 s")
        self.replies.append(replied - started)

    async def run(self, rate: float, seconds: float) -> None:
        tasks = []
        started = time.monotonic()
        for i in range(int(rate * seconds)):
            delay = started + i / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.ensure_future(self.one(KINDS[i % len(KINDS)], i)))
        await asyncio.gather(*tasks)


async def one_run(fake: BenchDiscord, url: str, learners: int, rate: float, seconds: float,
                  workdir: Path) -> dict[str, Any]:
    fake.commands.clear()
    fake.template, fake.expired = None, 0
    bot = start_bot(url, fake, workdir)
    try:
        async with asyncio.timeout(120):
            while not fake.commands.get(fake.guild_id):  # connected, commands synced
                if bot.poll() is not None:
                    raise RuntimeError("the bot stopped")
                await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)  # the guild's members cached
        load = Load(fake)
        warm = await load.users.slash("u0000", "peer join", mode="study-buddy")
        await fake.wait_for(lambda: fake.template is not None)
        fake.acked.pop(warm, None)
        waited = await settled(bot.pid)
        cpu_before, own_before = cpu_seconds(bot.pid), time.process_time()
        await load.run(rate, seconds)
        cpu = cpu_seconds(bot.pid) - cpu_before
        own = time.process_time() - own_before  # the generator and the fake Discord
    except Exception:
        print(f"the bot's log: {workdir / 'bot.log'}", file=sys.stderr)
        raise
    finally:
        bot.terminate()
        try:
            await asyncio.to_thread(bot.wait, 30)
        except subprocess.TimeoutExpired:
            print("  (the bot was still busy 30 s after SIGTERM: killed)", flush=True)
            bot.kill()
            await asyncio.to_thread(bot.wait)
        fake.acked.clear()
        fake.answered.clear()
        fake.early.clear()
    return figures(load, learners, rate, cpu, own, waited,
                   {**load.errors, **({"expired forms": fake.expired} if fake.expired else {})})


async def main() -> None:
    args = arguments(__doc__, "25,50", " (Discord)", "int")
    for learners in [int(x) for x in args.learners.split(",")]:
        with tempfile.TemporaryDirectory(prefix="pm-load-discord-") as tmp:
            workdir = Path(tmp)
            # One fake guild per database (its ids are fresh each time it is made); the bot
            # is started afresh for each rate.
            fake = BenchDiscord(args.users)
            await fake.start()
            try:
                async with bench_database(args.db, workdir) as url:
                    await seed(url, learners, platform="discord", community=fake.guild_id)
                    await known_users(url, args.users, platform="discord",
                                      community=fake.guild_id,
                                      people=[(uid, fake.users[uid]["global_name"])
                                              for uid in [*fake.members, fake.owner["id"]]])
                    for rate in [float(x) for x in args.rates.split(",")]:
                        r = await one_run(fake, url, learners, rate, args.seconds, workdir)
                        print(figures_line(r), flush=True)
            finally:
                await fake.close()

if __name__ == "__main__":
    asyncio.run(main())
