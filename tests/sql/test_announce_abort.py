"""A database failure in the middle of expanding a match's announcement (issue 9.5): the
expansion is one transaction, so nothing of it is kept, the announcement stays pending, the
pass goes on, and the next pass expands it whole; every message is then delivered once.
The failure is real: a trigger makes the database refuse the space's row, which is written
after the intro DMs of the same batch."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from core import keys
from core.model import OutboxState
from core.services.delivery import drain
from tests.helpers import Bot
from tests.scheduler.support import learner_id, matches

SQLITE_TRIGGER = ("CREATE TRIGGER refuse_space BEFORE INSERT ON outbox "
                  "WHEN NEW.kind = 'space_open' BEGIN SELECT RAISE(ABORT, 'injected'); END")
PG_TRIGGER = ("CREATE FUNCTION refuse_space() RETURNS trigger AS $$ BEGIN "
              "RAISE EXCEPTION 'injected'; END $$ LANGUAGE plpgsql",
              "CREATE TRIGGER refuse_space BEFORE INSERT ON outbox FOR EACH ROW "
              "WHEN (NEW.kind = 'space_open') EXECUTE FUNCTION refuse_space()")


async def _sql(storage: Any, *statements: str) -> None:
    async with storage.engine.begin() as conn:
        for statement in statements:
            await conn.exec_driver_sql(statement)


async def _states(bot: Bot) -> dict[str, OutboxState]:
    async with bot.storage.uow_factory() as uow:
        return {m.idempotency_key: m.state for m in await uow.outbox.list()}


async def _aborted_then_redone(storage: Any, create: tuple[str, ...], remove: str) -> None:
    bot = Bot(storage)
    for user in ("ana", "ben"):
        assert (await bot.join(user)).ok
    assert (await bot.run("mod", "peeradmin match-now")).ok
    mid = int((await matches(bot))[-1].id)
    ana = await learner_id(bot, "ana")
    await _sql(storage, *create)

    async def one_drain() -> None:
        await drain(bot.storage.uow_factory, bot.clock, {"test": bot.deliverer},
                    defaults=bot.services.defaults)

    await one_drain()  # the expansion fails in the database: logged, nothing kept
    states = await _states(bot)
    assert states[keys.match_made(mid)] is OutboxState.PENDING
    assert keys.intro_dm(mid, ana) not in states  # written before the refusal, rolled back
    assert bot.deliverer.sent == [] or all(
        not m.idempotency_key.startswith(keys.match_prefix(mid)) for m in bot.deliverer.sent)

    await _sql(storage, remove)
    await one_drain()
    states = await _states(bot)
    assert states[keys.match_made(mid)] is OutboxState.SENT
    sent = Counter(m.idempotency_key for m in bot.deliverer.sent)
    assert sent[keys.intro_dm(mid, ana)] == 1 and sent[keys.space_open(mid)] == 1
    assert all(n == 1 for n in sent.values())


async def test_an_expansion_aborted_by_the_database_is_redone_whole_on_sqlite(
        sqlite_storage) -> None:
    await _aborted_then_redone(sqlite_storage, (SQLITE_TRIGGER,), "DROP TRIGGER refuse_space")


@pytest.mark.postgres
async def test_an_expansion_aborted_by_the_database_is_redone_whole_on_postgres(
        pg_storage) -> None:
    await _aborted_then_redone(pg_storage, PG_TRIGGER,
                               "DROP TRIGGER refuse_space ON outbox")
