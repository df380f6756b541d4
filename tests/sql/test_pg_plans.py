"""PostgreSQL plans a bulk load's statements for their parameters (``custom_plans``).

asyncpg prepares each statement; after five runs PostgreSQL may switch a prepared statement
to one generic plan, made from what the tables held then. A community starts empty, so the
plans cached during an import's first batches were sequential scans, kept while the
learners table grew: a 100,000-row import took 297 s on PostgreSQL (15 s on SQLite), 10.7 of
19.2 s of a 20,000-row one in one lookup by ``platform_user_id = ANY(:ids)``. The bot's own
connections keep PostgreSQL's default: custom plans for every execution doubled a round's
store (its many executions and its triggers' statements)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from adapters.sql.uow import SqlStorage
from bot.app import build_app
from bot.config import Config


async def _mode(storage: SqlStorage) -> str:
    try:
        async with storage.engine.connect() as conn:
            return str((await conn.execute(text("SHOW plan_cache_mode"))).scalar_one())
    finally:
        await storage.dispose()


@pytest.mark.postgres
async def test_an_import_plans_each_statement_and_the_bot_keeps_the_default(
        pg_database: Any) -> None:
    config = Config()
    imports = build_app(config, database_url=pg_database.url, check_schema=False,
                        bulk_load=True)
    bot = build_app(config, database_url=pg_database.url, check_schema=False)
    assert await _mode(imports.storage) == "force_custom_plan"
    assert await _mode(bot.storage) == "auto"
