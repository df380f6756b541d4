"""The composition root: builds storage, clock and services from the config."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from adapters.sql.migrate import check_up_to_date
from adapters.sql.uow import SqlStorage
from bot.config import Config
from bot.process import RandomIds, WorkerPool
from core.model import Community
from core.services.context import Services


class SystemClock:
    """The real clock (the only place the core's time comes from the wall)."""

    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass
class App:
    config: Config
    storage: SqlStorage
    services: Services

    async def close(self) -> None:
        await self.storage.dispose()


def build_app(config: Config, *, database_url: str | None = None, check_schema: bool = True,
              bulk_load: bool = False) -> App:
    """Wire storage and services. Refuses (DatabaseBehind) a database that is not migrated.
    ``bulk_load``: PostgreSQL plans every statement for its parameters (``peermatch
    import``: adapters/sql/uow.py ``custom_plans``)."""
    url = database_url or config.database.url
    if check_schema:
        check_up_to_date(url)
    storage = SqlStorage(url, connect_timeout=config.database.connect_timeout_seconds,
                         statement_timeout=config.database.statement_timeout_seconds,
                         custom_plans=bulk_load)
    # matching_workers: 1 = the round in the bot's own process; 0 = a worker per core.
    workers = config.community_defaults.matching_workers
    services = Services(uow_factory=storage.uow_factory, clock=SystemClock(),
                        defaults=config.community_defaults, ids=RandomIds(),
                        task_map=WorkerPool(None if workers == 0 else workers))
    return App(config, storage, services)


async def find_community(app: App, platform: str, external_id: str) -> Community:
    """The stored community, or exit with a sentence saying it does not exist yet."""
    async with app.services.uow_factory(writes=False) as uow:
        community = await uow.communities.by_external(platform, external_id)
    if community is None:
        raise SystemExit(f"peermatch: there is no {platform} community '{external_id}' yet "
                         "(it is created when someone first uses a command there).")
    return community


def setup_logging(level: str) -> None:
    logging.basicConfig(level=getattr(logging, level.upper(), logging.INFO),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # Tokens travel in headers; never let a library's debug logging print them.
    for noisy in ("discord.http", "slack_sdk.web", "aiosqlite", "asyncio"):
        logging.getLogger(noisy).setLevel(max(logging.INFO, logging.getLogger(noisy).level))
    # A line per job run every few seconds drowns what matters.
    for chatty in ("apscheduler", "alembic.runtime.migration"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
