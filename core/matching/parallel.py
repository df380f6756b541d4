"""Independent tasks in forked worker processes.

A round's blocks share nothing but read-only inputs (the pool, the scorer), so each
(mode class, topic) key can be solved on its own core. The workers are *forked*: they
inherit the inputs copy-on-write, nothing is pickled but each task's number and result.
The results come back in task order, so the plan does not depend on which worker ran what.
Measured (bench/README.md): threads gain nothing here (the GIL), processes do.
"""

from __future__ import annotations

import ctypes
import multiprocessing as mp
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

T = TypeVar("T")
MAX_WORKERS = 4  # each worker may touch (copy) up to a share of the pool's memory

_TASK: Callable[[int], Any] | None = None  # set before the fork, read in the workers


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def one_blas_thread() -> None:
    """One BLAS thread per worker: with a thread per core in every worker the cores are
    oversubscribed (measured at 100,000 learners: slower than not forking at all). Only
    numpy's bundled OpenBLAS is known; elsewhere this does nothing."""
    libs = Path(np.__file__).resolve().parent.parent / "numpy.libs"
    for path in sorted(libs.glob("*openblas*")) if libs.is_dir() else []:
        lib = ctypes.CDLL(str(path))
        for name in ("scipy_openblas_set_num_threads64_", "openblas_set_num_threads64_",
                     "openblas_set_num_threads"):
            setter = getattr(lib, name, None)
            if setter is not None:
                setter(ctypes.c_int(1))
                return


def _run(i: int) -> Any:
    assert _TASK is not None
    return _TASK(i)


def run_all(task: Callable[[int], T], costs: Sequence[float], workers: int) -> list[T]:
    """``[task(i) for i in range(len(costs))]``; in up to ``workers`` forked processes,
    the costliest tasks first (``costs``: estimates), when more than one worker is asked
    for and the platform can fork. Sequential otherwise."""
    count = len(costs)
    workers = min(workers, MAX_WORKERS, count)
    if workers <= 1 or "fork" not in mp.get_all_start_methods():
        return [task(i) for i in range(count)]
    global _TASK
    _TASK = task
    try:
        with ProcessPoolExecutor(workers, mp_context=mp.get_context("fork"),
                                 initializer=one_blas_thread) as pool:
            order = sorted(range(count), key=lambda i: (-costs[i], i))
            futures = {i: pool.submit(_run, i) for i in order}
            return [futures[i].result() for i in range(count)]
    finally:
        _TASK = None
