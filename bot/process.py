"""What touches the whole process, kept out of core/ and handed to it through ports.

- ``WorkerPool``: the matching engine's ``TaskMap``. A round's (mode class, topic) keys are
  independent and share only read-only inputs, so they can be solved in *forked* worker
  processes: the workers inherit the inputs copy-on-write and only each task's number and
  result are pickled. Each worker runs one BLAS thread. One round forks at a time: the task
  reaches the workers through a module global, which a second round must not overwrite.
  The garbage collector is paused while a round's tasks run (``gc_paused``).
- ``RandomIds``: the ``IdSource`` for calendar UIDs (uuid4).
- ``cores``: the cores this process may run on.
- ``event_loop_factory``: the event loop of ``peermatch run`` (``[bot] event_loop``).

Measured (bench/README.md): threads gain nothing for the solve (the GIL), processes do;
with a BLAS thread per core in every worker the cores are oversubscribed.
"""

from __future__ import annotations

import asyncio
import gc
import multiprocessing as mp
import os
import sys
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar

T = TypeVar("T")
MAX_WORKERS = 4  # each worker may touch (copy) up to a share of the pool's memory

_TASK: Callable[[int], Any] | None = None  # set before the fork (under _FORKING), read in workers
_FORKING = threading.Lock()


def event_loop_factory(name: str) -> Callable[[], asyncio.AbstractEventLoop]:
    """The event loop factory for ``[bot] event_loop``: uvloop's (libuv does the polling,
    the transports and the timers in C: less CPU per request for the served bot) or
    asyncio's own."""
    if name == "uvloop":
        import uvloop

        return uvloop.new_event_loop
    return asyncio.new_event_loop


def cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


class _GcPause:
    """Pauses the cyclic garbage collector while at least one holder is inside.

    A round allocates millions of small objects while the queue's own objects are alive:
    the collector would rescan them all again and again (measured: seconds at 100,000
    learners), and a round makes next to no cycles. Counted, so that two concurrent rounds
    do not switch it back on under each other; the state before the first holder is restored.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._holders = 0
        self._was_enabled = False

    @contextmanager
    def __call__(self) -> Iterator[None]:
        with self._lock:
            if self._holders == 0:
                self._was_enabled = gc.isenabled()
                gc.disable()
            self._holders += 1
        try:
            yield
        finally:
            with self._lock:
                self._holders -= 1
                if self._holders == 0 and self._was_enabled:
                    gc.enable()


gc_paused = _GcPause()


def one_blas_thread() -> None:
    """Limit BLAS (numpy's OpenBLAS, MKL, ...) to one thread in this process (a worker)."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")


BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def one_blas_thread_per_process() -> None:
    """One BLAS thread in this process and the processes it starts, unless the operator
    set one of ``BLAS_THREAD_VARIABLES`` (then theirs holds).

    Measured (issue 9): under contention the engine took 8.4-10.0 s at 20,000 learners with
    OpenBLAS's thread per core and 4.0-4.3 s with one; rounds, the event loop and other
    processes share the cores anyway. The variables are read when the library loads, so
    this runs at the CLI's entry, before numpy is imported; if numpy is loaded already,
    threadpoolctl limits the live pools too."""
    if any(os.environ.get(name) for name in BLAS_THREAD_VARIABLES):
        return
    for name in BLAS_THREAD_VARIABLES:
        os.environ[name] = "1"
    if "numpy" in sys.modules:
        one_blas_thread()


def _run(i: int) -> Any:
    assert _TASK is not None
    return _TASK(i)


class WorkerPool:
    """The engine's ``TaskMap`` with up to ``processes`` forked workers.

    ``processes=None``: one per core, at most ``MAX_WORKERS``. Asked for one worker (or
    where the platform cannot fork) it runs the tasks in the calling thread. Either way the
    results come back in task order, so a plan does not depend on which worker ran what.
    """

    def __init__(self, processes: int | None = None) -> None:
        wanted = cores() if processes is None or processes < 1 else processes
        self.processes = max(1, min(wanted, MAX_WORKERS))

    def __call__(self, task: Callable[[int], T], costs: Sequence[float], workers: int,
                 /) -> list[T]:
        """``[task(i) for i in range(len(costs))]``; the costliest tasks (``costs``:
        estimates) start first."""
        count = len(costs)
        workers = min(workers, self.processes, count)
        with gc_paused():
            if workers <= 1 or "fork" not in mp.get_all_start_methods():
                return [task(i) for i in range(count)]
            return self._forked(task, costs, workers)

    @staticmethod
    def _forked(task: Callable[[int], T], costs: Sequence[float], workers: int) -> list[T]:
        global _TASK
        # A second round waits here: its task must not replace the first one's before the
        # first round's workers have all been forked and finished.
        with _FORKING:
            _TASK = task
            try:
                with ProcessPoolExecutor(workers, mp_context=mp.get_context("fork"),
                                         initializer=one_blas_thread) as pool:
                    order = sorted(range(len(costs)), key=lambda i: (-costs[i], i))
                    futures = {i: pool.submit(_run, i) for i in order}
                    return [futures[i].result() for i in range(len(costs))]
            finally:
                _TASK = None


class RandomIds:
    """Random ids (uuid4, 32 hex digits): unique across processes and restarts."""

    def new_id(self) -> str:
        """A fresh random id."""
        return uuid.uuid4().hex
