"""Domain events: what a use case did, as a value, so its side effects live in one table.

A use case changes the aggregates (the match is ENDED, the member is out) and then
publishes an event; core/services/effects.py maps each event type to the side effects it
causes (outbox messages, dropping pending rows, closing the space). Handlers run in the
use case's unit of work, so the effects are written in the same transaction as the change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from core.model import Learner, Match, Profile, Proposal, Session, SupportOffer


@dataclass(frozen=True)
class MatchMade:
    """A new match (a round, a manual pair, an instant match on join, an accepted support
    offer), already stored. Its one effect is the row that announces it
    (``AnnounceMatch``): what the members are sent follows from ``MatchAnnounced``."""

    match: Match
    at: datetime


@dataclass(frozen=True)
class MatchAnnounced:
    """The dispatcher expands a new match's announcement (core/services/announce.py): the
    match as it is now (still active; its members now, with their learners and profiles)."""

    match: Match
    learners: dict[int, Learner]
    profiles: dict[int, Profile]
    at: datetime


@dataclass(frozen=True)
class MatchEnded:
    """A match is over (unpair, a moderator, a member leaving PeerMatch, "we didn't meet").

    ``by``: the member who ended it, if one did (they are "You" in the cancellation).
    ``by_moderator``: `/peeradmin end-match` ended it (each member is told so)."""

    match: Match
    reason: str
    at: datetime
    by: int | None = None
    by_moderator: bool = False


@dataclass(frozen=True)
class MemberLeft:
    """``leaver`` left ``match``; ``others`` (learner ids) are still in it or were, if it
    ``ended``. ``text``: what the others are told."""

    match: Match
    leaver: Learner
    others: tuple[int, ...]
    ended: bool
    text: str
    at: datetime


@dataclass(frozen=True)
class Paused:
    """``learner`` paused matching until ``until`` (``was_paused``: this changes a pause)."""

    learner: Learner
    community_id: int
    until: datetime
    at: datetime
    was_paused: bool = False


@dataclass(frozen=True)
class Resumed:
    """``learner`` came back before their pause was over."""

    learner: Learner
    at: datetime


@dataclass(frozen=True)
class _SessionTimed:
    """What booking and moving share: ``learners`` are the match's members by id;
    ``warning``: the "outside availability" note the invites repeat, if any."""

    match: Match
    session: Session
    learners: dict[int, Learner]
    at: datetime
    warning: str = ""


@dataclass(frozen=True)
class SessionBooked(_SessionTimed):
    """``session`` of ``match`` was booked (already stored)."""


@dataclass(frozen=True)
class SessionMoved(_SessionTimed):
    """``session`` was moved to its new start (stored, with its sequence bumped)."""


@dataclass(frozen=True)
class SessionProposed:
    """A member proposed ``proposal`` (stored, OPEN, the proposer's yes in it) in
    ``match``; the others are asked."""

    match: Match
    proposal: Proposal
    learners: dict[int, Learner]
    at: datetime


@dataclass(frozen=True)
class ProposalDeclined:
    """``by`` declined ``proposal`` (stored DECLINED): nothing was booked."""

    match: Match
    proposal: Proposal
    learners: dict[int, Learner]
    by: int
    at: datetime


@dataclass(frozen=True)
class SessionCancelled:
    """``by`` (a learner id) cancelled ``session`` of ``match`` (already stored CANCELLED)."""

    match: Match
    session: Session
    learners: dict[int, Learner]
    by: int
    at: datetime


@dataclass(frozen=True)
class Forgotten:
    """``learner`` ran `/peer forget`: they have left their matches, their profile, queue
    entries and feedback are deleted; their blocks and rows are about to go."""

    learner: Learner
    at: datetime


@dataclass(frozen=True)
class Banned:
    """A moderator banned ``learner``: their queue entry and matches have ended; what they
    offered others (office hours, open asks as a supporter) must not wait on them."""

    learner: Learner
    at: datetime


@dataclass(frozen=True)
class CheckinAnswered:
    """``learner_id`` answered "did you meet?" in ``match`` (``answer``: yes, not-yet, no,
    no-show); their ``answered_at`` is already stored."""

    match: Match
    learner_id: int
    answer: str
    at: datetime


@dataclass(frozen=True)
class Ghosted:
    """``learner`` went quiet in ``match`` (or did not show up) and was paused, already
    out of the match; ``reason`` says why, in words they read."""

    learner: Learner
    match: Match
    reason: str
    at: datetime


@dataclass(frozen=True)
class SupportOffered:
    """A support match was offered to ``supporter`` (``offer`` stored OPEN); ``again``:
    an earlier supporter declined or stayed silent. ``badge``: '' or "✓ verified"."""

    offer: SupportOffer
    learner: Learner
    supporter: Learner
    profile: Profile
    badge: str
    at: datetime
    again: bool = False


@dataclass(frozen=True)
class SupportOfferAnswered:
    """``offer`` is no longer open (stored ACCEPTED, DECLINED or EXPIRED); ``handed_on``:
    the next supporter is asked (``SupportOffered`` tells the learner)."""

    offer: SupportOffer
    learner: Learner
    supporter: Learner
    at: datetime
    handed_on: bool = False


Event = (MatchMade | MatchAnnounced | MatchEnded | MemberLeft | Paused | Resumed
         | SessionBooked | SessionMoved | SessionCancelled | SessionProposed | ProposalDeclined
         | Forgotten | Banned
         | CheckinAnswered | Ghosted | SupportOffered | SupportOfferAnswered)
"""Every event the use cases publish."""
