"""The durable messages of an office-hour seat: the learner's calendar file and reminders,
the supporter told, and the cancellations (a seat given up, an occurrence or a series
called off).

Outbox rows written in the booking's transaction, keyed by ``core/keys.py`` (``seat:{sid}:``
for what a cancellation drops), like a session's (core/services/reminders.py): the calendar
file is PUBLISH with a VALARM per reminder and the occurrence's video link as LOCATION/URL.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from core import ics, keys, meeting_place
from core.messages import DirectMessage
from core.model import Learner, OutboxMessage
from core.office_hours import OfficeHour, Seat, index_of
from core.ports import UnitOfWork
from core.replies import Attachment, Button, mention, ts
from core.settings import CommunitySettings


def where(settings: CommunitySettings, hour: OfficeHour, start: datetime) -> str:
    """The video link of the occurrence starting at ``start`` ('' without a template)."""
    room = meeting_place.room_of_office_hour(hour.id, index_of(hour, start), hour.community_id,
                                             hour.created_at)
    return meeting_place.link(settings.video_link_template, room)


def title(hour: OfficeHour, supporter: Learner | None) -> str:
    """``Office hours #3: Python with Sam`` (plain text: calendars show no mentions)."""
    who = f" with {supporter.display_name}" if supporter is not None else ""
    return f"PeerMatch office hours #{hour.id}: {hour.topic}{who}"


def _file(hour: OfficeHour, seat: Seat, supporter: Learner | None, settings: CommunitySettings,
          now: datetime, cancel: bool) -> Attachment:
    link = "" if cancel else where(settings, hour, seat.start)
    text = (f"Your seat in office hours #{hour.id} ({hour.topic}) was cancelled." if cancel else
            f"Seat {seat.seat_no} of {hour.seats}, booked with PeerMatch."
            + (f"\nJoin: {link}" if link else "")
            + f"\nGive it up: /peer office-hours leave {seat.id}")
    return ics.attachment(seat, summary=title(hour, supporter), description=text, stamp=now,
                          cancel=cancel, location=link, kind="office-hour",
                          alarms_minutes=() if cancel else settings.reminder_offsets_minutes)


def _dm(hour: OfficeHour, user_id: str, text: str, key: str, due: datetime, *,
        files: tuple[Attachment, ...] = (), buttons: tuple[Button, ...] = (),
        expires_at: datetime | None = None) -> OutboxMessage:
    return OutboxMessage(DirectMessage(user_id, text, key, buttons=buttons, attachments=files,
                                       expires_at=expires_at), hour.community_id, due)


def _leave_button(seat: Seat) -> tuple[Button, ...]:
    return (Button("Give up my seat", "peer office-hours",
                   {"action": "leave", "details": str(seat.id)}, style="danger"),)


async def write_seat_rows(uow: UnitOfWork, settings: CommunitySettings, hour: OfficeHour,
                          seat: Seat, learner: Learner, supporter: Learner | None,
                          now: datetime) -> None:
    """The learner's confirmation with the calendar file, their reminders, and a note to
    the supporter."""
    link = where(settings, hour, seat.start)
    text = (f"🎟️ **Seat booked** in office hours #{hour.id} ({hour.topic}"
            + (f" with {mention(supporter.platform_user_id)}" if supporter else "")
            + f"): {ts(seat.start)} to {ts(seat.end, 't')}, seat {seat.seat_no} of "
            f"{hour.seats}.\n" + meeting_place.line(link)
            + "The calendar file is attached. "
            f"`/peer office-hours leave {seat.id}` gives the seat up.")
    await uow.outbox.add(_dm(hour, learner.platform_user_id, text, keys.seat_invite(seat.id), now,
                             files=(_file(hour, seat, supporter, settings, now, False),),
                             buttons=_leave_button(seat)))
    offsets = sorted({o for o in settings.reminder_offsets_minutes if o > 0}, reverse=True)
    for i, offset in enumerate(offsets):
        due = seat.start - timedelta(minutes=offset)
        if due <= now:
            continue  # the confirmation itself is the reminder
        closer = offsets[i + 1] if i + 1 < len(offsets) else 0
        await uow.outbox.add(_dm(
            hour, learner.platform_user_id,
            f"⏰ Reminder: office hours #{hour.id} ({hour.topic}) start {ts(seat.start, 'R')} "
            f"({ts(seat.start)})." + (f"\n{meeting_place.line(link).strip()}" if link else ""),
            keys.seat_reminder(seat.id, offset), due,
            expires_at=seat.start - timedelta(minutes=closer), buttons=_leave_button(seat)))
    if supporter is not None:
        await uow.outbox.add(_dm(
            hour, supporter.platform_user_id,
            f"🎟️ {mention(learner.platform_user_id)} booked seat {seat.seat_no} of {hour.seats} "
            f"in your office hours #{hour.id} ({hour.topic}) on {ts(seat.start)}.\n"
            + meeting_place.line(link).strip(),
            keys.seat_booked_to_supporter(seat.id), now))


async def write_seat_cancel(uow: UnitOfWork, settings: CommunitySettings, hour: OfficeHour,
                            seat: Seat, learner: Learner | None, supporter: Learner | None,
                            now: datetime, *, by_supporter: bool) -> None:
    """Drop the seat's pending rows and tell whoever did not cancel: the learner (with the
    cancelled calendar file) when the supporter called it off, the supporter when the
    learner gave the seat up (the learner gets the file too, to clear their calendar)."""
    await uow.outbox.drop_matching(keys.seat_prefix(seat.id), "seat cancelled")
    if learner is not None:
        line = (f"❌ **Office hours cancelled**: {mention(supporter.platform_user_id)} called "
                f"off office hours #{hour.id} ({hour.topic}) on {ts(seat.start)}, so your seat "
                "is cancelled. `/peer office-hours list` shows other times."
                if by_supporter and supporter is not None else
                f"❌ **Seat given up**: your seat in office hours #{hour.id} ({hour.topic}) on "
                f"{ts(seat.start)} is cancelled.")
        await uow.outbox.add(_dm(hour, learner.platform_user_id,
                                 line + " Open the attached file to remove it from your "
                                 "calendar.", keys.seat_cancel(seat.id), now,
                                 files=(_file(hour, seat, supporter, settings, now, True),)))
    if not by_supporter and supporter is not None and learner is not None:
        await uow.outbox.add(_dm(
            hour, supporter.platform_user_id,
            f"🪑 {mention(learner.platform_user_id)} gave up their seat in your office hours "
            f"#{hour.id} ({hour.topic}) on {ts(seat.start)}.",
            keys.seat_left_to_supporter(seat.id), now))
