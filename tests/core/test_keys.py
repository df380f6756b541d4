"""Idempotency keys: one builder per format, the stored strings unchanged, prefixes exact."""

from __future__ import annotations

from core import keys


def every_key(mid: int, sid: int, lid: int) -> dict[str, str]:
    """One key of each format, for match ``mid``, session ``sid`` and learner ``lid``."""
    return {
        "intro_dm": keys.intro_dm(mid, lid),
        "checkin": keys.checkin(mid, lid),
        "checkin_again": keys.checkin_again(mid, lid, 1_700_000_000),
        "weekly": keys.weekly_checkin(mid, 2, lid),
        "space_open": keys.space_open(mid),
        "space_close": keys.space_close(mid),
        "dm_fallback": keys.dm_fallback(keys.intro_dm(mid, lid)),
        "left": keys.member_left(mid, lid, lid + 1),
        "ended": keys.ended_by_moderator(mid, lid),
        "relay": keys.relay(mid, lid, lid + 1, "abc123"),
        "queue_update": keys.queue_update(mid, 3),
        "pause_end": keys.pause_end(lid, 1_700_000_000),
        "invite": keys.session_invite(sid, 0, lid),
        "reminder": keys.reminder(sid, 0, 60, lid),
        "feedback": keys.feedback_prompt(sid, 0, lid),
        "cancel": keys.session_cancel(sid, lid),
        "accepted_reply": keys.accepted_reply(mid),
    }


def test_formats_are_the_stored_ones() -> None:
    """Existing rows stay reachable: the strings are exactly the ones written before."""
    assert every_key(7, 9, 3) == {
        "intro_dm": "match:7:dm:3",
        "checkin": "match:7:checkin:3",
        "checkin_again": "match:7:checkin:3:again:1700000000",
        "weekly": "match:7:weekly:2:3",
        "space_open": "space-open:7",
        "space_close": "space-close:7",
        "dm_fallback": "dm-fallback:match:7:dm:3",
        "left": "left:7:3:4",
        "ended": "ended:7:3",
        "relay": "relay:7:3:4:abc123",
        "queue_update": "queue:7:update:3",
        "pause_end": "pause-end:3:1700000000",
        "invite": "session:9:seq0:invite:3",
        "reminder": "session:9:seq0:remind:60:3",
        "feedback": "session:9:seq0:feedback:3",
        "cancel": "session:9:cancel:3",
        "accepted_reply": "accepted:7:reply",
    }


def test_formats_are_unique() -> None:
    """No two kinds of message share a key, even for the same ids."""
    built = every_key(1, 1, 1)
    assert len(set(built.values())) == len(built)


def test_each_prefix_matches_only_its_own_family() -> None:
    """Dropping match 1's rows never touches match 12's, session 1's or anyone else's."""
    mine = every_key(1, 1, 1)
    others = [*every_key(12, 12, 12).values(), *every_key(2, 2, 2).values()]
    families = {
        keys.match_prefix(1): {"intro_dm", "checkin", "checkin_again", "weekly"},
        keys.session_prefix(1): {"invite", "reminder", "feedback", "cancel"},
        keys.pause_end_prefix(1): {"pause_end"},
        keys.checkin_again_prefix(1, 1): {"checkin_again"},
    }
    for prefix, family in families.items():
        assert {name for name, key in mine.items() if key.startswith(prefix)} == family, prefix
        assert not [key for key in others if key.startswith(prefix)], prefix


def test_checkin_of_a_learner_is_exact() -> None:
    """Learner 1's check-ins and their follow-ups, never learner 12's."""
    assert keys.is_checkin_of(keys.checkin(5, 1), 5, 1)
    assert keys.is_checkin_of(keys.checkin_again(5, 1, 99), 5, 1)
    assert not keys.is_checkin_of(keys.checkin(5, 12), 5, 1)
    assert not keys.is_checkin_of(keys.checkin_again(5, 12, 99), 5, 1)
    assert not keys.is_checkin_of(keys.weekly_checkin(5, 1, 1), 5, 1)
