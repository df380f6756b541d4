"""Icebreakers and a host (issue 14.3): each intro carries a conversation starter from the
topic's list (the community's own first, then the shipped data) and names a host who is
asked to propose the first time; in groups the host rotates per session."""

from __future__ import annotations

from datetime import UTC, datetime

from core.icebreakers import host_of, shipped, starter_for, starters
from core.model import Match, MatchMember, Mode
from core.settings import CommunitySettings
from tests.helpers import Bot
from tests.scheduler.support import learner_id, matches, pair, rows_by_key

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _match(mid: int, *ids: int) -> Match:
    return Match(1, Mode.STUDY_GROUP, [MatchMember(i) for i in ids], [], NOW, id=mid)


def test_the_shipped_lists_cover_every_default_topic_and_a_default() -> None:
    lists = shipped()
    assert lists["default"] and all(q.strip() for qs in lists.values() for q in qs)
    settings = CommunitySettings()
    for topic in settings.topics:
        assert starters(topic, settings)  # a list of its own or the default one
    assert starters("Python", settings) == lists["python"]
    assert starters("Underwater basket weaving", settings) == lists["default"]


def test_a_community_list_comes_first_and_the_pick_is_stable() -> None:
    own = CommunitySettings(icebreakers={"python": "What do you automate? | Tabs or spaces?"})
    assert starters("Python", own) == ("What do you automate?", "Tabs or spaces?")
    m = _match(7, 1, 2)
    assert starter_for(m, "Python", own) == starter_for(m, "Python", own) == "Tabs or spaces?"
    assert starters("Statistics", own) == shipped()["statistics"]  # others keep the defaults


def test_the_host_rotates_through_a_group_session_by_session() -> None:
    group = _match(5, 11, 12, 13)
    hosts = [host_of(group, k) for k in range(6)]
    assert set(hosts[:3]) == {11, 12, 13} and hosts[3:] == hosts[:3]


async def test_the_intro_and_dms_carry_the_icebreaker_and_ask_the_host(storage) -> None:
    bot = Bot(storage)
    mid = await pair(bot)
    [match] = await matches(bot)
    rows = await rows_by_key(bot)
    starter = starter_for(match, "Python", CommunitySettings())
    intro = rows[f"space-open:{mid}"].payload["intro"]
    assert f"Icebreaker:** {starter}" in intro and "Host:**" in intro
    host = host_of(match)
    ana, ben = await learner_id(bot, "ana"), await learner_id(bot, "ben")
    guest = ben if host == ana else ana
    host_dm = rows[f"match:{mid}:dm:{host}"].payload["text"]
    assert "You host the first session" in host_dm and starter in host_dm
    guest_dm = rows[f"match:{mid}:dm:{guest}"].payload["text"]
    assert "proposes the first time" in guest_dm and "You host" not in guest_dm


async def test_a_group_invite_names_the_next_host(storage) -> None:
    bot = Bot(storage)
    for user in ("ana", "ben", "cat"):
        assert (await bot.join(user, mode="study-group")).ok
    assert "1 match," in (await bot.run("mod", "peeradmin match-now")).text
    [match] = await matches(bot)
    booked = await bot.book("ana", "peer schedule", when="2026-03-04 18:00")
    assert booked.ok, booked.text
    nxt = host_of(match, 1)
    rows = await rows_by_key(bot)
    sid = booked.buttons[0].args["session"]
    assert "You host the next session" in rows[f"session:{sid}:seq0:invite:{nxt}"].payload["text"]
    other = next(i for i in match.member_ids() if i != nxt)
    assert "hosts the next session" in rows[f"session:{sid}:seq0:invite:{other}"].payload["text"]
