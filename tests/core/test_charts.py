"""The stats chart: waits binned before drawing (issue 9.7), a PNG out, the warm-up figure."""

from __future__ import annotations

import numpy as np

from core.charts import WARM_UP, stats_png, wait_histogram


def test_waits_are_binned_as_numpy_would_bin_them() -> None:
    waits = [i / 7 for i in range(50_000)]
    counts, edges = wait_histogram(waits)
    assert len(counts) == 20 and counts.sum() == 50_000
    expected, expected_edges = np.histogram(np.asarray(waits), bins=20)
    assert counts.tolist() == expected.tolist() and edges.tolist() == expected_edges.tolist()
    few, few_edges = wait_histogram([2.0, 2.0, 5.0])
    assert few.tolist() == [2, 0, 1] and few_edges[0] == 2.0 and few_edges[-1] == 5.0
    nobody, _ = wait_histogram([])
    assert nobody.tolist() == [1]  # one empty-looking bar at 0, as before


def test_the_chart_is_a_png_with_or_without_waits() -> None:
    stats = {"match_rate": 0.5, "meeting_rate": 0.25, "median_wait_days": 3.0,
             "wait_days": [1.0, 2.5, 3.0, 9.0], "waiting_by_mode": {"study-buddy": 4},
             "ratings": {"clarity": 4.5}, "title": "PeerMatch: test"}
    for figures in (stats, WARM_UP):
        assert stats_png(figures).startswith(b"\x89PNG\r\n\x1a\n")
