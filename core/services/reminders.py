"""The durable messages of a session: invites, reminders, the feedback prompt, cancellations.

All are outbox rows written in the booking's transaction (docs/architecture.md, "The outbox
and its exactly-once rules"), keyed (core/keys.py) so that a change finds them again:

- ``session:{sid}:seq{n}:invite:{learner}``: the DM with the .ics (METHOD:PUBLISH, a VALARM
  per reminder, the meeting link), now;
- ``session:{sid}:seq{n}:remind:{offset}:{learner}``: ``offset`` minutes before the start;
- ``session:{sid}:seq{n}:feedback:{learner}``: the feedback prompt when the session ends;
- ``session:{sid}:cancel:{learner}``: the cancellation with the .ics STATUS:CANCELLED.

Moving or cancelling drops every pending ``session:{sid}:`` row first, then writes the new
ones under the next sequence number, so a reminder always follows its session.

A reminder is only useful before its session starts, and only until the next, closer
reminder is due: its payload carries ``expires_at`` (the next reminder's due time, the
start for the last one). After downtime the dispatcher sends the one reminder still useful
and drops (and logs) the stale ones instead of sending three at once.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from core import ics, keys, meeting_place
from core.icebreakers import host_of
from core.messages import DirectMessage
from core.model import Learner, Match, OutboxMessage, Session, SessionState
from core.ports import UnitOfWork
from core.replies import Attachment, Button, ts
from core.services.common import name_for
from core.settings import CommunitySettings

FEEDBACK_PROMPT_USEFUL = timedelta(days=7)


def shown_name(match: Match, learner: Learner, viewer_id: int) -> str:
    """A plain-text name (for button labels and calendar titles, where mentions don't
    render): the alias of an anonymous member, else the display name."""
    alias = match.alias_of(learner.id or 0)
    return alias if alias and viewer_id != learner.id else learner.display_name


def others(match: Match, learners: dict[int, Learner], viewer_id: int, *,
           plain: bool = False) -> str:
    names = [shown_name(match, learners[i], viewer_id) if plain
             else name_for(match, learners[i], viewer_id)
             for i in match.member_ids() if i != viewer_id and i in learners]
    return ", ".join(names) or "your match"


def _dm(match: Match, learner: Learner, text: str, key: str, due: datetime, *,
        buttons: tuple[Button, ...] = (), files: tuple[Attachment, ...] = (),
        expires_at: datetime | None = None) -> OutboxMessage:
    """A DM to one member; anonymous matches have no space to fall back to."""
    return OutboxMessage(DirectMessage(learner.platform_user_id, text, key, buttons=buttons,
                                       attachments=files,
                                       match_id=match.fallback_match_id,
                                       expires_at=expires_at), match.community_id, due)


def _calendar_file(match: Match, session: Session, learners: dict[int, Learner],
                   viewer_id: int, settings: CommunitySettings | None, stamp: datetime, *,
                   cancel: bool = False) -> tuple[Attachment, ...]:
    """The member's calendar file: PUBLISH (no e-mail addresses are known), with the
    meeting link and an alarm per reminder; a cancellation (``settings`` None: it needs
    neither) says only that it is off, nothing about moving it."""
    summary = f"PeerMatch: {match.kind.label} with {others(match, learners, viewer_id, plain=True)}"
    where = (meeting_place.for_session(settings.video_link_template, match, session.ics_uid)
             if settings is not None else "")
    head = f"Session #{session.id} of match #{match.id}, booked with PeerMatch."
    if cancel:
        description = f"Session #{session.id} of match #{match.id} was cancelled."
    else:
        description = (head + (f"\nJoin: {where}" if where else "")
                       + f"\nMove it: /peer reschedule {session.id} <when>"
                       + f"\nCancel it: /peer cancel {session.id}")
    return (ics.attachment(session, summary=summary, description=description, stamp=stamp,
                           cancel=cancel, location=where,
                           alarms_minutes=settings.reminder_offsets_minutes if settings else ()),)


def feedback_buttons(match: Match, session_id: int | None, learners: dict[int, Learner],
                     viewer_id: int) -> tuple[Button, ...]:
    """One 'Rate ...' button per partner (the form to open depends on who is rated)."""
    partners = [i for i in match.member_ids() if i != viewer_id and i in learners]
    buttons = []
    for pid in partners[:5]:
        args = {"match": str(match.id), "to": str(pid)}
        if session_id is not None:
            args["session"] = str(session_id)
        label = ("Give feedback" if len(partners) == 1
                 else f"Rate {shown_name(match, learners[pid], viewer_id)}"[:80])
        buttons.append(Button(label, "peer feedback", args, style="primary"))
    return tuple(buttons)


async def _next_host_line(uow: UnitOfWork, match: Match,
                          learners: dict[int, Learner]) -> dict[int, str]:
    """Groups take turns hosting: after this session, who proposes the next (by reader).
    Pairs get nothing: they simply agree between the two of them."""
    if len(match.member_ids()) < 3 or match.id is None:
        return {}
    held = [s for s in await uow.sessions.for_match(match.id)
            if s.state is not SessionState.CANCELLED]
    host = host_of(match, len(held))
    if host not in learners:
        return {}
    return {lid: ("🎤 You host the next session: propose its time when you're ready.\n"
                  if lid == host else
                  f"🎤 {name_for(match, learners[host], lid)} hosts the next session.\n")
            for lid in match.member_ids()}


async def write_session_rows(uow: UnitOfWork, settings: CommunitySettings, match: Match,
                             session: Session, learners: dict[int, Learner], now: datetime,
                             *, moved: bool = False, warning: str = "") -> None:
    """Invite every member (with the .ics), and queue their reminders and feedback prompt."""
    sid, seq = session.id, session.sequence
    minutes = int((session.end - session.start).total_seconds() // 60)
    offsets = sorted({o for o in settings.reminder_offsets_minutes if o > 0}, reverse=True)
    host_line = await _next_host_line(uow, match, learners)
    where = meeting_place.for_session(settings.video_link_template, match, session.ics_uid)
    for lid in match.member_ids():
        learner = learners.get(lid)
        if learner is None:
            continue
        with_whom = others(match, learners, lid)
        head = "🔁 **Session moved**" if moved else "📅 **Session booked**"
        text = (f"{head} with {with_whom}: {ts(session.start)} to {ts(session.end, 't')} "
                f"({minutes} min), session #{sid}.{warning}\n" + meeting_place.line(where) +
                "The invite is attached: open it to add the session to your calendar.\n"
                + host_line.get(lid, "") +
                f"`/peer reschedule {sid} <when>` to move it, `/peer cancel {sid}` to cancel it.")
        await uow.outbox.add(_dm(match, learner, text, keys.session_invite(sid, seq, lid),
                                 now, files=_calendar_file(match, session, learners, lid,
                                                           settings, now),
                                 buttons=(Button("Cancel session", "peer cancel",
                                                 {"session": str(sid)}, style="danger"),)))
        for i, offset in enumerate(offsets):
            due = session.start - timedelta(minutes=offset)
            if due <= now:
                continue  # already inside that window: the invite itself is the reminder
            closer = offsets[i + 1] if i + 1 < len(offsets) else 0
            await uow.outbox.add(_dm(
                match, learner,
                f"⏰ Reminder: your session with {with_whom} starts {ts(session.start, 'R')} "
                f"({ts(session.start)})." + ("\n" + meeting_place.line(where).strip()
                                             if where else ""),
                keys.reminder(sid, seq, offset, lid), due,
                expires_at=session.start - timedelta(minutes=closer),
                buttons=(Button("Cancel session", "peer cancel", {"session": str(sid)},
                                style="danger"),)))
        await uow.outbox.add(_dm(
            match, learner,
            f"🙌 How did your session with {with_whom} go ({ts(session.start)})? "
            "A quick rating (1-5) helps everyone find good partners.",
            keys.feedback_prompt(sid, seq, lid), session.end,
            expires_at=session.end + FEEDBACK_PROMPT_USEFUL,
            buttons=feedback_buttons(match, sid, learners, lid)))


async def drop_session_rows(uow: UnitOfWork, session: Session, reason: str) -> int:
    """Drop every pending row of the session (invites, reminders, prompt)."""
    return await uow.outbox.drop_matching(keys.session_prefix(session.id), reason)


def _cancel_line(match: Match, session: Session, learners: dict[int, Learner],
                 canceller_id: int, reader: int, match_ended: bool) -> str:
    """Who cancelled, as ``reader`` sees it; never "@zara cancelled ... with @zara"."""
    sid, when = session.id, ts(session.start)
    if match_ended:
        return (f"session #{sid} with {others(match, learners, reader)} ({when}) is off "
                f"because match #{match.id} ended.")
    if reader == canceller_id:
        return f"you cancelled session #{sid} with {others(match, learners, reader)} ({when})."
    who = (name_for(match, learners[canceller_id], reader) if canceller_id in learners
           else "your match")
    return f"{who} cancelled your session #{sid} ({when})."


async def write_cancel_rows(uow: UnitOfWork, match: Match, session: Session,
                            learners: dict[int, Learner], canceller_id: int,
                            now: datetime, *, match_ended: bool = False) -> None:
    """Tell every member the session is off, with a cancelled .ics. ``match_ended``:
    it is off because the match ended (an unpair, a moderator), not because of a cancel."""
    sid = session.id
    for lid in match.member_ids():
        learner = learners.get(lid)
        if learner is None:
            continue
        line = _cancel_line(match, session, learners, canceller_id, lid, match_ended)
        text = (f"❌ **Session cancelled**: {line[:1].upper()}{line[1:]} "
                "Open the attached file to remove it from your calendar.")
        await uow.outbox.add(_dm(match, learner, text, keys.session_cancel(sid, lid), now,
                                 files=_calendar_file(match, session, learners, lid, None,
                                                      now, cancel=True)))
