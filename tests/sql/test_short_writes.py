"""Short writes (issues 9.2 and 10.3): a round computes with no transaction open, so
commands are answered meanwhile, and a round racing manual pairs matches nobody twice.

These run the real round (engine in its thread) and real commands as concurrent tasks on one
event loop, against a real database file: nothing is mocked.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest

from core.model import Learner, MatchState, Mode, Profile, QueueEntry
from core.services.dispatch import effective_settings
from core.services.rounds import run_round
from core.settings import CommunitySettings
from tests.helpers import Bot

UNLIMITED = CommunitySettings(commands_per_minute=0)  # these tests send commands in a loop
TOPICS = ("Python", "Calculus", "Statistics", "Chemistry")
WINDOWS = ("Mon-Fri 18:00-21:00", "Sat 10:00-14:00", "Mon-Sun 07:00-09:00", "Flexible")


async def _seed(bot: Bot, n: int, *, prefix: str = "u") -> Any:
    """``n`` waiting study-buddy learners, stored in bulk (as an import does)."""
    assert (await bot.run("mod", "peer help")).ok  # the community and its moderator
    now = bot.clock.now()
    async with bot.storage.uow_factory() as uow:
        community = await uow.communities.by_external("test", bot.community)
        learners = await uow.learners.add_many([
            Learner(community.id, f"{prefix}{i}", f"Learner {i}", created_at=now)
            for i in range(n)])
        await uow.profiles.save_many([
            Profile(lr.id, Mode.STUDY_BUDDY, TOPICS[i % len(TOPICS)], ("English",),
                    "Europe/London", WINDOWS[(i // len(TOPICS)) % len(WINDOWS)])
            for i, lr in enumerate(learners)])
        await uow.queue.add_many([QueueEntry(lr.id, community.id, Mode.STUDY_BUDDY, now)
                                  for lr in learners])
        await uow.commit()
    return community


async def _active_seats(storage: Any, community_id: int) -> Counter[tuple[int, str]]:
    async with storage.uow_factory(writes=False) as uow:
        active = await uow.matches.list(community_id, MatchState.ACTIVE)
    return Counter((m.learner_id, str(match.kind)) for match in active for m in match.members
                   if m.role != "supporter")


async def test_status_is_answered_while_a_round_over_5000_learners_is_computed(
        sqlite_storage: Any) -> None:
    bot = Bot(sqlite_storage, settings=UNLIMITED)
    community = await _seed(bot, 5000)
    assert (await bot.run("u1", "peer status")).ok  # warm: first contact done
    settings = effective_settings(bot.services, community)
    round_task = asyncio.create_task(run_round(bot.services, community, settings,
                                               dry_run=False))
    answered_during_round: list[str] = []
    newcomers = 0
    while not round_task.done():
        reply = await bot.run("u1", "peer status")  # a reader
        assert reply.ok and ("In the queue" in reply.text or "Match #" in reply.text), reply.text
        newcomers += 1  # a first contact writes (a new learner): no write lock is held
        joined = await bot.run(f"new{newcomers}", "peer status")
        assert joined.ok, joined.text
        if not round_task.done():
            answered_during_round.append(reply.text)
        await asyncio.sleep(0.05)
    outcome = round_task.result()
    assert len(outcome.matches) > 500  # a real round, stored
    assert answered_during_round, "no /peer status was answered while the round ran"
    assert "Match #" in (await bot.run("u1", "peer status")).text or outcome.plan.unmatched
    assert max((await _active_seats(sqlite_storage, community.id)).values()) == 1


async def _pair_while_a_round_runs(storage: Any, learners: int) -> None:
    bot = Bot(storage, settings=UNLIMITED)
    community = await _seed(bot, learners)
    settings = effective_settings(bot.services, community)
    round_task = asyncio.create_task(run_round(bot.services, community, settings,
                                               dry_run=False))
    # Learners of one topic (the round wants to match them too), two at a time.
    same_topic = [[f"u{i}" for i in range(t, learners, len(TOPICS))] for t in range(len(TOPICS))]
    pairs = [(group[j], group[j + 1]) for group in same_topic for j in range(0, len(group) - 1, 2)]
    paired_during_round = 0
    for a, b in pairs:
        if round_task.done():
            break
        reply = await bot.run("mod", "peeradmin pair", user_a=a, user_b=b, confirm="yes")
        if reply.ok and not round_task.done():
            paired_during_round += 1
        await asyncio.sleep(0)
    outcome = await round_task
    assert paired_during_round > 0, "no pair landed while the round ran"
    seats = await _active_seats(storage, community.id)
    twice = [seat for seat, n in seats.items() if n > 1]
    assert twice == [], f"{len(twice)} learners in two active matches"
    # The round dropped the planned matches of those paired meanwhile (they did not wait).
    assert len(outcome.matches) < len(outcome.plan.matches)


async def test_a_pair_racing_a_round_leaves_nobody_in_two_matches_on_sqlite(
        sqlite_storage: Any) -> None:
    await _pair_while_a_round_runs(sqlite_storage, 1200)


@pytest.mark.postgres
async def test_a_pair_racing_a_round_leaves_nobody_in_two_matches_on_postgres(
        pg_storage: Any) -> None:
    await _pair_while_a_round_runs(pg_storage, 1200)


async def test_a_pair_racing_a_round_leaves_nobody_in_two_matches_in_memory(
        memory_storage: Any) -> None:
    await _pair_while_a_round_runs(memory_storage, 1200)
