"""The one chart renderer: stats in, PNG bytes out (matplotlib, no screen).

A ``Figure`` object of its own, never pyplot: pyplot keeps process-wide state (the
backend, the current figure) that concurrent renders would share. ``savefig`` on a bare
``Figure`` draws with the Agg canvas without touching the process's backend. The figure is
plain garbage when done; nothing to close. Callers run it off the event loop.
"""

from __future__ import annotations

import io
from typing import Any


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
    waits = stats.get("wait_days", [])
    ax.hist(waits or [0], bins=min(20, max(1, len(waits))), color="#8172B2")
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
