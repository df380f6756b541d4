"""What each domain event causes: ONE table (``EFFECTS``), read top to bottom.

A new match (``MatchMade``) is stored with ONE row, its announcement; the dispatcher
expands it later in one transaction of its own (``MatchAnnounced``: the intro DMs, the
space, check-ins and nudges; core/services/announce.py), so a round of 50,000 matches
writes 50,000 rows, not 400,000.

"What happens when a match ends?" is the ``MatchEnded`` entry: its booked sessions are
cancelled (members of a future one get a CANCEL .ics, their reminders are dropped), the
match's pending check-ins and intro DMs are dropped, and its space is closed (anonymous
matches have none). Handlers run in order, in the unit of work of the use case that
published the event, so everything is written in its transaction (docs/architecture.md,
"The outbox and its exactly-once rules").
docs/events.md is this table in words.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from core import keys
from core.events import (
    Banned,
    CheckinAnswered,
    Event,
    Forgotten,
    Ghosted,
    MatchAnnounced,
    MatchEnded,
    MatchMade,
    MemberLeft,
    Paused,
    ProposalDeclined,
    Resumed,
    SessionBooked,
    SessionCancelled,
    SessionMoved,
    SessionProposed,
    SupportOfferAnswered,
    SupportOffered,
)
from core.messages import CloseSpace, DirectMessage
from core.model import Learner, OutboxMessage, SessionState
from core.ports import UnitOfWork
from core.replies import Button
from core.services import office_hour_series, tombstones
from core.services.notify import announce, dm_members, open_space, schedule_checkins
from core.services.nudges import drop_nudges, schedule_nudges
from core.services.proposal_messages import ask_members, tell_declined, withdraw_open_proposals
from core.services.reminders import drop_session_rows, write_cancel_rows, write_session_rows
from core.services.support_offer_messages import (
    ask_supporter,
    drop_offer_rows,
    release_offers_to_them,
    tell_learner_asked,
    tell_outcome,
)
from core.settings import CommunitySettings

Handler = Callable[[UnitOfWork, CommunitySettings, Any], Awaitable[None]]


async def cancel_sessions(uow: UnitOfWork, _settings: CommunitySettings,
                          event: MatchEnded) -> None:
    """Cancel booked sessions; members of a future one get a CANCEL .ics for their calendar."""
    match = event.match
    assert match.id is not None
    learners: dict[int, Learner] = {}
    for lid in match.member_ids():
        if (learner := await uow.learners.get(lid)) is not None:
            learners[lid] = learner
    for session in await uow.sessions.for_match(match.id):
        if session.state is SessionState.BOOKED:
            session.state = SessionState.CANCELLED
            await uow.sessions.update(session)
            await drop_session_rows(uow, session, "session cancelled: match ended")
            if session.start > event.at:
                await write_cancel_rows(uow, match, session, learners, event.by or -1, event.at,
                                        match_ended=True)


async def drop_match_rows(uow: UnitOfWork, _settings: CommunitySettings,
                          event: MatchEnded) -> None:
    """Pending check-ins and intro DMs only make sense while the match is on."""
    await uow.outbox.drop_matching(keys.match_prefix(event.match.id), "match ended")


async def close_space(uow: UnitOfWork, settings: CommunitySettings, event: MatchEnded) -> None:
    """Archive or delete the space (as the community says); anonymous matches have none.
    A match ended before it was announced never asked for a space: its announcement is
    dropped (so it sends nothing) and there is nothing to close. Runs before
    ``drop_match_rows``, which would drop the announcement too but cannot tell."""
    match = event.match
    assert match.id is not None
    if await uow.outbox.drop_key(keys.match_made(match.id),
                                 "match ended before it was announced"):
        return
    if match.is_anonymous:  # anonymous: a space would reveal them
        return
    await uow.outbox.add(OutboxMessage(CloseSpace(
        match.id, match.space_id, settings.space_on_end,
        f"Match #{match.id} has ended. Thanks for studying together! "
        "`/peer rejoin` finds you a new match.", voice=settings.voice_channel),
        match.community_id, event.at))


async def tell_ended_by_moderator(uow: UnitOfWork, _settings: CommunitySettings,
                                  event: MatchEnded) -> None:
    """A moderator ended it: each member hears so (a member ending it tells the others
    through ``MemberLeft`` instead)."""
    if not event.by_moderator:
        return
    match = event.match
    for lid in match.member_ids():
        if (member := await uow.learners.get(lid)) is not None:
            await uow.outbox.add(OutboxMessage(DirectMessage(
                member.platform_user_id,
                f"A moderator ended match #{match.id}. `/peer rejoin` to find a new match.",
                keys.ended_by_moderator(match.id, lid)), match.community_id, event.at))


async def tell_others(uow: UnitOfWork, _settings: CommunitySettings, event: MemberLeft) -> None:
    """The members still there (or left behind when it ended) are told, once each; those
    left behind get "Find me someone new" (core/services/requeue.py)."""
    match, leaver = event.match, event.leaver
    assert leaver.id is not None
    for other_id in event.others:
        other = await uow.learners.get(other_id)
        if other is None:
            continue
        # Left behind: one click re-queues them with their original waiting time.
        buttons = ((Button("Find me someone new", "peer requeue", {"match": str(match.id)},
                           style="primary"),) if event.ended else ())
        await uow.outbox.add(OutboxMessage(DirectMessage(
            other.platform_user_id,
            event.text + (" One click puts you back in the queue, keeping your waiting time."
                          if event.ended else ""),
            keys.member_left(match.id, leaver.id, other_id), buttons=buttons),
            match.community_id, event.at))


async def tell_ghost(uow: UnitOfWork, _settings: CommunitySettings, event: Ghosted) -> None:
    """The ghost reads why they were paused and how to come back (once per match)."""
    learner = event.learner
    assert learner.id is not None
    await uow.outbox.add(OutboxMessage(DirectMessage(
        learner.platform_user_id,
        f"⏸️ I've paused your matching: in match #{event.match.id} {event.reason}, so I took "
        "you out of it and told your partner(s). No worries, life gets busy. Whenever you're "
        "ready, `/peer resume` and then `/peer rejoin` find you a new match.",
        keys.ghost(event.match.id, learner.id),
        buttons=(Button("Resume", "peer resume", style="primary"),)),
        learner.community_id, event.at))


async def drop_pause_end(uow: UnitOfWork, _settings: CommunitySettings,
                         event: Paused | Resumed) -> None:
    """The "your pause is over" DM of an earlier pause is not true any more."""
    if isinstance(event, Paused) and not event.was_paused:
        return
    reason = "pause changed" if isinstance(event, Paused) else "resumed early"
    await uow.outbox.drop_matching(keys.pause_end_prefix(event.learner.id), reason)


async def schedule_pause_end(uow: UnitOfWork, _settings: CommunitySettings,
                             event: Paused) -> None:
    """Tell the learner when their pause is over."""
    await uow.outbox.add(OutboxMessage(DirectMessage(
        event.learner.platform_user_id,
        "▶️ Your pause is over: matching is back on for you. `/peer status` to see where you are.",
        keys.pause_end(event.learner.id, int(event.until.timestamp()))),
        event.community_id, event.until))


async def invite_and_remind(uow: UnitOfWork, settings: CommunitySettings,
                            event: SessionBooked | SessionMoved) -> None:
    """Each member's invite (.ics), reminders and feedback prompt for the session."""
    await write_session_rows(uow, settings, event.match, event.session, event.learners,
                             event.at, moved=isinstance(event, SessionMoved),
                             warning=event.warning)


async def drop_old_session_rows(uow: UnitOfWork, _settings: CommunitySettings,
                                event: SessionMoved | SessionCancelled) -> None:
    """The invites, reminders and prompt of the old time (or of a cancelled session) go."""
    reason = "session moved" if isinstance(event, SessionMoved) else "session cancelled"
    await drop_session_rows(uow, event.session, reason)


async def send_cancellations(uow: UnitOfWork, _settings: CommunitySettings,
                             event: SessionCancelled) -> None:
    """Every member is told, with a cancelled .ics to take it off their calendar."""
    await write_cancel_rows(uow, event.match, event.session, event.learners, event.by,
                            event.at)


async def bury_blocks(uow: UnitOfWork, _settings: CommunitySettings, event: Forgotten) -> None:
    """Blocks outlive forgetting: kept as tombstones (before the learner's blocks go)."""
    await tombstones.bury(uow, event.learner, event.at)


async def release_office_hours(uow: UnitOfWork, settings: CommunitySettings,
                               event: Forgotten | Banned) -> None:
    """Their office hours end and their seats are given up, everyone affected told."""
    await office_hour_series.release_for(uow, settings, event.learner, event.at)


async def delete_pending_to_them(uow: UnitOfWork, _settings: CommunitySettings,
                                 event: Forgotten) -> None:
    """Nothing more is sent to a forgotten person: the community's rows to them go."""
    await uow.outbox.delete_for_target(event.learner.community_id,
                                       event.learner.platform_user_id)


EFFECTS: dict[type[Event], tuple[Handler, ...]] = {
    MatchMade: (announce,),
    MatchAnnounced: (dm_members, open_space, schedule_checkins, schedule_nudges),
    MatchEnded: (cancel_sessions, withdraw_open_proposals, close_space, drop_match_rows,
                 tell_ended_by_moderator),
    MemberLeft: (tell_others,),
    Paused: (drop_pause_end, schedule_pause_end),
    Resumed: (drop_pause_end,),
    SessionBooked: (invite_and_remind, drop_nudges),
    SessionMoved: (drop_old_session_rows, invite_and_remind),
    SessionCancelled: (drop_old_session_rows, send_cancellations),
    SessionProposed: (ask_members,),
    ProposalDeclined: (tell_declined,),
    Forgotten: (bury_blocks, release_office_hours, delete_pending_to_them,
                release_offers_to_them),
    Banned: (release_office_hours, release_offers_to_them),
    CheckinAnswered: (drop_nudges,),
    Ghosted: (tell_ghost,),
    SupportOffered: (ask_supporter, tell_learner_asked),
    SupportOfferAnswered: (drop_offer_rows, tell_outcome),
}


async def publish(uow: UnitOfWork, settings: CommunitySettings, event: Event) -> None:
    """Carry out every side effect of ``event``, in the table's order."""
    for handler in EFFECTS[type(event)]:
        await handler(uow, settings, event)
