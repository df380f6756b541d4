"""The candidate kernel merges identical half-hour columns (ranking._distinct_columns).

The merged product must equal the full one: a column kept for ``m`` identical ones counts
``m`` times on the left side. A wrong count or a column dropped that somebody has free
would change every ranking key of the block, and the kernel would list other partners.
"""

from __future__ import annotations

import numpy as np
from match_factory import WINTER, cand

from core.availability import week_start
from core.matching.features import Pool, build_pool
from core.matching.ranking import Encoder
from core.settings import CommunitySettings

WINDOWS = ["Mon-Fri 18:00-21:00", "Sat 10:00-14:00", "Flexible", "Tue/Thu 7pm-9:30pm",
           "weekends 10-12"]
ZONES = ["Europe/London", "Asia/Tokyo", "America/New_York"]


def _full_time_product(pool: Pool, idx: np.ndarray) -> np.ndarray:
    s = pool.slots[idx].astype(np.float32)
    h = s[:, 0::2] + s[:, 1::2]
    out: np.ndarray = (h * np.float32(0.125 * pool.w.overlap_per_hour)) @ h.T
    return out


def test_merged_time_columns_give_the_full_product() -> None:
    cands = [cand(i, tz=ZONES[i % 3], avail=WINDOWS[i % 5]) for i in range(1, 61)]
    pool = build_pool(cands, CommunitySettings(), week_start(WINTER))
    members = np.arange(len(cands), dtype=np.int64)
    enc = Encoder(pool, members, kinds=False, seed=3)
    t = enc.halves(members).shape[1]
    # 5 windows x 3 zones: far fewer distinct half hours than the week's 336
    assert 0 < t < 100
    left, right = enc.left(members), enc.right(members)
    merged = left[:, :t] @ right[:, :t].T
    assert np.allclose(merged, _full_time_product(pool, members), atol=1e-4)
    # and a block with nobody free at all has no time columns
    empty = Encoder(pool, members[:0], kinds=False)
    assert empty.halves(members[:0]).shape == (0, 0)


def test_a_subset_of_the_block_keeps_the_blocks_columns() -> None:
    cands = [cand(i, tz=ZONES[i % 3], avail=WINDOWS[i % 5]) for i in range(1, 31)]
    pool = build_pool(cands, CommunitySettings(), week_start(WINTER))
    members = np.arange(len(cands), dtype=np.int64)
    enc = Encoder(pool, members, kinds=False)
    some = members[::4]
    t = enc.halves(members).shape[1]
    got = enc.left(some)[:, :t] @ enc.right(members)[:, :t].T
    s = pool.slots.astype(np.float32)
    h = s[:, 0::2] + s[:, 1::2]
    want = (h[some] * np.float32(0.125 * pool.w.overlap_per_hour)) @ h[members].T
    assert np.allclose(got, want, atol=1e-4)


def test_a_week_of_shared_answers_is_the_week_of_each_answer() -> None:
    # availability_week converts each distinct (availability, zone) once and copies it: the
    # result must be row for row what converting every learner on their own gives, DST
    # week included (Europe springs forward inside it)
    from match_factory import DST_WEEK

    from core.availability_text import parse_availability
    from core.matching import slots as slots_mod

    texts = WINDOWS + ["Fri 22:00-02:00", "Sun 01:30-03:30", "Mon, Wed 9-5"]
    items = [(parse_availability(texts[i % len(texts)]), ZONES[i // 3 % 3] if i % 7 else
              "Europe/Paris") for i in range(120)]
    start = week_start(DST_WEEK)
    shared = slots_mod.availability_week(items, start)
    alone = slots_mod._week(items, start)
    assert np.array_equal(shared.slots, alone.slots)
    assert np.array_equal(shared.ptr, alone.ptr)
    assert np.array_equal(shared.lo, alone.lo) and np.array_equal(shared.hi, alone.hi)
    assert np.array_equal(shared.aligned, alone.aligned)
    assert shared.slots.sum() > 0
