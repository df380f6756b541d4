"""The domain as plain dataclasses: no framework, no database, no platform.

Ids that come from platforms (Discord snowflakes, Slack user ids) are strings, always.
Ids that the storage assigns (learner, match, ...) are ints; ``None`` until stored.
All datetimes are timezone-aware UTC instants.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from core.messages import Stored


class Mode(StrEnum):
    """What a learner asks for when joining."""

    STUDY_BUDDY = "study-buddy"
    STUDY_GROUP = "study-group"
    ACCOUNTABILITY = "accountability"
    OFFER_SUPPORT = "offer-support"
    NEED_SUPPORT = "need-support"

    @property
    def label(self) -> str:
        return MODE_LABELS[self]

    @property
    def mode_class(self) -> str:
        """Which learners can be matched together: the same class (and topic) only.
        Both support modes are one class, since supporters are matched to those in need."""
        return MODE_CLASS[self]

    @property
    def is_support(self) -> bool:
        return self in SUPPORT_MODES


SUPPORT_MODES: frozenset[Mode] = frozenset({Mode.OFFER_SUPPORT, Mode.NEED_SUPPORT})

MODE_CLASS: dict[Mode, str] = {
    Mode.STUDY_BUDDY: "pair", Mode.ACCOUNTABILITY: "accountability",
    Mode.STUDY_GROUP: "group", Mode.OFFER_SUPPORT: "support", Mode.NEED_SUPPORT: "support",
}

MODE_LABELS: dict[Mode, str] = {
    Mode.STUDY_BUDDY: "Study buddy",
    Mode.STUDY_GROUP: "Study group",
    Mode.ACCOUNTABILITY: "Accountability partner",
    Mode.OFFER_SUPPORT: "Offer support",
    Mode.NEED_SUPPORT: "I need support",
}


class Setup(StrEnum):
    """Study setup: a preference ("video"), or a requirement ("only-video": nothing else
    works for this learner). "any" fits everything."""

    TEXT = "text"
    VOICE = "voice"
    VIDEO = "video"
    IN_PERSON = "in-person"
    ANY = "any"
    ONLY_TEXT = "only-text"
    ONLY_VOICE = "only-voice"
    ONLY_VIDEO = "only-video"
    ONLY_IN_PERSON = "only-in-person"

    @property
    def required(self) -> bool:
        """The learner can meet only this way (a hard rule in matching)."""
        return self.value.startswith("only-")

    @property
    def kind(self) -> Setup:
        """The way of meeting, preferred or required: ``only-video`` -> ``video``."""
        return Setup(self.value.removeprefix("only-"))


class QueueState(StrEnum):
    WAITING = "waiting"
    MATCHED = "matched"
    LEFT = "left"
    REMOVED = "removed"


class MatchState(StrEnum):
    ACTIVE = "active"
    ENDED = "ended"


class SessionState(StrEnum):
    BOOKED = "booked"
    CANCELLED = "cancelled"
    DONE = "done"


class ProposalState(StrEnum):
    OPEN = "open"  # waiting for the others' answers
    BOOKED = "booked"  # everyone accepted: the session is booked (or moved)
    DECLINED = "declined"  # someone declined: nothing was booked
    WITHDRAWN = "withdrawn"  # replaced by a newer proposal, or the match ended


class OutboxState(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"  # gave up after the maximum attempts; kept for moderators to see
    DROPPED = "dropped"  # no longer useful (e.g. a reminder for a cancelled session)


@dataclass
class Community:
    """One Discord guild or Slack workspace."""

    platform: str
    external_id: str
    name: str = ""
    settings: dict[str, Any] = field(default_factory=dict)  # overrides of the defaults
    id: int | None = None


@dataclass
class Learner:
    """A person in one community."""

    community_id: int
    platform_user_id: str
    display_name: str
    is_moderator: bool = False
    banned: bool = False
    ban_reason: str = ""
    paused_until: datetime | None = None
    created_at: datetime | None = None
    id: int | None = None
    # Why the pause: '' when the learner asked for it; GHOST_PAUSE + the reason when
    # PeerMatch paused them for leaving check-ins unanswered (core/services/ghosts.py).
    pause_reason: str = ""

    def pause_end(self, now: datetime) -> datetime | None:
        """When a pause that is still running ends; None when not paused (or run out)."""
        if self.paused_until is not None and self.paused_until > now:
            return self.paused_until
        return None

    def is_paused(self, now: datetime) -> bool:
        """Paused matching, and the pause has not run out yet."""
        return self.pause_end(now) is not None

    def ghosted(self, now: datetime) -> str:
        """Why PeerMatch paused this learner as a ghost ('' when it did not, or the pause
        is over)."""
        if self.is_paused(now) and self.pause_reason.startswith(GHOST_PAUSE):
            return self.pause_reason[len(GHOST_PAUSE):].strip()
        return ""


GHOST_PAUSE = "ghost:"
"""``Learner.pause_reason`` of a pause PeerMatch made because the learner went silent."""


@dataclass
class Profile:
    """What a learner told us when joining; remembered so rejoining is one click."""

    learner_id: int
    mode: Mode
    topic: str
    languages: tuple[str, ...]
    timezone: str
    availability: str
    cohort: str = ""
    country: str = ""
    setup: Setup = Setup.ANY
    support_kind: str = ""
    goal: str = ""
    group_size: int = 0  # 0 = community default
    capacity: int = 1  # offer-support: how many learners at once
    anonymous: bool = False  # need-support: stay anonymous to the supporter
    contact: str = ""  # optional contact (phone, email): kept as a string, always
    updated_at: datetime | None = None
    # accountability and study groups: new partners every ``rematch_every_weeks`` weeks
    rotate_partners: bool = False
    # support modes: learning (or teaching) styles, a soft score term (core/matching/styles.py)
    styles: tuple[str, ...] = ()

    @property
    def mode_class(self) -> str:
        return self.mode.mode_class


@dataclass
class QueueEntry:
    """One request to be matched. At most one WAITING entry per learner."""

    learner_id: int
    community_id: int
    mode: Mode
    joined_at: datetime
    state: QueueState = QueueState.WAITING
    unmatched_reason: str = ""  # why the last round left this learner waiting
    id: int | None = None
    # `/peer skip`: sit out the first real round that starts after this instant
    skip_at: datetime | None = None


@dataclass
class MatchMember:
    learner_id: int
    role: str = "peer"  # peer | supporter | supported
    alias: str = ""  # shown instead of the name when anonymous
    answered_at: datetime | None = None  # the member's last answer to a check-in here


@dataclass
class Match:
    """A pair, group or supporter assignment that a round (or a moderator) made."""

    community_id: int
    kind: Mode
    members: list[MatchMember]
    reasons: list[str]
    created_at: datetime
    suggested_times: list[tuple[datetime, datetime]] = field(default_factory=list)
    round_id: int | None = None
    score: float = 0.0
    space_id: str = ""
    state: MatchState = MatchState.ACTIVE
    ended_reason: str = ""
    ended_at: datetime | None = None
    id: int | None = None

    def member_ids(self) -> list[int]:
        return [m.learner_id for m in self.members]

    @property
    def is_active(self) -> bool:
        return self.state is MatchState.ACTIVE

    @property
    def is_anonymous(self) -> bool:
        """Someone in it asked to stay anonymous: no shared space, names shown as aliases,
        members talk through the bot (``/peer message``)."""
        return any(m.alias for m in self.members)

    @property
    def is_support(self) -> bool:
        return self.kind.is_support

    @property
    def active_members(self) -> list[MatchMember]:
        """Who is still in the match: nobody while it is ended (leavers are removed from
        ``members`` when they leave, so an active match's members are all still in it)."""
        return list(self.members) if self.is_active else []

    def alias_of(self, learner_id: int) -> str:
        """The alias of a member who asked to stay anonymous, or '' if they did not."""
        for m in self.members:
            if m.learner_id == learner_id:
                return m.alias
        return ""

    @property
    def fallback_match_id(self) -> int | None:
        """Where a member's DM may fall back when their DMs are closed: the match space,
        which anonymous matches do not have."""
        return None if self.is_anonymous else self.id


@dataclass
class Block:
    """Two learners who must never be matched again (unpaired, or blocked)."""

    community_id: int
    learner_a: int
    learner_b: int
    reason: str
    created_at: datetime


@dataclass
class Tombstone:
    """A block that outlives ``/peer forget``: one side is known only by a keyed hash of
    their platform id and community (``subject``), so nothing readable about them is kept,
    yet the block comes back if they return. The other side is a learner still here
    (``other_learner_id``) or, when both have gone, another hash (``other_subject``)."""

    community_id: int
    subject: str
    reason: str
    created_at: datetime
    other_learner_id: int | None = None
    other_subject: str = ""
    id: int | None = None


@dataclass
class Round:
    """One matching round; the seed makes it reproducible."""

    community_id: int
    seed: int
    started_at: datetime
    dry_run: bool = False
    finished_at: datetime | None = None
    figures: dict[str, Any] = field(default_factory=dict)
    id: int | None = None


@dataclass
class Session:
    """A meeting booked inside a match."""

    match_id: int
    start: datetime
    end: datetime
    booked_by: int
    ics_uid: str
    sequence: int = 0
    state: SessionState = SessionState.BOOKED
    id: int | None = None


@dataclass
class Proposal:
    """A session time one member proposed; it is booked only once every member accepts.

    ``session_id``: the booked session it would move (a reschedule), None for a new one.
    ``accepted``: who said yes so far (the proposer, from the start)."""

    match_id: int
    proposed_by: int
    start: datetime
    end: datetime
    created_at: datetime
    accepted: tuple[int, ...] = ()
    session_id: int | None = None
    state: ProposalState = ProposalState.OPEN
    decided_by: int | None = None  # who declined it, or whose yes booked it
    id: int | None = None

    @property
    def is_open(self) -> bool:
        return self.state is ProposalState.OPEN

    def waiting_for(self, member_ids: list[int]) -> list[int]:
        """The members whose answer is still missing, in the match's order."""
        return [i for i in member_ids if i not in self.accepted]


@dataclass
class Feedback:
    """One person's rating of another after a session (or a match)."""

    match_id: int
    from_learner: int
    to_learner: int
    scores: dict[str, int]
    comment: str
    created_at: datetime
    session_id: int | None = None
    id: int | None = None


@dataclass
class OutboxMessage:
    """A durable side effect: written with the state change, delivered later, once.

    ``message`` is the typed side effect (core/messages.py); the rest is the row's delivery
    state. ``kind``, ``target``, ``idempotency_key`` and ``payload`` are the stored form.

    Delivery journal (issue 10): ``claim_token`` names the claim that may write this row's
    result (results are written only while the token still matches), ``claimed_by`` the
    process instance that holds it (so a restarted instance takes its own dead claims back
    at once); ``attempt_started_at`` is set before the platform is called and cleared when
    the outcome is recorded, so a row claimed with it set had an attempt whose outcome is
    unknown (a crash, a timeout): the deliverer must ask the platform before sending again.
    ``progress`` holds the finished steps of a multi-step delivery (text posted, files
    uploaded: step name -> what the platform answered), so a retry resumes after them."""

    message: Stored
    community_id: int
    due_at: datetime
    state: OutboxState = OutboxState.PENDING
    attempts: int = 0
    last_error: str = ""
    sent_at: datetime | None = None
    id: int | None = None
    claim_token: str = ""
    claimed_by: str = ""
    attempt_started_at: datetime | None = None
    progress: dict[str, str] = field(default_factory=dict)

    @property
    def unclear(self) -> bool:
        """An earlier attempt started and its outcome was never recorded: it may have
        reached the platform, so the next attempt reconciles before sending."""
        return self.attempt_started_at is not None

    @property
    def kind(self) -> str:
        return self.message.kind

    @property
    def target(self) -> str:
        return self.message.target

    @property
    def idempotency_key(self) -> str:
        return self.message.key

    @property
    def payload(self) -> dict[str, Any]:
        return self.message.to_payload()


@dataclass
class AuditEntry:
    """Who did what as a moderator."""

    community_id: int
    actor: str
    action: str
    detail: str
    at: datetime
    id: int | None = None


class OfferState(StrEnum):
    OPEN = "open"  # the supporter has not answered yet
    ACCEPTED = "accepted"  # the match is made (``SupportOffer.match_id``)
    DECLINED = "declined"  # the supporter said no: the next best one is asked
    EXPIRED = "expired"  # no answer within ``support_offer_hours``: the next one is asked
    WITHDRAWN = "withdrawn"  # the learner left, was removed, or the supporter went away


@dataclass
class SupportOffer:
    """A support match offered to a supporter; the match is made only when they accept.

    ``entry_id``: the learner's queue entry, held (not waiting) while asks are open, so no
    round matches them again and they cannot open a second request. ``excluded``: the
    supporters who already declined or let an ask of this request expire."""

    community_id: int
    learner_id: int
    supporter_id: int
    entry_id: int
    kind: Mode
    reasons: list[str]
    times: list[tuple[datetime, datetime]]
    score: float
    created_at: datetime
    expires_at: datetime
    excluded: tuple[int, ...] = ()
    state: OfferState = OfferState.OPEN
    match_id: int | None = None
    round_id: int | None = None
    id: int | None = None

    @property
    def is_open(self) -> bool:
        return self.state is OfferState.OPEN


@dataclass
class Verification:
    """A supporter a moderator verified: for every topic (``topics`` empty) or those."""

    learner_id: int
    community_id: int
    topics: tuple[str, ...]
    verified_by: str
    verified_at: datetime

    def covers(self, topic: str) -> bool:
        """Verified for ``topic`` (case does not matter; no topics means all of them)."""
        return not self.topics or topic.casefold() in {t.casefold() for t in self.topics}
