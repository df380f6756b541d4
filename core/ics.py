"""Calendar files (.ics) for booked sessions and office-hour seats, built with ``icalendar``.

One session keeps one UID for its whole life; every change bumps SEQUENCE, so a calendar
that imported the first file updates the event in place (RFC 5545 3.8.7.4).

Which METHOD (RFC 5546): ``REQUEST`` and ``CANCEL`` are iTIP scheduling messages and need
ATTENDEE lines (Outlook refuses a REQUEST without one; Google Calendar imports it as a
broken invitation). The bot knows no e-mail addresses (nor wants to), so a file without
attendees is ``METHOD:PUBLISH``: booked or moved, ``STATUS:CONFIRMED``; cancelled,
``STATUS:CANCELLED`` with SEQUENCE bumped, which a calendar that has the event applies as
an update. Given attendee addresses, a file is ``REQUEST`` (``CANCEL`` when cancelled),
with one ATTENDEE per address.

DTSTART/DTEND are written in UTC (``...Z``): every calendar converts them to the reader's
own zone, so no VTIMEZONE block is needed and two members in different zones see the same
instant. The ORGANIZER is a display name with a placeholder address on a reserved domain
(``.invalid``): Outlook and Google Calendar want one to match updates, and nothing can ever
be mailed to it. Each member gets a file written for them (their partner's name, or alias
when anonymous, in the title) with the same UID.

A booked file carries one VALARM per reminder lead time (the same minutes the reminder DMs
use, ``reminder_offsets_minutes``), and the meeting link, when there is one, as LOCATION
and URL.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Protocol

from icalendar import Alarm, Calendar, Event, vCalAddress, vText

from core.ports import IdSource
from core.replies import Attachment

PRODID = "-//PeerMatch//Study sessions//EN"
UID_DOMAIN = "peermatch.invalid"
ORGANIZER = "mailto:noreply@peermatch.invalid"
MIME = "text/calendar"


class CalendarEntry(Protocol):
    """What a calendar file is made of: a booked session or an office-hour seat."""

    @property
    def id(self) -> int | None: ...
    @property
    def start(self) -> datetime: ...
    @property
    def end(self) -> datetime: ...
    @property
    def ics_uid(self) -> str: ...
    @property
    def sequence(self) -> int: ...


def new_uid(match_id: int, ids: IdSource, kind: str = "session") -> str:
    """A UID for a new session (``kind`` "office-hour": a seat, numbered by its series):
    globally unique and never reused (RFC 5545 3.8.4.7), as long as ``ids`` is (the bot's
    are random)."""
    return f"{kind}-{match_id}-{ids.new_id()}@{UID_DOMAIN}"


def _utc(instant: datetime) -> datetime:
    if instant.tzinfo is None:
        raise ValueError("calendar times must be timezone-aware")
    return instant.astimezone(UTC)


def method(*, cancel: bool, attendees: Sequence[str]) -> str:
    """PUBLISH without attendees; REQUEST or CANCEL (scheduling) with them."""
    if not attendees:
        return "PUBLISH"
    return "CANCEL" if cancel else "REQUEST"


def _alarm(minutes: int, summary: str) -> Alarm:
    alarm = Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("description", summary)
    alarm.add("trigger", timedelta(minutes=-minutes))
    return alarm


def invite(entry: CalendarEntry, *, summary: str, description: str, stamp: datetime,
           cancel: bool = False, alarms_minutes: Sequence[int] = (), location: str = "",
           attendees: Sequence[str] = ()) -> bytes:
    """The .ics bytes (CRLF lines) of a session's file, or of its cancellation.

    ``stamp`` is when the file was made (DTSTAMP); calendars use it with SEQUENCE to order
    updates of one event. ``alarms_minutes``: a VALARM that many minutes before the start,
    each (none on a cancellation). ``location``: the meeting link (LOCATION, and URL when it
    is a web address). ``attendees``: e-mail addresses, if any are known.
    """
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", method(cancel=cancel, attendees=attendees))
    event = Event()
    event.add("uid", entry.ics_uid)
    event.add("dtstamp", _utc(stamp))
    event.add("dtstart", _utc(entry.start))
    event.add("dtend", _utc(entry.end))
    event.add("sequence", entry.sequence)
    event.add("summary", summary)
    event.add("description", description)
    event.add("status", "CANCELLED" if cancel else "CONFIRMED")
    event.add("transp", "TRANSPARENT" if cancel else "OPAQUE")
    if location:
        event.add("location", location)
        if location.startswith(("https://", "http://")):
            event.add("url", location)
    organizer = vCalAddress(ORGANIZER)
    organizer.params["CN"] = vText("PeerMatch")
    event.add("organizer", organizer)
    for address in attendees:
        attendee = vCalAddress(f"mailto:{address}")
        attendee.params["ROLE"] = vText("REQ-PARTICIPANT")
        event.add("attendee", attendee)
    if not cancel:
        for minutes in sorted({m for m in alarms_minutes if m > 0}, reverse=True):
            event.add_component(_alarm(minutes, summary))
    cal.add_component(event)
    return bytes(cal.to_ical())


def filename(entry: CalendarEntry, *, cancel: bool = False, kind: str = "session") -> str:
    """``peermatch-session-12.ics`` / ``peermatch-session-12-cancelled.ics``."""
    return f"peermatch-{kind}-{entry.id}{'-cancelled' if cancel else ''}.ics"


def attachment(entry: CalendarEntry, *, summary: str, description: str, stamp: datetime,
               cancel: bool = False, alarms_minutes: Sequence[int] = (), location: str = "",
               kind: str = "session") -> Attachment:
    """The file as a reply/DM attachment."""
    content = invite(entry, summary=summary, description=description, stamp=stamp,
                     cancel=cancel, alarms_minutes=alarms_minutes, location=location)
    return Attachment(filename(entry, cancel=cancel, kind=kind), content, MIME)
