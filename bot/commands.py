"""What the CLI sub-commands do (kept apart from argument parsing)."""

from __future__ import annotations

import asyncio
import contextlib
import io
import sys
from pathlib import Path

from adapters.console.deliver import ConsoleDeliverer
from adapters.console.render import render_text
from adapters.console.repl import PLATFORM, Console
from adapters.sql.migrate import upgrade
from bot.app import App, build_app, setup_logging
from bot.config import Config
from bot.sample import sample_rows
from core.model import Community
from core.replies import Reply
from core.services.delivery import drain
from core.services.dispatch import effective_settings
from core.services.importing import import_rows
from core.services.lookup import people
from core.services.reports import export_csv
from core.services.rounds import run_round, summary

DEMO_DB = Path("var/demo.db")
DEMO_COMMUNITY = "default"
DEMO_SEED = 42


async def _community(app: App, platform: str, external_id: str) -> Community:
    async with app.services.uow_factory() as uow:
        community = await uow.communities.by_external(platform, external_id)
    if community is None:
        raise SystemExit(f"peermatch: there is no {platform} community '{external_id}' yet "
                         "(it is created when someone first uses a command there).")
    return community


async def round_(config: Config, url: str, platform: str, external_id: str, *,
                 dry_run: bool, seed: int | None) -> Reply:
    """Run or preview a round for one community; the reply carries text and JSON data."""
    app = build_app(config, database_url=url)
    try:
        community = await _community(app, platform, external_id)
        settings = effective_settings(app.services, community)
        async with app.services.uow_factory() as uow:
            outcome = await run_round(app.services, uow, community, settings,
                                      dry_run=dry_run, seed=seed)
            await uow.commit()
        return summary(outcome, dry_run=dry_run)
    finally:
        await app.close()


async def export(config: Config, url: str, platform: str, external_id: str, what: str) -> bytes:
    app = build_app(config, database_url=url)
    try:
        community = await _community(app, platform, external_id)
        assert community.id is not None
        async with app.services.uow_factory() as uow:
            content, _ = await export_csv(uow, community.id, what)
        return content
    finally:
        await app.close()


def progress_bar(done: int, total: int) -> None:
    """A one-line progress bar on stderr (stdout stays clean for reports and CSV)."""
    width = 30
    filled = width * done // max(total, 1)
    sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
    if done >= total:
        sys.stderr.write("\n")
    sys.stderr.flush()


async def import_file(config: Config, url: str, platform: str, external_id: str,
                      rows: list[dict[str, str]]) -> int:
    """Import rows, print a report; exit code 1 if any row was rejected."""
    app = build_app(config, database_url=url)
    try:
        report = await import_rows(app.services, platform, external_id, rows,
                                   progress=progress_bar)
    finally:
        await app.close()
    print(f"Imported {report.imported} learners; {len(report.skipped)} already imported; "
          f"{len(report.rejected)} rejected.")
    for line, why in report.skipped:
        print(f"  line {line}: skipped: {why}")
    for line, why in report.rejected:
        print(f"  line {line}: rejected: {why}")
    return 1 if report.rejected else 0


def _remove_demo_db() -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{DEMO_DB}{suffix}").unlink(missing_ok=True)


async def demo(config: Config, learners: int, *, keep: bool) -> int:
    """Fresh demo database, sample community, one round printed, then the console."""
    if not keep:
        await asyncio.to_thread(_remove_demo_db)  # file system calls stay off the event loop
    url = f"sqlite+aiosqlite:///{DEMO_DB}"
    upgrade(url)
    app = build_app(config, database_url=url)
    try:
        report = await import_rows(app.services, PLATFORM, DEMO_COMMUNITY,
                                   sample_rows(app.services.clock.now(), learners))
        print(f"Loaded a sample community of {report.imported} learners "
              f"({len(report.rejected)} rows rejected) into {DEMO_DB}.")
        community = await _community(app, PLATFORM, DEMO_COMMUNITY)
        settings = effective_settings(app.services, community)
        async with app.services.uow_factory() as uow:
            outcome = await run_round(app.services, uow, community, settings, dry_run=False,
                                      seed=DEMO_SEED)
            await uow.commit()
        print(render_text(summary(outcome, dry_run=False).text, "UTC", {}))
        # Deliver the round's DMs and spaces quietly; the console shows new ones as they come.
        quiet = ConsoleDeliverer(io.StringIO(), lambda: people(app.services, PLATFORM, DEMO_COMMUNITY),
                                 Path("exports"), app.services.clock)
        result = await drain(app.services.uow_factory, app.services.clock, {PLATFORM: quiet})
        print(f"Delivered {result.sent} DMs and private spaces (console).")
        if not sys.stdin.isatty():
            return 0
        print("\nTry: `as ana` then `/peer status`; `as moderator` then `/peeradmin queue`.")
        await Console(app.services, DEMO_COMMUNITY, sys.stdin, sys.stdout).repl()
        return 0
    finally:
        await app.close()


async def console(config: Config, url: str, community: str) -> int:
    app = build_app(config, database_url=url)
    try:
        await Console(app.services, community, sys.stdin, sys.stdout).repl()
    finally:
        await app.close()
    return 0


async def run(config: Config, url: str) -> int:
    """Run the enabled platforms, the scheduler and the outbox dispatcher until stopped."""
    from bot.runner import run_bot

    setup_logging(config.bot.log_level)
    app = build_app(config, database_url=url)
    try:
        with contextlib.suppress(KeyboardInterrupt):
            await run_bot(app)
    finally:
        await app.close()
    return 0
