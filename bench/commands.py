"""What one command costs inside the bot at N stored learners, without the platform: each
command through ``handle`` (the core, its units of work and SQL) ``--repeat`` times on a
database seeded as bench/load.py seeds it (N waiting learners through the bulk import).

Prints, per N and command, the mean wall and CPU milliseconds and the statements issued. It
isolates the bot's own cost per command from the HTTP, Bolt and discord.py layers that
bench/load.py and bench/load_discord.py measure on top.

    .venv/bin/python bench/commands.py --learners 0,100000 [--db postgres] [--drop-index NAME]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from load import bench_database, seed  # noqa: E402
from sqlalchemy import event, text  # noqa: E402

from adapters.sql.uow import SqlStorage  # noqa: E402
from bot.app import SystemClock  # noqa: E402
from core.services.context import Actor, CommandRequest, Services  # noqa: E402
from core.services.dispatch import handle  # noqa: E402
from core.settings import CommunitySettings  # noqa: E402

# (who, command): a waiting learner's status (its place in line), help, a moderator's queue.
COMMANDS = (("W0000007", "peer status"), ("W0000007", "peer help"),
            ("UADMIN", "peeradmin queue"))


async def measure(url: str, repeat: int) -> list[tuple[str, float, float, float]]:
    """(command, wall ms, CPU ms, statements) per command, means over ``repeat`` runs."""
    storage = SqlStorage(url)
    statements = [0]

    def count(*_args: object) -> None:
        statements[0] += 1

    try:
        services = Services(storage.uow_factory, SystemClock(),
                            CommunitySettings(commands_per_minute=0, moderator_users=("UADMIN",)))
        out = []
        for who, command in COMMANDS:
            request = CommandRequest("slack", "T1", Actor(who, who), command)
            await handle(services, request)  # first contact and caches, not counted
            event.listen(storage.engine.sync_engine, "before_cursor_execute", count)
            statements[0] = 0
            wall, cpu = time.perf_counter(), time.process_time()
            for _ in range(repeat):
                reply = await handle(services, request)
                assert reply.ok, reply.text
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            event.remove(storage.engine.sync_engine, "before_cursor_execute", count)
            out.append((command, wall / repeat * 1000, cpu / repeat * 1000,
                        statements[0] / repeat))
        return out
    finally:
        await storage.dispose()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--learners", default="0,100000")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--drop-index", default="",
                        help="drop this index before measuring, to see what it buys")
    args = parser.parse_args()
    print(f"# commands in-process: {args.db}, mean of {args.repeat}")
    print("learners | command | wall | CPU | statements")
    for learners in [int(x) for x in args.learners.split(",")]:
        with tempfile.TemporaryDirectory(prefix="pm-commands-") as tmp:
            async with bench_database(args.db, Path(tmp)) as url:
                await seed(url, learners)
                if args.drop_index:
                    storage = SqlStorage(url)
                    async with storage.engine.begin() as conn:
                        await conn.execute(text(f"DROP INDEX {args.drop_index}"))
                    await storage.dispose()
                for command, wall, cpu, n in await measure(url, args.repeat):
                    print(f"{learners:,} | {command} | {wall:.1f} ms | {cpu:.1f} ms | {n:g}",
                          flush=True)


if __name__ == "__main__":
    asyncio.run(main())
