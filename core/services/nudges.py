"""Nudges: a friendly bump for a match that has not booked a session nor met yet.

When a match is announced (``MatchAnnounced``: the dispatcher expands a new match), one row
per ``nudge_after_hours`` entry (24 h and 72 h by default) is written, due that long after
the match: a message in the match's space
(anonymous matches have none: each member gets it as a DM) with the suggested times again,
as their next repeats from the moment the bump is due. Booking a session (``SessionBooked``)
or answering "yes, we met" (``CheckinAnswered``) drops the bumps still pending; a match
that ends drops them with its other ``match:{mid}:`` rows. The keys (``match:{mid}:nudge:{n}``,
core/keys.py) make them once-only: a restart, a second process or a re-published event
never bumps twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from core import keys
from core.events import CheckinAnswered, MatchAnnounced, SessionBooked
from core.messages import DirectMessage, SpaceMessage
from core.model import Match, OutboxMessage
from core.ports import UnitOfWork
from core.replies import Button, ts
from core.services.session_rules import next_occurrence
from core.settings import CommunitySettings


def upcoming_times(match: Match, at: datetime) -> list[datetime]:
    """The match's suggested times as their next weekly repeats after ``at``, numbered as
    ``/peer schedule <n>`` numbers them (so not re-sorted)."""
    return [next_occurrence(a, b, at)[0] for a, b in match.suggested_times]


def nudge_buttons(match: Match, count: int) -> tuple[Button, ...]:
    """One "Book time n" per suggested time (at most three), and "We met already"."""
    args = {"match": str(match.id)}
    books = [Button(f"Book time {i}", "peer schedule", {**args, "when": str(i)},
                    style="primary" if i == 1 else "secondary")
             for i in range(1, min(3, count) + 1)]
    return (*books, Button("We met already", "peer met", {**args, "answer": "yes"}))


def nudge_text(match: Match, number: int, at: datetime, *, last: bool = False) -> str:
    """Bump ``number``, with the times again (rendered in each reader's local time);
    ``last``: no other bump follows."""
    times = upcoming_times(match, at)
    which = " (the last reminder)" if last and number > 1 else ""
    lines = [f"👋 A friendly nudge for match #{match.id}{which}: "
             "no session is booked yet. A short first meeting is the easiest start."]
    if times:
        lines.append("Your suggested times: " + " · ".join(
            f"**{i}.** {ts(t)}" for i, t in enumerate(times, 1)))
        lines.append("Pick one with a button below, or agree on another time here.")
    else:
        lines.append("Your weekly hours have no common slot: agree on a time here.")
    lines.append("Met already? Tell me and I'll stop reminding you.")
    return "\n".join(lines)


async def schedule_nudges(uow: UnitOfWork, settings: CommunitySettings,
                          event: MatchAnnounced) -> None:
    """The bumps of a new match, due ``nudge_after_hours`` after it was made."""
    match = event.match
    assert match.id is not None
    offsets = sorted(set(settings.nudge_after_hours))
    for number, hours in enumerate(offsets, 1):
        due = match.created_at + timedelta(hours=hours)
        text = nudge_text(match, number, due, last=number == len(offsets))
        buttons = nudge_buttons(match, len(match.suggested_times))
        if not match.is_anonymous:
            await uow.outbox.add(OutboxMessage(SpaceMessage(
                match.id, text, keys.nudge(match.id, number), buttons), match.community_id, due))
            continue
        for lid, learner in event.learners.items():  # no space: each member, by DM
            if lid in match.member_ids():
                await uow.outbox.add(OutboxMessage(DirectMessage(
                    learner.platform_user_id, text, keys.nudge_dm(match.id, number, lid),
                    buttons=buttons), match.community_id, due))


async def drop_nudges(uow: UnitOfWork, _settings: CommunitySettings,
                      event: SessionBooked | CheckinAnswered) -> None:
    """A booked session, or members who met, need no more bumps."""
    if isinstance(event, CheckinAnswered) and event.answer != "yes":
        return
    reason = "session booked" if isinstance(event, SessionBooked) else "they met"
    await uow.outbox.drop_matching(keys.nudge_prefix(event.match.id), reason)
