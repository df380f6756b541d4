"""The rules the domain objects answer themselves, tested on plain objects (no storage)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.model import (
    SUPPORT_MODES,
    Learner,
    Match,
    MatchMember,
    MatchState,
    Mode,
    Profile,
    Setup,
)

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def _learner(paused_until: datetime | None) -> Learner:
    return Learner(community_id=1, platform_user_id="U1", display_name="Ana",
                   paused_until=paused_until, id=1)


def _match(*aliases: str, state: MatchState = MatchState.ACTIVE,
           kind: Mode = Mode.STUDY_BUDDY) -> Match:
    members = [MatchMember(learner_id=i + 1, alias=a) for i, a in enumerate(aliases)]
    return Match(community_id=1, kind=kind, members=members, reasons=[], created_at=NOW,
                 state=state, id=7)


@pytest.mark.parametrize(("until", "paused"), [
    (None, False),
    (NOW - timedelta(seconds=1), False),  # the pause ran out
    (NOW, False),  # ends exactly now: no longer paused
    (NOW + timedelta(seconds=1), True),
    (NOW + timedelta(days=30), True),
])
def test_a_learner_is_paused_only_until_the_pause_ends(until: datetime | None,
                                                       paused: bool) -> None:
    learner = _learner(until)
    assert learner.is_paused(NOW) is paused
    assert learner.pause_end(NOW) == (until if paused else None)


def test_a_match_is_anonymous_when_any_member_has_an_alias() -> None:
    assert not _match("", "").is_anonymous
    assert _match("", "Blue Owl").is_anonymous
    assert _match("Blue Owl", "").alias_of(1) == "Blue Owl"
    assert _match("Blue Owl", "").alias_of(2) == ""
    assert _match("Blue Owl", "").alias_of(99) == ""


def test_dms_fall_back_to_the_space_only_when_the_match_has_one() -> None:
    assert _match("", "").fallback_match_id == 7
    assert _match("", "Blue Owl").fallback_match_id is None


def test_only_active_matches_have_active_members() -> None:
    active = _match("", "")
    ended = _match("", "", state=MatchState.ENDED)
    assert active.is_active and not ended.is_active
    assert [m.learner_id for m in active.active_members] == [1, 2]
    assert ended.active_members == []


def test_both_support_modes_share_one_class_and_every_other_mode_its_own() -> None:
    classes = {mode: mode.mode_class for mode in Mode}
    assert classes[Mode.OFFER_SUPPORT] == classes[Mode.NEED_SUPPORT] == "support"
    others = [classes[m] for m in Mode if m not in SUPPORT_MODES]
    assert len(set(others)) == len(others) and "support" not in others
    assert {m for m in Mode if m.is_support} == SUPPORT_MODES
    assert _match("", "", kind=Mode.NEED_SUPPORT).is_support
    assert not _match("", "").is_support


def test_a_profile_answers_its_mode_class() -> None:
    profile = Profile(learner_id=1, mode=Mode.NEED_SUPPORT, topic="python", languages=("en",),
                      timezone="UTC", availability="Mon 9-17")
    assert profile.mode_class == "support"


def test_a_setup_is_a_preference_unless_only() -> None:
    assert not Setup.VIDEO.required and Setup.VIDEO.kind is Setup.VIDEO
    assert Setup.ONLY_VIDEO.required and Setup.ONLY_VIDEO.kind is Setup.VIDEO
    assert Setup.ONLY_IN_PERSON.kind is Setup.IN_PERSON and not Setup.ANY.required
