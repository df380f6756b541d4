"""PostgreSQL plans every statement for its parameters (``plan_cache_mode``).

asyncpg prepares each statement; after five runs PostgreSQL may switch a prepared statement
to one generic plan, made from what the tables held then. A community starts empty, so the
plans cached during an import's first batches were sequential scans, kept while the
learners table grew: a 100,000-row import took 297 s on PostgreSQL (15 s on SQLite), 10.7 of
19.2 s of a 20,000-row one in one lookup by ``platform_user_id = ANY(:ids)``."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text


@pytest.mark.postgres
async def test_the_bot_s_connections_plan_each_statement_for_its_parameters(
        pg_database: Any) -> None:
    storage = pg_database.storage()
    try:
        async with storage.engine.connect() as conn:
            mode = (await conn.execute(text("SHOW plan_cache_mode"))).scalar_one()
    finally:
        await storage.dispose()
    assert mode == "force_custom_plan"
