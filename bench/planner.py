"""The periodic planner (weekly check-ins, "still waiting" updates) on a big queue: how many
statements it sends, how long it takes, and how long its longest transaction is (the write
lock on SQLite is held for at most that long).

N learners are imported (the demo's Google-Forms-like rows, joined over four weeks), a round
makes accountability pairs, then the clock moves on 8 days and the planner runs twice: the
first run writes this week's rows, the second finds them all written (the steady state,
every 15 minutes).

    .venv/bin/python bench/planner.py [--waiting 2000 --waiting 20000] [--db sqlite|postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import event, text  # noqa: E402

from adapters.sql import migrate  # noqa: E402
from adapters.sql.uow import SqlStorage  # noqa: E402
from bot.sample import sample_rows  # noqa: E402
from core.services.context import Services  # noqa: E402
from core.services.dispatch import effective_settings  # noqa: E402
from core.services.importing import FixedClock, import_rows  # noqa: E402
from core.services.planner import plan_periodic  # noqa: E402
from core.services.rounds import run_round  # noqa: E402

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


class TimedFactory:
    """A unit-of-work factory that records how long each transaction stayed open."""

    def __init__(self, storage: SqlStorage) -> None:
        self.storage = storage
        self.spans: list[float] = []

    def __call__(self, **kwargs: Any) -> Any:
        factory, spans = self.storage.uow_factory, self.spans

        class _Timed:
            async def __aenter__(self) -> Any:
                self.uow = factory(**kwargs)
                self.started = time.perf_counter()
                return await self.uow.__aenter__()

            async def __aexit__(self, *exc: Any) -> None:
                try:
                    await self.uow.__aexit__(*exc)
                finally:
                    spans.append(time.perf_counter() - self.started)

        return _Timed()


async def _prepare(storage: SqlStorage, waiting: int) -> tuple[Services, Any]:
    services = Services(storage.uow_factory, FixedClock(T0), seed_source=lambda: 7)
    report = await import_rows(services, "console", "bench", sample_rows(T0, waiting))
    assert report.imported == waiting, report.rejected[:3]
    async with storage.uow_factory(writes=False) as uow:
        community = await uow.communities.by_external("console", "bench")
    assert community is not None
    await run_round(services, community, effective_settings(services, community),
                    dry_run=False)
    # New waiters beside the matched ones: the round took most of the first import.
    late = [{**row, "User ID": "late-" + row["User ID"]} for row in sample_rows(T0, waiting)]
    await import_rows(services, "console", "bench", late)
    return services, community


async def _run(storage: SqlStorage, waiting: int) -> None:
    _, community = await _prepare(storage, waiting)
    seen: list[int] = [0]

    def count(*_args: Any) -> None:
        seen[0] += 1

    async with storage.uow_factory() as uow:
        queued = len(await uow.queue.waiting(community.id))
    now = T0 + timedelta(days=8)
    event.listen(storage.engine.sync_engine, "before_cursor_execute", count)
    try:
        for label in ("first run", "again"):
            timed = TimedFactory(storage)
            seen[0] = 0
            started = time.perf_counter()
            written = await plan_periodic(timed, community, now)
            wall = time.perf_counter() - started
            read, writes = timed.spans[0], timed.spans[1:]
            longest = max(writes) if writes else 0.0
            print(f"{queued:>7} waiting, {label:>9}: {written:>6} rows written, "
                  f"{seen[0]:>4} statements, {wall:6.2f} s wall; reads {1000 * read:6.0f} ms; "
                  f"{len(writes):>3} write batches, longest {1000 * longest:5.0f} ms")
    finally:
        event.remove(storage.engine.sync_engine, "before_cursor_execute", count)


async def _main(opts: argparse.Namespace) -> int:
    for waiting in opts.waiting or [2_000, 20_000]:
        if opts.db == "postgres":
            schema = f"bench_{secrets.token_hex(4)}"
            admin = SqlStorage(opts.pg_url)
            async with admin.engine.begin() as conn:
                await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            try:
                await asyncio.to_thread(migrate.upgrade, opts.pg_url, schema=schema)
                storage = SqlStorage(opts.pg_url, schema=schema)
                try:
                    await _run(storage, waiting)
                finally:
                    await storage.dispose()
            finally:
                async with admin.engine.begin() as conn:
                    await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
                await admin.dispose()
            continue
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
            await asyncio.to_thread(migrate.upgrade, url)
            storage = SqlStorage(url)
            try:
                await _run(storage, waiting)
            finally:
                await storage.dispose()
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--waiting", type=int, action="append",
                    help="learners imported (repeatable; default 2,000 and 20,000)")
    ap.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    ap.add_argument("--pg-url", default=PG_URL)
    return asyncio.run(_main(ap.parse_args()))


if __name__ == "__main__":
    raise SystemExit(main())


