"""The queue as numpy arrays: what the scorer and the solvers read.

Categorical attributes become small integer codes plus lookup tables, so a block's whole
score matrix is a few gathers and adds instead of a Python loop over pairs:

* ``compat``: one code per (language set, setup). ``compat_table[a, b]`` is ``-inf`` when the
  two share no language or both *require* different setups (a hard constraint; a setup
  is a preference unless marked "only-..."), otherwise the same-setup bonus. Bilingual
  learners simply have their own code that is compatible with both language groups,
  which is how they bridge them.
* ``geo``: one code per (country, UTC offset); ``geo_table`` holds the same-country or
  near-offset bonus.
* ``cohort`` / ``kind``: equal codes mean the same cohort / support kind; empty values get
  unique negative codes so they never count as equal.
* ``node``: the per-learner terms (wait-time ageing, rating) that every match of theirs earns.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from math import ceil

import numpy as np
import numpy.typing as npt

from core.matching.slots import (
    SLOT_MINUTES,
    U8,
    Week,
    availability_week,
    session_starts,
    utc_offset_hours,
)
from core.matching.styles import style_bits
from core.matching.types import Candidate
from core.model import Setup
from core.settings import CommunitySettings, MatchingWeights

F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]
_KIND_BITS = {Setup.TEXT: 1, Setup.VOICE: 2, Setup.VIDEO: 4, Setup.IN_PERSON: 8, Setup.ANY: 15}


def setup_bits(setup: Setup) -> int:
    """The ways a learner can meet, as bits: a required setup's own, else every way."""
    return _KIND_BITS[setup.kind] if setup.required else _KIND_BITS[Setup.ANY]


def near_offset_bonus(delta_hours: float, w: MatchingWeights) -> float:
    return max(0.0, w.near_offset_per_hour * (3.0 - abs(delta_hours)))


def _codes(keys: list[object]) -> tuple[I64, list[object]]:
    index: dict[object, int] = {}
    codes = np.fromiter((index.setdefault(k, len(index)) for k in keys), np.int64, len(keys))
    return codes, list(index)


def _unique_or_negative(values: list[str]) -> I64:
    """Equal non-empty strings get equal codes >= 0; empty ones get distinct codes < 0."""
    index: dict[str, int] = {}
    out = np.empty(len(values), dtype=np.int64)
    for i, v in enumerate(values):
        out[i] = index.setdefault(v.casefold(), len(index)) if v else -1 - i
    return out


@dataclass
class Pool:
    """All candidates of a round as arrays (row i = ``cands[i]``)."""

    cands: list[Candidate]
    settings: CommunitySettings
    start: datetime
    week: Week  # exact merged UTC minutes per learner (for reasons)
    slots: U8  # quarter hours free (inward), (n, 672)
    runs: U8  # quarter hours from which a whole session fits (slots.session_starts)
    compat: I64
    compat_table: F32
    lang_sets: list[frozenset[str]]  # per compat code: casefolded languages
    setup_bits: list[int]  # per compat code: the ways they can meet (setup_bits)
    geo: I64
    geo_table: F32
    offset: F32
    cohort: I64
    kind: I64
    node: F32
    words: npt.NDArray[np.uint64]  # the slot rows packed 64 to a word, for popcounts
    run_words: npt.NDArray[np.uint64]  # the session-start rows packed likewise
    styles: I64 | None = None  # learning/teaching styles as bitmasks (core/matching/styles.py)

    @property
    def w(self) -> MatchingWeights:
        return self.settings.weights


def build_pool(cands: list[Candidate], settings: CommunitySettings, start: datetime,
               now: datetime | None = None) -> Pool:
    """The round's arrays for the week from ``start``; a session may start at ``now`` at the
    earliest (default: ``start``), so every match has a time still to come."""
    w = settings.weights
    week = availability_week([(c.availability, c.timezone) for c in cands], start)
    slots = week.slots
    runs = session_starts(slots, settings.session_minutes)
    if now is not None and now > start:
        runs[:, :ceil((now - start).total_seconds() / 60 / SLOT_MINUTES)] = 0
    folded: dict[frozenset[str], frozenset[str]] = {}
    langs = [folded.get(c.languages) or folded.setdefault(
        c.languages, frozenset(x.casefold() for x in c.languages)) for c in cands]
    compat, ckeys = _codes([(lg, c.setup) for lg, c in zip(langs, cands, strict=True)])
    lang_sets = [k[0] for k in ckeys]  # type: ignore[index]
    setups = [k[1] for k in ckeys]  # type: ignore[index]
    zone_offset = {tz: utc_offset_hours(tz, start) for tz in {c.timezone for c in cands}}
    offset = np.array([zone_offset[c.timezone] for c in cands], dtype=np.float32)
    geo, gkeys = _codes([(c.country.casefold(), zone_offset[c.timezone]) for c in cands])
    weeks = np.minimum(np.maximum(np.array([c.waited_days for c in cands], np.float64), 0) / 7,
                       w.wait_cap_weeks)
    rating = np.array([3.0 if c.rating is None else c.rating for c in cands], np.float64)
    node = w.wait_per_week * weeks + w.rating * (rating - 3.0)
    return Pool(
        cands=cands, settings=settings, start=start, week=week, slots=slots, runs=runs,
        compat=compat, compat_table=_compat_table(lang_sets, setups, w), lang_sets=lang_sets,
        setup_bits=[setup_bits(s) for s in setups],
        geo=geo, geo_table=_geo_table(gkeys, w), offset=offset,
        cohort=_unique_or_negative([c.cohort for c in cands]),
        kind=_unique_or_negative([c.support_kind for c in cands]),
        node=node.astype(np.float32), words=pack_words(slots), run_words=pack_words(runs),
        styles=style_bits(cands),
    )


def pack_words(slots: U8) -> npt.NDArray[np.uint64]:
    """(n, 11) uint64: bit s of the row = slot s."""
    packed = np.packbits(slots, axis=1, bitorder="little")
    pad = (-packed.shape[1]) % 8
    if pad:
        packed = np.pad(packed, ((0, 0), (0, pad)))
    return np.ascontiguousarray(packed).view("<u8").astype(np.uint64)


def lang_share_table(lang_sets: list[frozenset[str]]) -> npt.NDArray[np.bool_]:
    """[a, b]: the two language sets share a language (bitmasks, any number of languages)."""
    vocab = sorted({x for s in lang_sets for x in s})
    words = max(1, -(-len(vocab) // 64))
    bit = {x: i for i, x in enumerate(vocab)}
    masks = np.zeros((len(lang_sets), words), dtype=np.uint64)
    for r, s in enumerate(lang_sets):
        for x in s:
            masks[r, bit[x] // 64] |= np.uint64(1 << (bit[x] % 64))
    share: npt.NDArray[np.bool_] = ((masks[:, None, :] & masks[None, :, :]) != 0).any(axis=2)
    return share


def setup_fit_table(setup_bits: list[int]) -> npt.NDArray[np.bool_]:
    """[a, b]: the setups can meet ("any" fits everything)."""
    sb = np.array(setup_bits, dtype=np.int64)
    fits: npt.NDArray[np.bool_] = (sb[:, None] & sb[None, :]) != 0
    return fits


def _compat_table(lang_sets: list[frozenset[str]], setups: list[Setup], w: MatchingWeights) -> F32:
    """-inf where two codes cannot meet (no common language / required setups that differ);
    else the same-setup bonus when both prefer or require the same way (not "any")."""
    share = lang_share_table(lang_sets)
    sb = np.array([_KIND_BITS[s.kind] for s in setups], dtype=np.int64)
    fits = setup_fit_table([setup_bits(s) for s in setups])
    same = (sb[:, None] == sb[None, :]) & (sb[:, None] != _KIND_BITS[Setup.ANY])
    table = np.where(same, np.float32(w.same_setup), np.float32(0.0)).astype(np.float32)
    table[~(share & fits)] = -np.inf
    return table


def _geo_table(keys: list[object], w: MatchingWeights) -> F32:
    countries = [k[0] for k in keys]  # type: ignore[index]
    offs = np.array([k[1] for k in keys], dtype=np.float64)  # type: ignore[index]
    near = np.maximum(0.0, w.near_offset_per_hour * (3.0 - np.abs(offs[:, None] - offs[None, :])))
    cc = _unique_or_negative(countries)
    same = (cc[:, None] == cc[None, :]) & (cc[:, None] >= 0)
    return np.where(same, np.maximum(near, w.same_country), near).astype(np.float32)
