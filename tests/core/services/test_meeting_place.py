"""A place to meet: the community's video link in the intro, the invite, the reminders and
the calendar file (LOCATION/URL, with a VALARM per reminder), on every backend."""

from __future__ import annotations

import pytest
from icalendar import Calendar

from core import keys, meeting_place
from core.settings import COMMUNITY, CommunitySettings, SettingError
from tests.helpers import Bot
from tests.scheduler.support import calendar_of, learner_id, matches, pair, rows_by_key, sessions

JITSI = "https://meet.jit.si/peermatch-{session_uid}"


async def test_the_link_is_in_the_intro_invite_reminders_and_calendar(storage) -> None:
    bot = Bot(storage, settings=CommunitySettings(video_link_template=JITSI))
    mid = await pair(bot)
    [match] = await matches(bot)
    rows = await rows_by_key(bot)
    room = meeting_place.room_of_match(match)
    ana = await learner_id(bot, "ana")
    assert f"https://meet.jit.si/peermatch-{room}" in rows[keys.intro_dm(mid, ana)].payload["text"]
    assert f"https://meet.jit.si/peermatch-{room}" in rows[keys.space_open(mid)].payload["intro"]

    assert (await bot.book("ana", "peer schedule", when="1")).ok
    [session] = await sessions(bot, mid)
    url = "https://meet.jit.si/peermatch-" + session.ics_uid.split("@")[0]
    rows = await rows_by_key(bot)
    invite = rows[f"session:{session.id}:seq0:invite:{ana}"]
    assert url in invite.payload["text"]
    reminders = [m for k, m in rows.items() if k.startswith(f"session:{session.id}:seq0:remind:")]
    assert reminders and all(url in m.payload["text"] for m in reminders)
    calendar = calendar_of(invite)
    assert calendar.get("method") == "PUBLISH"
    [event] = calendar.events
    assert str(event["LOCATION"]) == url and str(event["URL"]) == url
    assert url in str(event["DESCRIPTION"])
    alarms = sorted(-a["TRIGGER"].dt.total_seconds() / 60 for a in event.walk("VALARM"))
    assert alarms == sorted(CommunitySettings().reminder_offsets_minutes)
    # The file survives a round trip through the parser calendars use.
    assert Calendar.from_ical(calendar.to_ical()).events[0]["UID"] == session.ics_uid


def test_by_default_every_session_has_a_place() -> None:
    assert CommunitySettings().video_link_template == JITSI  # a room per session, no account
    assert CommunitySettings().voice_channel  # and on Discord a voice channel per match


async def test_no_template_no_link(storage) -> None:
    bot = Bot(storage, settings=CommunitySettings(video_link_template=""))
    mid = await pair(bot)
    assert (await bot.book("ana", "peer schedule", when="1")).ok
    [session] = await sessions(bot, mid)
    ana = await learner_id(bot, "ana")
    invite = (await rows_by_key(bot))[f"session:{session.id}:seq0:invite:{ana}"]
    [event] = calendar_of(invite).events
    assert "LOCATION" not in event and "Where:" not in invite.payload["text"]


@pytest.mark.parametrize("bad", ["http://meet.jit.si/{session_uid}", "https://meet.jit.si/x",
                                 "https://x/{session_uid}/{match}", "https://x/{session_uid} y"])
def test_a_template_is_checked(bad: str) -> None:
    with pytest.raises(SettingError):
        COMMUNITY.parse("video_link_template", bad)
    assert COMMUNITY.parse("video_link_template", f" {JITSI} ") == JITSI
    assert COMMUNITY.parse("video_link_template", "") == ""


def test_room_names_are_url_safe() -> None:
    assert meeting_place.room_of_uid("session-3-a1b2@peermatch.invalid") == "session-3-a1b2"
    assert meeting_place.session_link(JITSI, "oh 5/x@peermatch.invalid") == (
        "https://meet.jit.si/peermatch-oh-5-x")
