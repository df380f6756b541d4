"""Why a match was made, in plain words, the biggest score terms first.

Reasons are shown to every member, so a learner who needs support is never named or
described by anything personal: their wait is mentioned without a name, their rating never.
"""

from __future__ import annotations

from core.matching.features import Pool, near_offset_bonus
from core.matching.score import Scorer
from core.matching.styles import style_reason
from core.model import Mode, Setup

SETUP_WORDS = {
    Setup.TEXT: "text chat", Setup.VOICE: "voice calls", Setup.VIDEO: "video",
    Setup.IN_PERSON: "meeting in person",
}
TOP = float("inf")


def hours_text(h: float) -> str:
    return f"{h:g} h" if h == int(h) else f"{h:.1f} h"


def weeks_text(days: float) -> str:
    weeks = int(days // 7)
    return "1 week" if weeks == 1 else f"{weeks} weeks"


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _place_terms(scorer: Scorer, members: list[int], both: str) -> list[tuple[float, str]]:
    """Cohort, country and time-zone reasons."""
    w, cs, n = scorer.pool.w, [scorer.pool.cands[i] for i in members], len(members)
    terms: list[tuple[float, str]] = []
    if len({c.cohort for c in cs}) == 1 and cs[0].cohort:
        terms.append((w.same_cohort * n / 2, f"same cohort ({cs[0].cohort})"))
    offs = [scorer.offset[i] for i in members]
    spread = max(offs) - min(offs)
    if len({c.country.casefold() for c in cs}) == 1 and cs[0].country:
        terms.append((max(w.same_country, near_offset_bonus(spread, w)) * n / 2,
                      f"{both} in {cs[0].country}"))
    elif near_offset_bonus(spread, w) > 0:
        gap = ("the same time zone offset" if spread == 0
               else f"time zones {hours_text(spread)} apart")
        terms.append((near_offset_bonus(spread, w) * n / 2, gap))
    return terms


def _people_terms(scorer: Scorer, members: list[int]) -> list[tuple[float, str]]:
    """Good ratings and long waits, person by person (never naming someone in need)."""
    w = scorer.pool.w
    terms: list[tuple[float, str]] = []
    for i in members:
        c = scorer.pool.cands[i]
        named = c.mode is not Mode.NEED_SUPPORT and bool(c.display_name)
        if c.rating is not None and c.rating >= 4 and named:
            terms.append((w.rating * (c.rating - 3),
                          f"{c.display_name} is rated {c.rating:.1f}/5 by past partners"))
        if c.waited_days >= 7:
            who = f"{c.display_name} has" if named else (
                "this learner has" if c.mode is Mode.NEED_SUPPORT else "one of you has")
            terms.append((scorer.node[i], f"{who} waited {weeks_text(c.waited_days)}"))
    return terms


def reasons(scorer: Scorer, members: list[int], kind: Mode, h: float, *,
            trio: bool = False) -> list[str]:
    """The match's reasons, most important first (``h``: weekly hours all share)."""
    pool: Pool = scorer.pool
    w = pool.w
    cs = [pool.cands[i] for i in members]
    n = len(cs)
    both = "both" if n == 2 else "all"
    terms: list[tuple[float, str]] = []
    topics = sorted({c.topic for c in cs})
    if kind is Mode.OFFER_SUPPORT or kind is Mode.NEED_SUPPORT:
        terms.append((TOP, f"support on {_join(topics)}"))
    else:
        terms.append((TOP, f"{both} on {_join(topics)}"))
    when = "in common" if n == 2 else "when all of you are free"
    terms.append((n / 2 * w.overlap_per_hour * min(h, w.overlap_cap_hours),
                  f"{hours_text(h)} a week {when}"))
    terms += _place_terms(scorer, members, both)
    setups = {c.setup.kind for c in cs}
    if len(setups) == 1 and cs[0].setup.kind is not Setup.ANY:
        terms.append((w.same_setup * n / 2, f"{both} prefer {SETUP_WORDS[cs[0].setup.kind]}"))
    kinds = {c.support_kind.casefold() for c in cs}
    if kind in (Mode.OFFER_SUPPORT, Mode.NEED_SUPPORT) and len(kinds) == 1 and cs[0].support_kind:
        terms.append((w.support_kind, f"help with {cs[0].support_kind} offered and needed"))
    if kind in (Mode.OFFER_SUPPORT, Mode.NEED_SUPPORT) and (
            style := style_reason(cs, w.same_style)):
        terms.append(style)
    terms += _people_terms(scorer, members)
    common = scorer.langs[scorer.code[members[0]]]
    for i in members[1:]:
        common = common & scorer.langs[scorer.code[i]]
    spoken = sorted(x for x in cs[0].languages if x.casefold() in common)
    if spoken:
        terms.append((0.1, f"you {both} speak {_join(spoken)}"))
    if trio:
        terms.append((w.base / 2, "a trio, so nobody is left out this round"))
    if n > 2 and kind is Mode.STUDY_GROUP:
        fit = sum(1 for c in cs if (c.group_size or pool.settings.group_default) == n)
        if fit * 2 > n:
            terms.append(
                (w.group_size_fit * fit, f"a group of {n}, the size most of you asked for")
            )
    mine = set(members)
    if any(scorer.past[a] & mine for a in members if a in scorer.past):
        terms.append((-1.0, "you have been matched together before (the best fit available)"))
    terms.sort(key=lambda t: -t[0])
    return [text for _, text in terms]
