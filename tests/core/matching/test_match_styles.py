"""Learning/teaching styles: a small soft term between a supporter and a learner who share
one, named in the reasons; never more than cohort, and never for peers."""

from __future__ import annotations

from core.model import Mode
from core.settings import CommunitySettings
from tests.core.matching.match_factory import cand, partner_of, run


def _support(styles_a: tuple[str, ...], styles_b: tuple[str, ...], **a: object) -> list:
    return [cand(1, mode=Mode.NEED_SUPPORT, styles=("visual", "hands-on")),
            cand(2, mode=Mode.OFFER_SUPPORT, styles=styles_a, **a),
            cand(3, mode=Mode.OFFER_SUPPORT, styles=styles_b)]


def test_a_shared_style_breaks_the_tie_and_is_explained() -> None:
    for first, second, winner in ((("auditory",), ("hands-on",), 3),
                                  (("visual",), ("reading-writing",), 2)):
        plan = run(_support(first, second))
        assert partner_of(plan, 1) == {winner}
        (match,) = plan.matches
        shared = "hands-on" if winner == 3 else "visual"
        assert f"you both like {shared} learning" in match.reasons


def test_the_style_term_weighs_less_than_a_shared_cohort() -> None:
    plan = run([cand(1, mode=Mode.NEED_SUPPORT, styles=("visual",), cohort="2026"),
                cand(2, mode=Mode.OFFER_SUPPORT, styles=("visual",)),
                cand(3, mode=Mode.OFFER_SUPPORT, cohort="2026")])
    assert partner_of(plan, 1) == {3}
    weights = CommunitySettings().weights
    assert 0 < weights.same_style < weights.same_cohort


def test_no_shared_style_no_reason_and_peers_are_not_scored_on_it() -> None:
    plan = run(_support(("auditory",), ("reading-writing",)))
    assert not any("learning" in r for m in plan.matches for r in m.reasons)
    peers = run([cand(1, styles=("visual",)), cand(2, styles=("visual",))])
    assert not any("learning" in r for m in peers.matches for r in m.reasons)
