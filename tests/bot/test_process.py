"""bot/process.py: the worker pool the engine is given, the GC pause, random ids."""

from __future__ import annotations

import asyncio
import gc
import random
import threading
from functools import partial
from typing import Any

import uvloop

from bot.process import RandomIds, WorkerPool, event_loop_factory, gc_paused
from core.matching.engine import plan_round
from core.matching.types import Candidate, RoundPlan
from core.model import Mode
from core.settings import CommunitySettings
from tests.core.matching.match_factory import WINTER, cand
from tests.fakes import InMemoryStorage
from tests.helpers import Bot

TOPICS = ["Calculus II", "Python", "Physics", "Biology"]
MODES = [Mode.STUDY_BUDDY, Mode.ACCOUNTABILITY, Mode.STUDY_GROUP, Mode.NEED_SUPPORT,
         Mode.OFFER_SUPPORT]
WINDOWS = ["Mon-Fri 18:00-21:00", "Sat 10:00-14:00", "Tue 07:00-10:00, Thu 07:00-10:00", "Flexible"]


def queue(n: int, seed: int) -> list[Candidate]:
    rng = random.Random(seed)
    return [cand(i, mode=rng.choice(MODES), topic=rng.choice(TOPICS),
                 tz=rng.choice(["Europe/London", "America/New_York", "Asia/Kolkata"]),
                 avail=rng.choice(WINDOWS), capacity=rng.randint(1, 3), waited_days=rng.random())
            for i in range(1, n + 1)]


def plan(cands: list[Candidate], seed: int, **kw: Any) -> RoundPlan:
    return plan_round(cands, settings=CommunitySettings(), now=WINTER, seed=seed, **kw)


def same(a: RoundPlan, b: RoundPlan) -> bool:
    return (a.matches == b.matches and a.unmatched == b.unmatched
            and a.figures["total_score"] == b.figures["total_score"])


def test_worker_processes_give_the_plan_of_one_thread() -> None:
    cands = queue(160, 1)
    alone = plan(cands, 1)
    forked = plan(cands, 1, workers=2, map_tasks=WorkerPool(2))
    assert forked.figures["workers"] == 2 and alone.figures["workers"] == 1
    assert len(alone.matches) > 10 and same(forked, alone)


async def test_two_concurrent_rounds_with_workers_plan_as_two_serial_rounds() -> None:
    pool = WorkerPool(2)
    queues = [(queue(150, 2), 2), (queue(140, 3), 3)]
    serial = [plan(c, s) for c, s in queues]
    # Both rounds in their own thread at once, as two communities' rounds in the bot.
    both = await asyncio.gather(*(asyncio.to_thread(partial(plan, c, s, workers=2,
                                                            map_tasks=pool))
                                  for c, s in queues))
    assert all(r.figures["workers"] == 2 for r in both)
    assert same(both[0], serial[0]) and same(both[1], serial[1])
    assert not same(serial[0], serial[1])  # the check could tell the rounds apart


def test_the_pool_size_is_capped_and_one_worker_runs_in_the_caller() -> None:
    assert WorkerPool(1).processes == 1 and WorkerPool(64).processes == 4
    assert 1 <= WorkerPool(None).processes <= 4
    threads: list[int] = []
    out = WorkerPool(1)(lambda i: threads.append(threading.get_ident()) or i * i, [1, 5, 2], 3)
    assert out == [0, 1, 4] and set(threads) == {threading.get_ident()}


def test_the_gc_pause_lasts_until_the_last_round_is_done() -> None:
    assert gc.isenabled()
    first, second = gc_paused(), gc_paused()
    first.__enter__()
    second.__enter__()
    assert not gc.isenabled()
    first.__exit__(None, None, None)
    assert not gc.isenabled()  # the other round still runs
    second.__exit__(None, None, None)
    assert gc.isenabled()


def test_a_pause_leaves_a_disabled_collector_disabled() -> None:
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_random_ids_are_hex_and_never_repeat() -> None:
    ids = RandomIds()
    made = {ids.new_id() for _ in range(1000)}
    assert len(made) == 1000 and all(len(x) == 32 and int(x, 16) >= 0 for x in made)


async def test_the_stats_chart_is_drawn_off_the_event_loop() -> None:
    bot = Bot(InMemoryStorage())
    drawn_on: list[int] = []

    def render(_stats: dict[str, Any]) -> bytes:
        drawn_on.append(threading.get_ident())
        return b"\x89PNG fake"

    bot.services.render_chart = render
    assert (await bot.join("ana")).ok
    reply = await bot.run("mod", "peeradmin stats")
    assert drawn_on and drawn_on[0] != threading.get_ident()
    assert [a.content for a in reply.attachments] == [b"\x89PNG fake"]


_BLAS_PROBE = """
import json
from bot.process import one_blas_thread_per_process
one_blas_thread_per_process()
import numpy
from threadpoolctl import threadpool_info
print(json.dumps([p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]))
"""


def _blas_threads(env: dict[str, str]) -> list[int]:
    import json
    import os
    import subprocess
    import sys

    clean = {k: v for k, v in os.environ.items()
             if k not in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    out = subprocess.run([sys.executable, "-c", _BLAS_PROBE], env={**clean, **env},
                         capture_output=True, text=True, check=True).stdout
    return list(json.loads(out.splitlines()[-1]))


def test_one_blas_thread_per_process_unless_the_operator_says_otherwise() -> None:
    assert _blas_threads({}) == [1]
    assert _blas_threads({"OPENBLAS_NUM_THREADS": "2"}) == [2]


def test_the_served_bot_runs_on_the_configured_event_loop() -> None:
    for name, kind in (("uvloop", uvloop.Loop), ("asyncio", asyncio.BaseEventLoop)):
        with asyncio.Runner(loop_factory=event_loop_factory(name)) as runner:
            assert isinstance(runner.get_loop(), kind)
            assert runner.run(asyncio.sleep(0, result=name)) == name
    with asyncio.Runner(loop_factory=event_loop_factory("asyncio")) as runner:
        assert not isinstance(runner.get_loop(), uvloop.Loop)
