"""A round's store re-checks its plan (issue 9.5): it reads who waits by id only, claims
the entries, and when the database refuses a planned match (migration 0005: one active
match per learner and mode) the members it claimed wait again, in their place in line.

Run on memory, SQLite and PostgreSQL against the real store (``round_store.store_plan``).
"""

from __future__ import annotations

from typing import Any

import pytest

from core.matching.types import MatchPlan, RoundPlan
from core.model import Match, MatchMember, Mode, QueueState, Round
from core.services.dispatch import effective_settings
from core.services.round_load import load
from core.services.round_store import store_plan
from tests.helpers import Bot
from tests.sql.test_short_writes import _seed


async def _refused_match_waits_again(storage: Any) -> None:
    bot = Bot(storage)
    community = await _seed(bot, 6)
    settings = effective_settings(bot.services, community)
    now = bot.clock.now()
    async with storage.uow_factory(writes=False) as uow:
        data = await load(uow, community, settings, now)
        before = {e.learner_id: e for e in await uow.queue.waiting(community.id)}
    a, b, c, d = sorted(before)[:4]
    async with storage.uow_factory() as uow:  # a's seat is taken behind the round's back
        await uow.matches.add(Match(community.id, Mode.STUDY_BUDDY,
                                    [MatchMember(a), MatchMember(sorted(before)[5])], [], now))
        await uow.commit()
    plan = RoundPlan([MatchPlan(Mode.STUDY_BUDDY, [(a, "peer"), (b, "peer")], 1.0, ["x"]),
                      MatchPlan(Mode.STUDY_BUDDY, [(c, "peer"), (d, "peer")], 1.0, ["y"])],
                     {sorted(before)[4]: "nobody left"}, {})
    async with storage.uow_factory() as uow:
        await uow.lock_community(community.id, wait=True)
        rnd = await uow.rounds.add(Round(community.id, 7, now, finished_at=now, figures={}))
        stored = await store_plan(uow, community, settings, rnd, plan, data.learners,
                                  data.profiles, now)
        await uow.commit()
    assert [sorted(m.member_ids()) for m in stored] == [[c, d]]
    async with storage.uow_factory(writes=False) as uow:
        after = {e.learner_id: e for e in await uow.queue.waiting(community.id)}
        assert await uow.queue.waiting_ids(community.id) == set(after)
    # a and b were claimed, refused, and put back: the same entries, the same place
    assert a in after and b in after and c not in after and d not in after
    for lid in (a, b):
        assert after[lid].id == before[lid].id
        assert after[lid].joined_at == before[lid].joined_at
        assert after[lid].state is QueueState.WAITING
    assert after[sorted(before)[4]].unmatched_reason == "nobody left"


async def test_a_refused_planned_match_waits_again_in_memory(memory_storage: Any) -> None:
    await _refused_match_waits_again(memory_storage)


async def test_a_refused_planned_match_waits_again_on_sqlite(sqlite_storage: Any) -> None:
    await _refused_match_waits_again(sqlite_storage)


@pytest.mark.postgres
async def test_a_refused_planned_match_waits_again_on_postgres(pg_storage: Any) -> None:
    await _refused_match_waits_again(pg_storage)
