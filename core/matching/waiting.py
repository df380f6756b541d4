"""Why a learner is left waiting: the first hard constraint that rules everyone out.

For each learner left over, the possible partners (same mode class and topic key; the
other side for support) are filtered the way the engine filters them: study setup, then a
shared language, then enough common time, then a whole session in common, then blocks and
past partners. The first filter that leaves nobody is the honest reason; if somebody
survives every filter, the learner lost out to better fits (or was the odd one out).
Vectorised per topic block.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from core.matching.explain import SETUP_WORDS, hours_text
from core.matching.features import F32, I64, lang_share_table, setup_fit_table
from core.matching.score import Scorer, min_slots
from core.matching.types import Candidate
from core.model import Mode
from core.text import join_words, with_article

# Says nothing about a place in line: `/peer status` shows the position next to it.
NEXT = "your waiting time counts in your favour next round"


def explain_waiting(scorer: Scorer, group: I64, left: list[int], *,
                    group_min: int = 2) -> dict[int, str]:
    """learner_id -> reason for every index in ``left`` (all from the same topic block)."""
    pool = scorer.pool
    tables = (setup_fit_table(pool.setup_bits), lang_share_table(pool.lang_sets))
    modes = [pool.cands[j].mode for j in group.tolist()]
    at_offer = np.flatnonzero([m is Mode.OFFER_SUPPORT and pool.cands[j].capacity > 0
                               for m, j in zip(modes, group.tolist(), strict=True)])
    at_need = np.flatnonzero([m is Mode.NEED_SUPPORT for m in modes])
    everyone = np.arange(len(group))
    colf = pool.slots[group].astype(np.float32)
    runf = pool.runs[group].astype(np.float32)
    out: dict[int, str] = {}
    step = max(1, 1_000_000 // max(1, len(group)))
    for r0 in range(0, len(left), step):
        rows = np.array(left[r0:r0 + step], dtype=np.int64)
        shared = pool.slots[rows].astype(np.float32) @ colf.T
        sessions = pool.runs[rows].astype(np.float32) @ runf.T
        for k, i in enumerate(rows.tolist()):
            mode = pool.cands[i].mode
            if mode is Mode.NEED_SUPPORT or mode is Mode.OFFER_SUPPORT:
                at = at_offer if mode is Mode.NEED_SUPPORT else at_need
                others, hours, runs = group[at], shared[k, at], sessions[k, at]
            else:  # everybody else in the block: mask out oneself
                me = int(np.searchsorted(group, i))
                keep = everyone != me
                others, hours, runs = group[keep], shared[k][keep], sessions[k][keep]
            out[pool.cands[i].learner_id] = _reason(scorer, i, others, (hours, runs), tables,
                                                   group_min, alone=len(left) == 1)
    return out


def _reason(scorer: Scorer, i: int, others: I64, time: tuple[F32, F32],
            tables: tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]], group_min: int,
            *, alone: bool) -> str:
    pool = scorer.pool
    c = pool.cands[i]
    topic = c.topic
    if c.mode is Mode.OFFER_SUPPORT and c.capacity <= 0:
        return (
            "All your support seats are taken right now; you'll be matched again when one frees up."
        )
    if len(others) == 0:
        return {
            Mode.NEED_SUPPORT: f"No one offers support on {topic} right now; "
            f"{NEXT} when someone does.",
            Mode.OFFER_SUPPORT: f"No one has asked for support on {topic} yet.",
        }.get(
            c.mode,
            f"No one else is waiting for {with_article(c.mode.label.lower())} on {topic} yet; "
            f"{NEXT}.",
        )
    who = {
        Mode.NEED_SUPPORT: "No supporter",
        Mode.OFFER_SUPPORT: "No learner who needs support",
    }.get(c.mode, "No one else")
    code = int(pool.compat[i])
    setup_ok = tables[0][code, pool.compat[others]]
    if not setup_ok.any():
        words = SETUP_WORDS.get(c.setup.kind, str(c.setup.kind))
        return f"{who} on {topic} is up for {words} yet (you asked for {words} only)."
    lang_ok = setup_ok & tables[1][code, pool.compat[others]]
    if not lang_ok.any():
        # Any one shared language will do, so the list is an "or".
        spoken = join_words(sorted(c.languages), "or") or "your language"
        return f"{who} on {topic} speaks {spoken} yet."
    shared, runs = time
    time_ok = lang_ok & (shared >= min_slots(pool) - 0.5)
    if not time_ok.any():
        h = hours_text(pool.settings.min_overlap_hours)
        return (f"{who} on {topic} shares enough free time with you "
                f"(you need at least {h} a week in common).")
    session_ok = time_ok & (runs > 0.5)
    if not session_ok.any():
        length = pool.settings.session_minutes
        return (f"{who} on {topic} is free at the same time as you for a whole "
                f"{length}-minute session (your common time comes in shorter pieces).")
    fits = others[session_ok]
    history = _history_reason(scorer, i, fits)
    if history:
        return history
    return _crowded_reason(c, topic, group_min, len(fits), alone=alone,
                           min_hours=pool.settings.min_overlap_hours)


def _history_reason(scorer: Scorer, i: int, fits: I64) -> str:
    """Blocks or past partners, when they are the whole story; else ''."""
    blocked = scorer.blocked.get(i, set())
    past = scorer.past.get(i, set())
    if len(fits) > len(blocked) + len(past):  # only then can blocks/past explain it
        return ""
    free = [j for j in fits.tolist() if j not in blocked]
    if not free:
        return "The only learners who fit you are people you asked not to be matched with again."
    if all(j in past for j in free):
        return f"The only learners who fit you this round were past partners; {NEXT}."
    return ""


def _crowded_reason(c: Candidate, topic: str, group_min: int, fitting: int, *, alone: bool,
                    min_hours: float) -> str:
    """Others fit, but the round gave them to someone else (or no group could form)."""
    if c.mode is Mode.NEED_SUPPORT:
        return f"Every supporter who fits you on {topic} is full this round; {NEXT}."
    if c.mode is Mode.OFFER_SUPPORT:
        return (f"Everyone who needs support on {topic} and fits you got a supporter this "
                f"round; {NEXT}.")
    if c.mode is Mode.STUDY_GROUP:
        return (f"Not enough learners on {topic} fit together for a group of at least {group_min} "
                f"(a common language and at least {hours_text(min_hours)} "
                f"a week when all are free); {NEXT}.")
    if alone or fitting == 1:
        return f"You were the odd one out this round: {NEXT}."
    return f"Everyone who fits you was paired with a closer fit this round: {NEXT}."
