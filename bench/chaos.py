"""SIGKILL at random moments, platform faults, two bots on one database: what survives?
(issue 10, "Done when").

    .venv/bin/python bench/chaos.py                      # 50 kills on SQLite and on PostgreSQL
    .venv/bin/python bench/chaos.py --kills 20 --db sqlite --seed 3

Per database, real processes (bench/chaos_world.py) against the fake Slack of the tests:
learners are imported in batches, `peermatch round` runs and is killed at a random moment,
`peermatch run` bots deliver the outbox and take `/peer schedule` bookings and are killed
at random moments too (on PostgreSQL two bots share the database), and the fake answers
with faults: 500 after posting, a dropped connection after posting, 429 storms, hung
calls. At the end one bot drains everything and stops with SIGTERM. Printed per database:

- lost: outbox rows never received by Slack, plus acknowledged commands never done and
  never answered;
- duplicated: messages Slack received more than once (same idempotency key, which the bot
  sends as message metadata; without metadata, the same text in the same conversation);
- double-matched: learners in two active matches of one mode;
- stuck: rows still pending that were due at least 10 s before the final bot stopped (rows
  due later, such as a check-in in three days, are counted apart; the first few stuck rows
  are printed on stderr); failed: rows given up on.
Target: lost = duplicated = double-matched = stuck = 0.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import signal
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.chaos_world import (  # noqa: E402
    World,
    create_pg_database,
    drop_pg_database,
)
from core.model import OutboxMessage, OutboxState  # noqa: E402
from tests.adapters.slack.fake_slack import FakeSlack  # noqa: E402

FAULTS = ("500 after posting", "dropped connection after posting", "429 storm", "hung call")


def inject_fault(fake: FakeSlack, rng: random.Random) -> str:
    """One platform fault on the next chat.postMessage calls, as the fake supports it."""
    fault = rng.choice(FAULTS)
    if fault == "500 after posting" and hasattr(fake, "fail_after_posting"):
        fake.fail_after_posting("chat.postMessage", status=500, times=2)
    elif fault == "dropped connection after posting" and hasattr(fake, "drop_after_posting"):
        fake.drop_after_posting("chat.postMessage", times=2)
    elif fault == "429 storm":
        fake.fail("chat.postMessage", "ratelimited", status=429, retry_after=1, times=6)
    elif fault == "hung call":
        fake.slow("chat.postMessage", 40)
        asyncio.get_running_loop().call_later(rng.uniform(1, 4), fake.slow,
                                              "chat.postMessage", 0)
    else:
        return f"{fault} (not supported by this fake: skipped)"
    return fault


async def kill_a_round(world: World, rng: random.Random) -> None:
    """New learners, then a real round killed at a random moment (or left to finish)."""
    world.add_learners(rng.randint(4, 12))
    proc = world.peermatch("round", "--platform", "slack", "--community", world.fake.team_id,
                           "--seed", str(rng.randint(1, 10_000)))
    await asyncio.sleep(rng.uniform(0.3, 4.0))
    world.kill(proc)


async def kill_a_bot(world: World, rng: random.Random) -> None:
    """A bot that delivers (and maybe takes bookings) for a random while, then SIGKILL."""
    living = world.living()
    bot = rng.choice(living) if living else world.start_bot("a")
    if not await world.ready(bot):
        world.kill(bot.proc)
        return
    for _ in range(rng.randint(0, 3)):
        if world.users:
            await world.slash(bot, rng.choice(world.users), "schedule 1")
    await asyncio.sleep(rng.uniform(0.0, 3.0))
    world.kill(bot.proc)


async def final_drain(world: World, seconds: float) -> datetime:
    """One bot delivers whatever is left, then stops gracefully; returns when it was told
    to stop."""
    for bot in world.living():
        world.kill(bot.proc, signal.SIGTERM)
    world.fake.slow("chat.postMessage", 0)
    bot = world.start_bot()
    await world.ready(bot)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not [m for m in await world.outbox() if is_due(m)]:
            break
        await asyncio.sleep(0.5)
    await asyncio.sleep(2.0)  # a late second copy would show up now
    stopped = datetime.now(UTC)
    world.kill(bot.proc, signal.SIGTERM)
    return stopped


def is_due(message: OutboxMessage, by: datetime | None = None) -> bool:
    """Pending and due by ``by`` (default now; a row due later, e.g. a check-in in three
    days, is not)."""
    return message.state is OutboxState.PENDING and message.due_at <= (by or datetime.now(UTC))


# A row that fell due in the last seconds before the final bot stopped (a planner row, a
# reminder) had no fair chance yet: stuck means due at least this long before the stop.
GRACE = timedelta(seconds=10)


def message_key(message: dict[str, Any]) -> tuple[str, ...]:
    metadata = message.get("metadata") or {}
    payload = metadata.get("event_payload") if isinstance(metadata, dict) else None
    if isinstance(payload, dict) and payload.get("key"):
        return ("key", str(payload["key"]), str(payload.get("step", "")))
    return ("text", str(message.get("channel")), str(message.get("text")))


async def count(world: World, stopped: datetime) -> dict[str, int]:
    received = Counter(message_key(m) for m in world.fake.messages)
    duplicated = sum(n - 1 for n in received.values() if n > 1)
    keys_seen = {k[1] for k in received if k[0] == "key"}
    rows = await world.query("SELECT idempotency_key, state, kind, last_error FROM outbox")
    sent = [r for r in rows if r[1] == "sent" and r[2] in ("dm", "space_message")]
    # Without metadata in the messages the fake cannot tell which row a message was: then
    # only rows that never ended "sent" count as lost.
    unreceived = [r for r in sent if keys_seen and r[0] not in keys_seen]
    unanswered = [k for k in world.acked if not any(r["key"] == k for r in world.fake.responses)]
    double = await world.query(
        "SELECT mm.learner_id, m.kind FROM match_members mm JOIN matches m ON m.id = mm.match_id "
        "WHERE m.state = 'active' GROUP BY mm.learner_id, m.kind HAVING count(*) > 1")
    stuck_rows = [m for m in await world.outbox() if is_due(m, stopped - GRACE)]
    for m in stuck_rows[:5]:
        print(f"  stuck: {m.idempotency_key} due {m.due_at:%H:%M:%S} attempts {m.attempts} "
              f"claimed_by {m.claimed_by!r} {m.last_error[:80]!r}", file=sys.stderr)
    stuck = len(stuck_rows)
    return {"messages received": len(world.fake.messages), "outbox rows": len(rows),
            "lost": len(unreceived) + len(unanswered), "duplicated": duplicated,
            "double-matched": len(double),
            "stuck": stuck, "pending later": sum(r[1] == "pending" for r in rows) - stuck,
            "failed": sum(r[1] == "failed" and r[3] != "dm_closed" for r in rows)}


async def run_one(db: str, kills: int, seed: int) -> dict[str, int]:
    rng = random.Random(seed)
    url = ""
    fake = FakeSlack()
    await fake.start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            workdir = Path(tmp)
            url = (await create_pg_database() if db == "postgres"
                   else f"sqlite+aiosqlite:///{workdir / 'chaos.db'}")
            world = World(workdir, url, fake)
            if world.peermatch_done("db", "upgrade") != 0:
                raise RuntimeError("db upgrade failed")
            world.add_learners(10)
            faults: Counter[str] = Counter()
            for _ in range(kills):
                if db == "postgres":  # two processes on one PostgreSQL
                    for slot in {"a", "b"} - {b.slot for b in world.living()}:
                        world.start_bot(slot)
                if rng.random() < 0.3:
                    faults[inject_fault(fake, rng)] += 1
                if rng.random() < 0.4:
                    await kill_a_round(world, rng)
                else:
                    await kill_a_bot(world, rng)
            stopped = await final_drain(world, seconds=90)
            figures = await count(world, stopped)
            figures["kills"] = kills
            for fault, n in faults.items():
                figures[f"fault: {fault}"] = n
            return figures
    finally:
        await fake.stop()
        if db == "postgres" and url:
            await drop_pg_database(url)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kills", type=int, default=50, help="SIGKILLs per database")
    ap.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    ap.add_argument("--seed", type=int, default=1)
    opts = ap.parse_args()
    dbs = ("sqlite", "postgres") if opts.db == "both" else (opts.db,)
    bad = 0
    for db in dbs:
        started = time.perf_counter()
        figures = asyncio.run(run_one(db, opts.kills, opts.seed))
        took = time.perf_counter() - started
        print(f"{db}: " + ", ".join(f"{k} {v}" for k, v in figures.items()) + f" ({took:.0f} s)")
        bad += sum(figures[k] for k in ("lost", "duplicated", "double-matched", "stuck"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
