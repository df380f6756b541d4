"""The .ics invites: what Google Calendar and Outlook need (RFC 5545/5546), and nothing that
would reveal an anonymous learner."""

from __future__ import annotations

from datetime import timedelta

from icalendar import Calendar

from core import ics
from core.model import Session
from core.ports import CountingIds
from tests.helpers import Bot
from tests.scheduler.support import calendar_of, learner_id, matches, outbox_rows, sessions, utc

START = utc(2026, 3, 10, 18)


def _session(sequence: int = 0) -> Session:
    return Session(7, START, START + timedelta(hours=1), 1, "session-7-abc@peermatch.invalid",
                   sequence=sequence, id=12)


def test_an_invite_without_attendees_is_published_in_utc() -> None:
    raw = ics.invite(_session(), summary="PeerMatch: Study buddy with Ben",
                     description="Session #12; move it: /peer reschedule 12 <when>",
                     stamp=utc(2026, 3, 2, 9))
    text = raw.decode()
    assert text.startswith("BEGIN:VCALENDAR\r\n") and text.endswith("END:VCALENDAR\r\n")
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))  # folded lines
    # REQUEST needs ATTENDEE lines (RFC 5546 3.2.2); the bot knows no e-mail addresses.
    for line in ("VERSION:2.0", f"PRODID:{ics.PRODID}", "METHOD:PUBLISH", "STATUS:CONFIRMED",
                 "DTSTART:20260310T180000Z", "DTEND:20260310T190000Z", "SEQUENCE:0",
                 "DTSTAMP:20260302T090000Z", "UID:session-7-abc@peermatch.invalid"):
        assert line + "\r\n" in text, line
    assert "ATTENDEE" not in text and "ORGANIZER;CN=PeerMatch:mailto:" in text
    [event] = Calendar.from_ical(raw).events
    assert event.start == START and event.end == START + timedelta(hours=1)
    # The same session makes the same file: nothing random but the UID chosen at booking.
    assert raw == ics.invite(_session(), summary="PeerMatch: Study buddy with Ben",
                             description="Session #12; move it: /peer reschedule 12 <when>",
                             stamp=utc(2026, 3, 2, 9))


def test_a_cancellation_keeps_the_uid_and_raises_the_sequence() -> None:
    raw = ics.invite(_session(sequence=2), summary="s", description="d", stamp=START, cancel=True)
    cal = Calendar.from_ical(raw)
    [event] = cal.events
    assert cal.get("method") == "PUBLISH" and event["STATUS"] == "CANCELLED"
    assert not event.walk("VALARM") and event["TRANSP"] == "TRANSPARENT"
    assert event["SEQUENCE"] == 2 and str(event["UID"]) == "session-7-abc@peermatch.invalid"
    assert ics.filename(_session(), cancel=True) == "peermatch-session-12-cancelled.ics"


def test_known_attendees_make_a_request_and_a_cancel() -> None:
    request = Calendar.from_ical(ics.invite(_session(), summary="s", description="d",
                                            stamp=START, attendees=("ana@example.org",)))
    cancel = Calendar.from_ical(ics.invite(_session(1), summary="s", description="d",
                                           stamp=START, cancel=True,
                                           attendees=("ana@example.org",)))
    assert request.get("method") == "REQUEST" and cancel.get("method") == "CANCEL"
    assert str(request.events[0]["ATTENDEE"]) == "mailto:ana@example.org"


def test_alarms_match_the_reminders_and_the_link_is_the_location() -> None:
    raw = ics.invite(_session(), summary="s", description="d", stamp=START,
                     alarms_minutes=(60, 1440, 0), location="https://meet.jit.si/pm-x")
    [event] = Calendar.from_ical(raw).events
    triggers = sorted(a["TRIGGER"].dt for a in event.walk("VALARM"))
    assert triggers == [-timedelta(days=1), -timedelta(hours=1)]
    assert {str(a["ACTION"]) for a in event.walk("VALARM")} == {"DISPLAY"}
    assert str(event["LOCATION"]) == "https://meet.jit.si/pm-x"
    assert str(event["URL"]) == "https://meet.jit.si/pm-x"


def test_every_new_session_gets_its_own_uid() -> None:
    ids = CountingIds()
    assert ics.new_uid(1, ids) != ics.new_uid(1, ids)
    uid = ics.new_uid(3, ids)
    assert uid.startswith("session-3-") and uid.endswith("@peermatch.invalid")


async def test_an_anonymous_learner_is_an_alias_in_the_supporters_invite(storage) -> None:
    bot = Bot(storage)
    assert (await bot.join("sam", mode="offer-support", support_kind="Concepts", capacity="2")).ok
    assert (await bot.join("nia", mode="need-support", support_kind="Concepts",
                           anonymous="yes")).ok
    reply = await bot.match_now()
    assert "1 match," in reply.text, reply.text
    proposed = await bot.run("sam", "peer schedule", when="2026-03-03 18:00")
    assert proposed.ok and "{u:nia}" not in proposed.text and "Anonymous learner" in proposed.text
    pid = proposed.buttons[0].args["proposal"]
    assert (await bot.run("nia", "peer accept", proposal=pid)).ok
    sam = await learner_id(bot, "sam")
    [invite] = [m for m in await outbox_rows(bot) if m.idempotency_key.endswith(f"invite:{sam}")]
    assert "{u:nia}" not in invite.payload["text"] and "Nia" not in invite.payload["text"]
    summary = str(calendar_of(invite).events[0]["SUMMARY"])
    assert "Anonymous learner" in summary and "Nia" not in summary
    assert invite.payload["match_id"] is None  # no shared space to fall back to
    [match] = await matches(bot)
    [session] = await sessions(bot, match.id)
    assert session.booked_by == sam
