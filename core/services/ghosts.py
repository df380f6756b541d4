"""Ghosts: members who leave their check-ins unanswered, or do not show up.

A member is a ghost in an active match when ``ghost_after_unanswered`` (3 by default)
prompts sent to them there went unanswered: the intro DM, "did you meet?" and its
follow-ups, weekly check-ins (``keys.is_prompt_of``). A prompt counts once it has been out
``checkin_after_days`` without a word from them since. A word is an answer to a check-in
(``MatchMember.answered_at``, set by ``/peer met``), feedback they gave in the match, or
the end of a session of the match (a meeting, or the moment to report a no-show); a
session still ahead means the match is alive, so nobody in it is counted. So that a silent
study buddy meets the count at all, an unanswered "did you meet?" of a match that never
booked is asked again after ``checkin_after_days`` (accountability pairs have their weekly
check-ins instead).

A partner who answers ``/peer met no-show`` reports the other member of a pair at once.

A ghost is paused (``pause_reason`` ``ghost: ...``, ``/peer resume`` ends it) and taken out
of the match (``ending.leave_match``, no block: the partner left behind is told, with a
"Find me someone new" button: core/services/requeue.py); ``Ghosted`` then tells them why
and how to come back. Moderators see ghosts in ``/peeradmin queue`` and ``stats``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from core import keys
from core.events import Ghosted
from core.messages import DirectMessage
from core.model import (
    GHOST_PAUSE,
    Community,
    Feedback,
    Learner,
    Match,
    MatchMember,
    MatchState,
    Mode,
    OutboxMessage,
    Session,
    SessionState,
)
from core.ports import UnitOfWork, UnitOfWorkFactory
from core.services import effects, ending
from core.services.checkins import checkin_buttons
from core.services.common import name_for
from core.services.reminders import others
from core.settings import CommunitySettings

GHOST_PAUSE_LENGTH = timedelta(days=365)
"""A ghost's pause lasts until they come back (``/peer resume``); after a year it simply
runs out, like any pause."""


def last_heard(member: MatchMember, feedback: list[Feedback],
               sessions: list[Session]) -> datetime | None:
    """The last sign of life of ``member`` in the match (None: none since it was made)."""
    lid = member.learner_id
    signs = [member.answered_at] if member.answered_at else []
    signs += [f.created_at for f in feedback if f.from_learner == lid]
    # A session the match held (or booked and let pass) was a meeting, or the time to report
    # a no-show: everyone counts as heard from at its end.
    signs += [s.end for s in sessions if s.state is not SessionState.CANCELLED]
    return max(signs, default=None)


def _held(sessions: list[Session]) -> bool:
    return any(s.state is not SessionState.CANCELLED for s in sessions)


def unanswered(prompts: list[OutboxMessage], since: datetime | None, window: timedelta,
               now: datetime) -> list[OutboxMessage]:
    """The prompts sent after ``since`` that have been out ``window`` without an answer."""
    return [p for p in prompts if p.sent_at is not None
            and (since is None or p.sent_at > since) and p.sent_at + window <= now]


async def pause_ghost(uow: UnitOfWork, settings: CommunitySettings, match: Match,
                      ghost: Learner, reason: str, now: datetime, *, tell: str = "") -> bool:
    """Pause ``ghost`` and take them out of ``match``; the others are told (``tell``, or
    that the ghost went quiet; with the requeue button when the match ended), the ghost
    hears why (``reason``). Returns True if the match ended."""
    assert ghost.id is not None
    shown = name_for(match, ghost, -1)
    ghost.paused_until = now + GHOST_PAUSE_LENGTH
    ghost.pause_reason = f"{GHOST_PAUSE} {reason}"
    await uow.learners.update(ghost)
    ended = len(match.member_ids()) <= 2
    tell = (tell or f"{shown} has gone quiet in match #{match.id} ({reason}), so I've paused "
            "them") + (". The match has ended." if ended else "; the group goes on without them.")
    ended = await ending.leave_match(uow, settings, match, ghost, f"ghosted: {reason}", now,
                                     block=False, tell=tell)
    await effects.publish(uow, settings, Ghosted(ghost, match, reason, now))
    return ended


async def _ask_again(uow: UnitOfWork, match: Match, learner: Learner,
                     learners: dict[int, Learner], now: datetime) -> int:
    """Ask a silent member "did you meet?" once more (a follow-up in the check-in family,
    so their answer drops it like any other)."""
    assert learner.id is not None
    msg = await uow.outbox.add(OutboxMessage(DirectMessage(
        learner.platform_user_id,
        f"👋 Still there? Did you meet {others(match, learners, learner.id)} yet "
        f"(match #{match.id})? One click is enough, whatever the answer.",
        keys.checkin_again(match.id, learner.id, int(now.timestamp())),
        buttons=checkin_buttons(match, no_show=True), match_id=match.fallback_match_id),
        match.community_id, now))
    return int(msg.id is not None)


@dataclass(frozen=True)
class _Step:
    """What the read found for one member: pause them, or ask them again. ``answered_at``
    is what it saw, so a member who answered meanwhile is left alone."""

    match_id: int
    learner_id: int
    answered_at: datetime | None
    pause: bool
    silent: int


def answer_window(settings: CommunitySettings) -> timedelta:
    """How long a prompt may wait for its answer before it counts as unanswered."""
    return timedelta(days=max(1, settings.checkin_after_days))


def horizon(settings: CommunitySettings) -> timedelta:
    """How far back sent prompts are read: ``ghost_after_unanswered`` of them a week apart
    (weekly check-ins; follow-ups come more often) and the last one's answer window."""
    window = answer_window(settings)
    return settings.ghost_after_unanswered * max(window, timedelta(weeks=1)) + window


async def _plan(uow: UnitOfWork, community: Community, settings: CommunitySettings,
                now: datetime) -> list[_Step]:
    """The reads, set-based (a few statements whatever the community's size)."""
    assert community.id is not None
    window, limit = answer_window(settings), settings.ghost_after_unanswered
    by_target: dict[str, list[OutboxMessage]] = defaultdict(list)
    for row in await uow.outbox.with_prefix(community.id, keys.every_match_prefix(),
                                            sent_since=now - horizon(settings)):
        by_target[row.target].append(row)
    waiting = {row.idempotency_key for row in await uow.outbox.pending(community.id)}
    feedback = await uow.feedback.list(community.id)
    everyone = {lr.id: lr for lr in await uow.learners.list(community.id)}
    active = await uow.matches.list(community.id, MatchState.ACTIVE)
    by_match = await uow.sessions.for_matches([m.id or 0 for m in active])
    steps: list[_Step] = []
    for match in active:
        sessions = by_match.get(match.id or 0, [])
        if any(s.state is SessionState.BOOKED and s.end > now for s in sessions):
            continue  # a meeting is planned: the match is alive
        given = [f for f in feedback if f.match_id == match.id]
        for member in match.members:
            learner, lid = everyone.get(member.learner_id), member.learner_id
            if learner is None:
                continue
            mine = [r for r in by_target[learner.platform_user_id]
                    if keys.is_prompt_of(r.idempotency_key, match.id, lid)]
            silent = unanswered(mine, last_heard(member, given, sessions), window, now)
            if len(silent) >= limit or _ask_again_due(match, lid, silent, waiting, sessions):
                steps.append(_Step(match.id or 0, lid, member.answered_at,
                                   len(silent) >= limit, len(silent)))
    return steps


def _ask_again_due(match: Match, learner_id: int, silent: list[OutboxMessage],
                   waiting: set[str], sessions: list[Session]) -> bool:
    """A "did you meet?" went unanswered in a match that never booked, no other prompt is
    on its way to them, and no weekly check-in will come (accountability)."""
    return (bool(silent) and not _held(sessions) and match.kind is not Mode.ACCOUNTABILITY
            and not any(keys.is_prompt_of(k, match.id, learner_id) for k in waiting)
            and any(keys.is_checkin_of(r.idempotency_key, match.id, learner_id)
                    for r in silent))


async def _carry_out(uow: UnitOfWork, settings: CommunitySettings, step: _Step,
                     now: datetime) -> int:
    """One step in its own short write, re-read first: a member who answered since the
    read, or a match that ended meanwhile, is left alone. Returns 1 if it paused someone."""
    match = await uow.matches.get(step.match_id)
    learner = await uow.learners.get(step.learner_id)
    member = next((m for m in match.members if m.learner_id == step.learner_id),
                  None) if match else None
    if (match is None or learner is None or member is None or not match.is_active
            or member.answered_at != step.answered_at):
        return 0
    if step.pause:
        reason = f"the last {step.silent} check-ins went unanswered"
        await pause_ghost(uow, settings, match, learner, reason, now)
        return 1
    learners = {lid: lr for lid in match.member_ids()
                if (lr := await uow.learners.get(lid)) is not None}
    await _ask_again(uow, match, learner, learners, now)
    return 0


async def find_ghosts(uow_factory: UnitOfWorkFactory, community: Community,
                      settings: CommunitySettings, now: datetime) -> int:
    """Pause the ghosts of the community's active matches and ask silent members again:
    the reads in a read-only unit (no write lock), then one short write per member found.
    Returns how many learners were paused."""
    if settings.ghost_after_unanswered <= 0:
        return 0
    async with uow_factory(writes=False) as uow:
        steps = await _plan(uow, community, settings, now)
    paused = 0
    for step in steps:
        async with uow_factory() as uow:
            paused += await _carry_out(uow, settings, step, now)
            await uow.commit()
    return paused


def ghost_lines(learners: list[Learner], now: datetime) -> list[str]:
    """For moderators: who is paused as a ghost now, and why."""
    ghosts = [(lr, why) for lr in learners if (why := lr.ghosted(now))]
    if not ghosts:
        return []
    lines = [f"**Paused as ghosts: {len(ghosts)}** (`/peer resume` brings them back)"]
    lines += [f"- {lr.display_name} ({lr.platform_user_id}): {why}" for lr, why in ghosts[:50]]
    return lines
