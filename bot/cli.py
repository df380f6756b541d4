"""`peermatch`: the operator's command line.

    peermatch demo | console | run | db upgrade | db downgrade | import FILE |
              export WHAT | round [--dry-run] [--json] | version
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable, Coroutine, Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

from adapters.sql.migrate import DatabaseMismatch, downgrade, upgrade
from bot.config import DEMO_DB, Config, ConfigError, DatabaseConfig, load_config
from core.ports import StorageUnavailable
from core.replies import Reply

EXIT_CONFIG = 2
EXIT_DATABASE = 3  # unreachable, read-only or not answering in time
# Sub-commands that may run a round (numpy): one BLAS thread per process (bot/process.py).
_COMPUTING = frozenset({"demo", "console", "run", "round", "import"})


def _version() -> str:
    try:
        return version("peermatch")
    except PackageNotFoundError:  # running from a checkout without install
        return "0+unknown"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="peermatch", description="PeerMatch: peer matching for "
                                "learning communities on Discord and Slack.")
    p.add_argument("--config", help="path to config.toml (default: ./config.toml if present)")
    p.add_argument("--database", help="database URL (overrides the config)")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def community_args(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--platform", default="console", choices=("console", "discord", "slack"),
                        help="platform of the community (default: console)")
        sp.add_argument("--community", default="default",
                        help="guild id / workspace id / console community name (default: default)")

    demo = sub.add_parser("demo", help="load a sample community, run a round, open the console")
    demo.add_argument("--learners", type=int, default=60, help="how many sample learners")
    demo.add_argument("--keep", action="store_true", help="keep the existing demo database")
    con = sub.add_parser("console", help="type /peer and /peeradmin commands in a terminal")
    community_args(con)
    sub.add_parser("run", help="run the bot on the platforms enabled in the config")
    db = sub.add_parser("db", help="database schema migrations")
    dbsub = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    up = dbsub.add_parser("upgrade", help="migrate the database to the newest schema")
    up.add_argument("revision", nargs="?", default="head")
    down = dbsub.add_parser("downgrade", help="migrate the database down to REVISION "
                            "(e.g. 0002, or base: drops every table and its data)")
    down.add_argument("revision", help="the revision to go down to (required: no default)")
    down.add_argument("--yes", action="store_true",
                      help="do not ask for confirmation (for scripts)")
    imp = sub.add_parser("import", help="queue learners from a CSV file (e.g. a Google Forms "
                         "export; encoding and delimiter are detected)")
    imp.add_argument("file", type=Path)
    imp.add_argument("--dry-run", action="store_true",
                     help="print how each header is read and what each row would do; store nothing")
    imp.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                     help="a progress bar on stderr (default: only when stderr is a terminal)")
    community_args(imp)
    exp = sub.add_parser("export", help="write learners, matches or feedback as CSV or XLSX")
    exp.add_argument("what", choices=("learners", "matches", "feedback"))
    exp.add_argument("--format", choices=("csv", "xlsx"), default="csv", dest="fmt",
                     help="csv (UTF-8 with BOM, formulas neutralised) or xlsx (ids and "
                          "phones kept as text); default csv")
    exp.add_argument("--out", type=Path, help="file to write (default: standard output)")
    community_args(exp)
    rnd = sub.add_parser("round", help="run (or preview) a matching round and print it")
    rnd.add_argument("--dry-run", action="store_true", help="preview only: change nothing")
    rnd.add_argument("--json", action="store_true", help="print JSON instead of text")
    rnd.add_argument("--seed", type=int, help="seed (a dry run and a real run with one seed agree)")
    community_args(rnd)
    sub.add_parser("version", help="print the version")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "version":
        print(f"peermatch {_version()}")
        return 0
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"peermatch: configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    url = _database(args, config)
    if args.command in _COMPUTING:
        from bot.process import one_blas_thread_per_process

        one_blas_thread_per_process()
    try:
        return _dispatch(args, config, url)
    except ConfigError as exc:  # e.g. a platform enabled without its token
        print(f"peermatch: configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except DatabaseMismatch as exc:
        print(f"peermatch: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except StorageUnavailable as exc:
        print(f"peermatch: the database at {_redacted(url)} cannot be used: {exc}",
              file=sys.stderr)
        return EXIT_DATABASE
    except KeyboardInterrupt:
        return 130


# The demo keeps its own file (`peermatch demo` starts it afresh each time); the commands that
# look at data use it while the configured default database does not exist yet, and say so.
_LOOKING = ("console", "export", "round")
_QUIET = ("version", "demo")  # print nothing about a database: none, or their own


def _database(args: argparse.Namespace, config: Config) -> str:
    """The database URL this command opens, told on stderr (stdout may be a CSV)."""
    url = args.database or config.database.url
    default = DatabaseConfig().url
    if (not args.database and url == default and args.command in _LOOKING
            and not _sqlite_path(default).exists() and DEMO_DB.exists()):
        url = f"sqlite+aiosqlite:///{DEMO_DB}"
        print(f"peermatch: no database at {_sqlite_path(default)} yet, so this is the demo's "
              f"({DEMO_DB}); choose one with --database or [database] url.", file=sys.stderr)
    elif args.command not in _QUIET:
        print(f"peermatch: database {_redacted(url)}", file=sys.stderr)
    return url


def _sqlite_path(url: str) -> Path:
    return Path(url.removeprefix("sqlite+aiosqlite:///"))


def _confirm_downgrade(url: str, revision: str) -> bool:
    """Ask on the terminal before data is dropped; without a terminal, refuse (--yes)."""
    what = "DROPS EVERY TABLE and all their data" if revision == "base" else (
        f"undoes every migration after {revision}; the data those migrations hold is lost")
    print(f"peermatch db downgrade {revision} on {_redacted(url)} {what}.", file=sys.stderr)
    if not sys.stdin.isatty():
        print("peermatch: refusing without a terminal to confirm; pass --yes in scripts.",
              file=sys.stderr)
        return False
    answer = input("Type the revision again to confirm: ").strip()
    return answer == revision


def _redacted(url: str) -> str:
    """A database URL without its password, for messages."""
    head, sep, tail = url.partition("@")
    if not sep or "://" not in head:
        return url
    scheme, _, credentials = head.partition("://")
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{tail}" if ":" in credentials else url


def _db(args: argparse.Namespace, _config: Config, url: str) -> int:
    if args.db_command == "upgrade":
        upgrade(url, args.revision)
        print(f"Database migrated to {args.revision}.")
        return 0
    if not args.yes and not _confirm_downgrade(url, args.revision):
        print("Nothing changed.", file=sys.stderr)
        return 1
    downgrade(url, args.revision)
    print(f"Database migrated down to {args.revision}.")
    return 0


def _demo(args: argparse.Namespace, config: Config, _url: str) -> int:
    from bot import commands  # heavy imports only for commands that need them

    return asyncio.run(commands.demo(config, args.learners, keep=args.keep))


def _console(args: argparse.Namespace, config: Config, url: str) -> int:
    from bot import commands

    return asyncio.run(commands.console(config, url, args.community))


def _run(_args: argparse.Namespace, config: Config, url: str) -> int:
    from bot import commands
    from bot.process import event_loop_factory

    with asyncio.Runner(loop_factory=event_loop_factory(config.bot.event_loop)) as runner:
        return runner.run(commands.run(config, url))


def _import(args: argparse.Namespace, config: Config, url: str) -> int:
    if not args.file.exists():
        print(f"peermatch: no such file: {args.file}", file=sys.stderr)
        return 1
    from bot import commands
    from core.services.import_file import read_table

    table = read_table(args.file.read_bytes())
    print(f"Read {args.file}: {table.encoding}, {table.delimiter_name}-separated, "
          f"{len(table.records) + len(table.unreadable)} rows.")
    show = sys.stderr.isatty() if args.progress is None else args.progress
    return asyncio.run(commands.import_file(config, url, args.platform, args.community,
                                            table, dry_run=args.dry_run, progress=show))


class _WithoutBom:
    """A binary sink that drops a leading UTF-8 BOM: CSV on a terminal or a pipe is text
    for people and programs; the BOM is for spreadsheets reading a file."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw, self.first = raw, True

    def write(self, data: bytes) -> int:
        if self.first:
            self.first = False
            data = data.removeprefix(b"\xef\xbb\xbf")
        return self.raw.write(data)

    def flush(self) -> None:
        self.raw.flush()


def _export(args: argparse.Namespace, config: Config, url: str) -> int:
    from bot import exporting  # not bot.commands: an export needs no engine (scipy)

    def run(sink: Any) -> int:
        return asyncio.run(exporting.export(config, url, args.platform, args.community,
                                           args.what, args.fmt, sink))

    if args.out:
        with args.out.open("wb") as out:
            rows = run(out)
        print(f"Wrote {args.out} ({rows} rows)")
    else:
        run(sys.stdout.buffer if args.fmt == "xlsx" else _WithoutBom(sys.stdout.buffer))
        sys.stdout.flush()
    return 0


_T = TypeVar("_T")


def _run_handing_over(coro: Coroutine[Any, Any, _T]) -> _T:
    """``asyncio.run(coro)``, its result handed over outside the task. On its way out
    ``asyncio.run`` looks its SIGINT handler up with ``signal.getsignal``, and Python 3.11's
    enum lookup formats that handler (a partial holding the main task, hence the task's
    result) with ``repr`` into an error it then drops: 1.2 s for the reply of a
    100,000-learner round, whose task here returns None."""
    box: list[_T] = []

    async def main() -> None:
        box.append(await coro)

    asyncio.run(main())
    return box[0]


def _round(args: argparse.Namespace, config: Config, url: str) -> int:
    from bot import commands
    from bot.process import gc_paused

    # The collector paused for the whole command (it exits next): the load, the store and
    # the report make hundreds of thousands of objects beside the queue's own, and each
    # collection rescans them all (7 s of a 100,000-learner round; it makes next to no
    # cycles).
    with gc_paused():
        reply = _run_handing_over(commands.round_(config, url, args.platform, args.community,
                                                  dry_run=args.dry_run, seed=args.seed,
                                                  as_data=args.json))
        return _print_round(args, config, reply)


def _print_round(args: argparse.Namespace, config: Config, reply: Reply) -> int:
    """The round's report on stdout (JSON with --json); the exit code."""
    if args.json:
        # one line, through json's C encoder: ``indent`` selects its pure-Python encoder,
        # 5 s of a 100,000-learner round's output (pipe it to `jq` to read it)
        print(json.dumps(reply.data, ensure_ascii=False, separators=(",", ":")))
    else:
        from adapters.console.render import render_text

        print(render_text(reply.text, config.community.timezone, {}))
    return 0 if reply.ok else 1


# One handler per sub-command; each takes the parsed arguments, the config and the database URL.
_HANDLERS: dict[str, Callable[[argparse.Namespace, Config, str], int]] = {
    "db": _db, "demo": _demo, "console": _console, "run": _run, "import": _import,
    "export": _export, "round": _round,
}


def _dispatch(args: argparse.Namespace, config: Config, url: str) -> int:
    handler = _HANDLERS.get(args.command)
    if handler is None:
        raise AssertionError(args.command)  # argparse only allows the commands above
    return handler(args, config, url)

if __name__ == "__main__":
    raise SystemExit(main())
