"""Calendar invites (.ics) for booked sessions, built with the ``icalendar`` library.

One session keeps one UID for its whole life; every change bumps SEQUENCE, so a calendar
that imported the first invite updates the event in place (RFC 5546):

- booked or moved: ``METHOD:REQUEST``, ``STATUS:CONFIRMED``, the current SEQUENCE;
- cancelled: ``METHOD:CANCEL``, ``STATUS:CANCELLED``, SEQUENCE bumped once more.

The caller owns the number: ``Session.sequence`` is written as is.

DTSTART/DTEND are written in UTC (``...Z``): every calendar converts them to the reader's
own zone, so no VTIMEZONE block is needed and two members in different zones see the same
instant. No e-mail addresses are known (or wanted), so there are no ATTENDEE lines and the
ORGANIZER is a display name with a placeholder address on a reserved domain (``.invalid``):
Outlook and Google Calendar want an ORGANIZER on REQUEST/CANCEL to match updates, and
nothing can ever be mailed to it. Each member gets a file written for them (their partner's
name, or alias when anonymous, in the title) with the same UID.
"""

from __future__ import annotations

from datetime import UTC, datetime

from icalendar import Calendar, Event, vCalAddress, vText

from core.model import Session
from core.ports import IdSource
from core.replies import Attachment

PRODID = "-//PeerMatch//Study sessions//EN"
UID_DOMAIN = "peermatch.invalid"
ORGANIZER = "mailto:noreply@peermatch.invalid"
MIME = "text/calendar"


def new_uid(match_id: int, ids: IdSource) -> str:
    """A UID for a new session: globally unique and never reused (RFC 5545 3.8.4.7), as
    long as ``ids`` is (the bot's are random)."""
    return f"session-{match_id}-{ids.new_id()}@{UID_DOMAIN}"


def _utc(instant: datetime) -> datetime:
    if instant.tzinfo is None:
        raise ValueError("calendar times must be timezone-aware")
    return instant.astimezone(UTC)


def invite(session: Session, *, summary: str, description: str, stamp: datetime,
           cancel: bool = False) -> bytes:
    """The .ics bytes (CRLF lines) of a session's invite, or of its cancellation.

    ``stamp`` is when the file was made (DTSTAMP); calendars use it with SEQUENCE to order
    updates of one event.
    """
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "CANCEL" if cancel else "REQUEST")
    event = Event()
    event.add("uid", session.ics_uid)
    event.add("dtstamp", _utc(stamp))
    event.add("dtstart", _utc(session.start))
    event.add("dtend", _utc(session.end))
    event.add("sequence", session.sequence)
    event.add("summary", summary)
    event.add("description", description)
    event.add("status", "CANCELLED" if cancel else "CONFIRMED")
    event.add("transp", "OPAQUE")
    organizer = vCalAddress(ORGANIZER)
    organizer.params["CN"] = vText("PeerMatch")
    event.add("organizer", organizer)
    cal.add_component(event)
    return bytes(cal.to_ical())


def filename(session: Session, *, cancel: bool = False) -> str:
    """``peermatch-session-12.ics`` / ``peermatch-session-12-cancelled.ics``."""
    return f"peermatch-session-{session.id}{'-cancelled' if cancel else ''}.ics"


def attachment(session: Session, *, summary: str, description: str, stamp: datetime,
               cancel: bool = False) -> Attachment:
    """The invite as a reply/DM attachment."""
    content = invite(session, summary=summary, description=description, stamp=stamp,
                     cancel=cancel)
    return Attachment(filename(session, cancel=cancel), content, MIME)
