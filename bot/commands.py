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
from bot.app import App, build_app, find_community, setup_logging
from bot.config import DEMO_DB, Config
from bot.sample import sample_rows
from core.ports import StorageUnavailable
from core.replies import Reply, error
from core.services.delivery import drain
from core.services.dispatch import effective_settings
from core.services.errors import Refusal
from core.services.import_file import Table
from core.services.importing import ImportReport, import_rows, import_table
from core.services.lookup import people
from core.services.rounds import run_round, summary

DEMO_COMMUNITY = "default"
DEMO_SEED = 42


async def round_(config: Config, url: str, platform: str, external_id: str, *,
                 dry_run: bool, seed: int | None, as_data: bool = False) -> Reply:
    """Run or preview a round for one community; the reply carries the moderators' text,
    or with ``as_data`` its headline and the round as JSON-able data."""
    app = build_app(config, database_url=url)
    try:
        community = await find_community(app, platform, external_id)
        settings = effective_settings(app.services, community)
        try:
            outcome = await run_round(app.services, community, settings, dry_run=dry_run,
                                      seed=seed)
        except Refusal as refusal:
            return error(str(refusal))
        return summary(outcome, dry_run=dry_run, as_data=as_data)
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
                      table: Table, *, dry_run: bool = False, progress: bool = False) -> int:
    """Import (or preview) a table and print the report; exit code 1 if any row was
    rejected or the file could not be read. ``progress``: a bar on stderr as batches land."""
    app = build_app(config, database_url=url, bulk_load=True)
    try:
        report = await import_table(app.services, platform, external_id, table,
                                    dry_run=dry_run,
                                    progress=progress_bar if progress else None)
    finally:
        await app.close()
    print_report(report)
    return 1 if report.rejected or report.problem else 0


_WOULD = {"imported": "would import", "updated": "would update", "skipped": "would skip",
          "rejected": "would reject"}


def print_report(report: ImportReport) -> None:
    """The mapping (all of it in a dry run, else what was ignored), then the rows."""
    mapping = report.mapping
    if mapping is not None:
        shown = mapping.describe() if report.dry_run or report.problem else [
            line for line, c in zip(mapping.describe(), mapping.columns, strict=True)
            if not c.field]
        if shown:
            print("Columns:" if report.dry_run or report.problem else "Columns ignored:")
            for text in shown:
                print(f"  {text}")
        for warning in mapping.warnings:
            print(f"Warning: {warning}")
    if report.problem:
        print(f"Nothing imported: {report.problem} ({report.total} rows not imported.)")
        return
    print(report.summary())
    for row_no, action, detail in report.actions:
        if report.dry_run or action in ("skipped", "rejected"):
            verb = _WOULD.get(action, action) if report.dry_run else action
            print(f"  line {row_no}: {verb}: {detail}")


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
        community = await find_community(app, PLATFORM, DEMO_COMMUNITY)
        settings = effective_settings(app.services, community)
        outcome = await run_round(app.services, community, settings, dry_run=False,
                                  seed=DEMO_SEED)
        print(render_text(summary(outcome, dry_run=False).text, "UTC", {}))
        # Deliver the round's DMs and spaces quietly; the console shows new ones as they come.
        quiet = ConsoleDeliverer(
            io.StringIO(),
            lambda: people(app.services, PLATFORM, DEMO_COMMUNITY),
            Path("exports"),
            app.services.clock,
        )
        result = await drain(app.services.uow_factory, app.services.clock, {PLATFORM: quiet})
        print(f"Delivered {result.sent} DMs and private spaces (console).")
        print(f"The CLI looks at this database ({DEMO_DB}) until the configured one exists, "
              "e.g. `peermatch export learners`.")
        if not sys.stdin.isatty():
            return 0
        print("\nTry: `as ana` then `/peer status`; `as moderator` then `/peeradmin queue`; "
              "`who` lists who is who.")
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


async def writable(app: App) -> None:
    """Refuse to start on a database that takes no writes (a read-only file or mount, a
    standby server): every command would fail. Raises ``StorageUnavailable`` saying so."""
    try:
        await app.storage.check_writable()
    except StorageUnavailable as exc:
        raise StorageUnavailable(
            f"it does not take writes ({exc}). Check that the bot's user may write the "
            "database file and its folder (SQLite keeps -wal and -shm files beside it), "
            "or that the server is not a read-only standby."
        ) from exc


async def run(config: Config, url: str) -> int:
    """Run the enabled platforms, the scheduler and the outbox dispatcher until stopped."""
    from bot.runner import run_bot

    setup_logging(config.bot.log_level)
    app = build_app(config, database_url=url)
    try:
        await writable(app)
        with contextlib.suppress(KeyboardInterrupt):
            await run_bot(app)
    finally:
        await app.close()
    return 0
