"""The engine's rules on small hand-made queues: who is matched with whom, and why."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from match_factory import WINTER, Mode, Setup, cand, groups_of, partner_of, run

from core.settings import CommunitySettings
from tests import oracle


def test_bilingual_learner_bridges_language_groups() -> None:
    plan = run([cand(1, langs=("Portuguese",)), cand(2, langs=("Portuguese", "English")),
                cand(3, langs=("English",)), cand(4, langs=("English",))])
    assert sorted(map(sorted, groups_of(plan))) == [[1, 2], [3, 4]]


def test_no_shared_language_is_told_in_words() -> None:
    plan = run([cand(1, topic="Linear Algebra", langs=("Portuguese",)),
                cand(2, topic="Linear Algebra", langs=("English",))])
    assert plan.matches == []
    assert plan.unmatched[1] == "No one else on Linear Algebra speaks Portuguese yet."


def test_setup_is_a_preference_unless_required() -> None:
    # issue 12.5: preferences give way; only two different musts never meet
    assert groups_of(run([cand(1, setup=Setup.VIDEO), cand(2, setup=Setup.VOICE)])) == [{1, 2}]
    assert groups_of(run([cand(1, setup=Setup.ONLY_VIDEO), cand(2, setup=Setup.VOICE)])) == [
        {1, 2}]
    assert groups_of(run([cand(1, setup=Setup.ONLY_VIDEO), cand(2, setup=Setup.ANY)])) == [{1, 2}]
    apart = run([cand(1, setup=Setup.ONLY_VIDEO), cand(2, setup=Setup.ONLY_VOICE)])
    assert apart.matches == []
    assert "video" in apart.unmatched[1] and "only" in apart.unmatched[1]


def test_the_same_setup_is_preferred() -> None:
    plan = run([cand(1, setup=Setup.VIDEO), cand(2, setup=Setup.VOICE),
                cand(3, setup=Setup.ONLY_VIDEO), cand(4, setup=Setup.VOICE)])
    assert sorted(map(sorted, groups_of(plan))) == [[1, 3], [2, 4]]
    assert any("prefer video" in r for r in plan.matches[0].reasons + plan.matches[1].reasons)


def test_modes_and_topics_never_mix() -> None:
    plan = run([cand(1, mode=Mode.STUDY_BUDDY), cand(2, mode=Mode.ACCOUNTABILITY),
                cand(3, topic="Physics"), cand(4, topic="Statistics")])
    assert plan.matches == [] and set(plan.unmatched) == {1, 2, 3, 4}


def test_topic_family_is_one_key() -> None:
    a = replace(cand(1, topic="Calculus I"), topic_key="calculus")
    b = replace(cand(2, topic="Calculus II"), topic_key="calculus")
    assert groups_of(run([a, b])) == [{1, 2}]


def test_supporter_capacity_is_never_exceeded() -> None:
    sup = cand(1, mode=Mode.OFFER_SUPPORT, capacity=2, support_kind="Exam prep")
    needs = [cand(i, mode=Mode.NEED_SUPPORT, support_kind="Exam prep") for i in range(2, 7)]
    plan = run([sup, *needs])
    assert len(plan.matches) == 2
    assert all(
        m.members[0] == (1, "supporter") and m.members[1][1] == "supported" for m in plan.matches
    )
    waiting = [plan.unmatched[i] for i in range(2, 7) if i in plan.unmatched]
    assert len(waiting) == 3 and all("full this round" in w for w in waiting)
    assert all("Exam prep offered and needed" in " ".join(m.reasons) for m in plan.matches)


def test_supporter_without_free_seats_is_not_matched() -> None:
    plan = run([cand(1, mode=Mode.OFFER_SUPPORT, capacity=0), cand(2, mode=Mode.NEED_SUPPORT)])
    assert plan.matches == []
    assert "seats are taken" in plan.unmatched[1]


def test_odd_accountability_learner_joins_a_trio_but_a_study_buddy_waits() -> None:
    trio = run([cand(i, mode=Mode.ACCOUNTABILITY) for i in (1, 2, 3)])
    assert groups_of(trio) == [{1, 2, 3}]
    assert "a trio, so nobody is left out this round" in trio.matches[0].reasons
    pair = run([cand(i) for i in (1, 2, 3)])
    assert len(pair.matches) == 1 and len(pair.unmatched) == 1
    assert "odd one out" in next(iter(pair.unmatched.values()))


def test_blocked_pair_is_never_matched_even_as_the_only_option() -> None:
    plan = run([cand(1), cand(2)], blocked={frozenset((1, 2))})
    assert plan.matches == []
    assert "asked not to be matched" in plan.unmatched[1]


def test_past_partners_are_avoided_when_others_fit() -> None:
    plan = run(
        [cand(i) for i in (1, 2, 3, 4)], past_partners={frozenset((1, 2)), frozenset((3, 4))}
    )
    assert partner_of(plan, 1) in ({3}, {4}) and partner_of(plan, 2) in ({3}, {4})


def test_long_waiter_is_matched_first() -> None:
    for seed in range(5):
        plan = run([cand(1), cand(2), cand(3, waited_days=30)], seed=seed)
        assert 3 not in plan.unmatched


def test_reasons_are_words_top_terms_first() -> None:
    common = {"cohort": "2026-A", "country": "Brazil", "setup": Setup.VIDEO,
              "tz": "America/Sao_Paulo", "langs": ("Portuguese",)}
    plan = run([cand(1, waited_days=22, display_name="Ana", **common), cand(2, **common)])
    reasons = plan.matches[0].reasons
    assert reasons[0] == "both on Calculus II"
    assert "15 h a week in common" in reasons
    for text in ("same cohort (2026-A)", "both in Brazil", "both prefer video",
                 "Ana has waited 3 weeks", "you both speak Portuguese"):
        assert text in reasons
    assert reasons.index("15 h a week in common") < reasons.index("both prefer video")


def test_anonymous_need_support_learner_is_never_named() -> None:
    sup = cand(1, mode=Mode.OFFER_SUPPORT, display_name="Tutor Tom", rating=4.8)
    need = cand(2, mode=Mode.NEED_SUPPORT, display_name="Secret Sam", waited_days=21, rating=5.0)
    plan = run([sup, need])
    text = " ".join(plan.matches[0].reasons)
    assert "Secret Sam" not in text and "Sam" not in text
    assert "Tutor Tom is rated 4.8/5 by past partners" in text
    assert "this learner has waited 3 weeks" in text


def test_study_groups_fill_sizes_within_bounds() -> None:
    plan = run([cand(i, mode=Mode.STUDY_GROUP) for i in range(1, 9)])
    sizes = sorted(len(g) for g in groups_of(plan))
    assert sum(sizes) == 8 and all(3 <= s <= 5 for s in sizes)
    lonely = run([cand(1, mode=Mode.STUDY_GROUP), cand(2, mode=Mode.STUDY_GROUP)])
    assert lonely.matches == []
    assert all("group of at least 3" in why for why in lonely.unmatched.values())


def test_group_needs_time_all_together() -> None:
    # 1-2 share Monday, 2-3 share Tuesday, 1-3 share Wednesday: pairs fit, the trio does not.
    plan = run([cand(1, mode=Mode.STUDY_GROUP, avail="Mon 18:00-20:00, Wed 18:00-20:00"),
                cand(2, mode=Mode.STUDY_GROUP, avail="Mon 18:00-20:00, Tue 18:00-20:00"),
                cand(3, mode=Mode.STUDY_GROUP, avail="Tue 18:00-20:00, Wed 18:00-20:00")])
    assert plan.matches == [] and len(plan.unmatched) == 3


def test_suggested_times_lie_in_everyones_time() -> None:
    a = cand(1, tz="Europe/London", avail="Mon-Fri 18:00-22:00, Sat 10:00-14:00")
    b = cand(2, tz="Africa/Lagos", avail="Mon-Fri 19:00-23:00, Sat 09:00-12:00")
    settings = CommunitySettings(session_minutes=90, suggested_times=3)
    times = run([a, b], settings=settings).matches[0].times
    assert len(times) == 3
    assert len({start.date() for start, _ in times}) == 3  # distinct days first
    for start, end in times:
        assert end - start == timedelta(minutes=90)
        assert start.minute in (0, 30) and start >= WINTER
        assert start.hour >= 18 and end.hour <= 22 or start.weekday() == 5
    assert times == sorted(times)


def test_every_learner_is_matched_or_told_why() -> None:
    cands = [cand(i, mode=mode, langs=langs) for i, (mode, langs) in enumerate([
        (Mode.STUDY_BUDDY, ("English",)), (Mode.STUDY_BUDDY, ("English",)),
        (Mode.STUDY_BUDDY, ("French",)), (Mode.ACCOUNTABILITY, ("English",)),
        (Mode.OFFER_SUPPORT, ("English",)), (Mode.NEED_SUPPORT, ("English",)),
        (Mode.NEED_SUPPORT, ("English",)), (Mode.STUDY_GROUP, ("English",))], start=1)]
    plan = run(cands)
    assert oracle.violations(plan, cands, CommunitySettings(), WINTER, set()) == []
    assert plan.figures["queued"] == 8
    assert plan.figures["matched"] + plan.figures["unmatched"] == 8
    assert plan.figures["matches"] == len(plan.matches)
