"""The one chart renderer: stats in, PNG bytes out (matplotlib, no screen).

A ``Figure`` object of its own, never pyplot: pyplot keeps process-wide state (the
backend, the current figure) that concurrent renders would share. ``savefig`` on a bare
``Figure`` draws with the Agg canvas without touching the process's backend. The figure is
plain garbage when done; nothing to close. Callers run it off the event loop.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any


def wait_histogram(waits: Sequence[float]) -> tuple[Any, Any]:
    """(counts, bin edges) of the waits: up to 20 equal bins, as ``numpy.histogram``
    makes them (one bin of 0 when nobody waited)."""
    import numpy as np

    values = np.asarray(waits or [0.0], dtype=float)
    return np.histogram(values, bins=min(20, max(1, len(waits))))


# The figures of a community with nothing yet. The bot draws them once in a thread at
# start-up (bot/runner.py), so the first `/peeradmin stats` does not pay for importing
# matplotlib and loading its fonts (about a second).
WARM_UP: dict[str, Any] = {"match_rate": 0.0, "meeting_rate": 0.0, "median_wait_days": 0.0}


def stats_png(stats: dict[str, Any]) -> bytes:
    """A 2x2 dashboard: rates, waiting time, queue by mode, ratings."""
    # Imported here: matplotlib costs about a second to import and only stats need it.
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 6), dpi=100)
    axes = fig.subplots(2, 2, squeeze=False)
    ax = axes[0][0]
    rates = {"matched": stats["match_rate"], "met": stats["meeting_rate"]}
    ax.bar(list(rates), [100 * v for v in rates.values()], color=["#4C72B0", "#55A868"])
    ax.set_ylim(0, 100)
    ax.set_title("Match and meeting rate (%)")
    ax = axes[0][1]
    counts, edges = wait_histogram(stats.get("wait_days", []))
    # Binned already: matplotlib draws 20 bars, not 50,000 values it would reshape first.
    ax.hist(edges[:-1], bins=edges, weights=counts, color="#8172B2")
    ax.set_title(f"Days waited before a match (median {stats['median_wait_days']:.1f})")
    ax = axes[1][0]
    by_mode = stats.get("waiting_by_mode", {})
    ax.barh(list(by_mode) or ["(none)"], list(by_mode.values()) or [0], color="#C44E52")
    ax.set_title("Waiting now, by mode")
    ax = axes[1][1]
    ratings = stats.get("ratings", {})
    ax.bar(list(ratings) or ["(none)"], list(ratings.values()) or [0], color="#DD8452")
    ax.set_ylim(0, 5)
    ax.set_title("Average rating by criterion")
    ax.tick_params(axis="x", labelrotation=20)
    fig.suptitle(stats.get("title", "PeerMatch"))
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()
