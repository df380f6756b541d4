"""``LearnerRepository.paused_for`` (the ghosts of ``/peeradmin queue``) reads the paused
through ``ix_learners_community_paused`` (migration 0015), not every learner."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import event

from core.model import GHOST_PAUSE, Learner
from tests.helpers import Bot


async def test_paused_for_reads_the_paused_index_on_sqlite(sqlite_storage: Any) -> None:
    bot = Bot(sqlite_storage)
    assert (await bot.join("someone")).ok
    now = bot.clock.now()
    async with sqlite_storage.uow_factory() as uow:
        community = await uow.communities.by_external("test", bot.community)
        assert community is not None and community.id is not None
        ghost = await uow.learners.add(Learner(community.id, "ghost", "Ghost", created_at=now))
        ghost.paused_until, ghost.pause_reason = now + timedelta(days=7), GHOST_PAUSE + "x"
        await uow.learners.update(ghost)
        await uow.commit()
    seen: list[tuple[str, Any]] = []

    def note(_conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        seen.append((statement, params))

    engine = sqlite_storage.engine.sync_engine
    async with sqlite_storage.uow_factory(writes=False) as uow:
        event.listen(engine, "before_cursor_execute", note)
        try:
            paused = await uow.learners.paused_for(community.id, GHOST_PAUSE)
        finally:
            event.remove(engine, "before_cursor_execute", note)
        assert [p.platform_user_id for p in paused] == ["ghost"]
        statement, params = seen[-1]
        plan = (await uow.connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement,
                                                     params)).all()
    assert any("ix_learners_community_paused" in str(row) for row in plan), plan
