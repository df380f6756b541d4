"""Learning and teaching styles (issue 15.4): a soft score term between a supporter and a
learner who share one (visual, auditory, reading-writing, hands-on), and its reason.

Kept apart from the rest of the score so the term is easy to find: ``w.same_style`` is small
(below cohort, country and setup in the documented order: it only breaks near-ties), and
only support matches (``kinds=True`` in core/matching/score.py) carry it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from core.matching.types import Candidate

I64 = npt.NDArray[np.int64]
F32 = npt.NDArray[np.float32]
STYLE_BITS = {"visual": 1, "auditory": 2, "reading-writing": 4, "hands-on": 8}


def style_bits(cands: Sequence[Candidate]) -> I64:
    """Each candidate's styles as a bitmask (0: none given)."""
    return np.array([sum(STYLE_BITS.get(s.casefold(), 0) for s in set(c.styles))
                     for c in cands], dtype=np.int64)


def style_term(styles: I64, weight: float, a: I64, b: I64) -> npt.NDArray[np.float64]:
    """For index arrays: ``weight`` where the pair shares a style, else 0."""
    out: npt.NDArray[np.float64] = weight * ((styles[a] & styles[b]) != 0).astype(np.float64)
    return out


def style_matrix(styles: I64, weight: float, rows: I64, cols: I64) -> F32:
    """rows x cols: ``weight`` where the two share a style, else 0."""
    shared = (styles[rows][:, None] & styles[cols][None, :]) != 0
    out: F32 = np.float32(weight) * shared.astype(np.float32)
    return out


def shared_styles(cands: Sequence[Candidate]) -> list[str]:
    """The styles every one of them gave, in the catalogue's order."""
    common = set(STYLE_BITS)
    for c in cands:
        common &= {s.casefold() for s in c.styles}
    return [s for s in STYLE_BITS if s in common]


def style_reason(cands: Sequence[Candidate], weight: float) -> tuple[float, str] | None:
    """(weight, words) for the match reasons when supporter and learner share a style."""
    common = shared_styles(cands)
    if not common:
        return None
    return weight, f"you both like {' and '.join(common)} learning"
