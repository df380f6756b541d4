"""The ports the core needs from the outside world, as Protocols.

Storage is a unit of work holding repositories; adapters/sql implements it with SQLAlchemy,
tests/fakes.py in memory. Both run the same contract tests (tests/sql/test_repository_contract.py).
"""

from __future__ import annotations

import builtins
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, NamedTuple, Protocol, Self

from core.accepted import AcceptedWork
from core.model import (
    AuditEntry,
    Block,
    Community,
    Feedback,
    Learner,
    Match,
    MatchState,
    Mode,
    OfferState,
    OutboxMessage,
    Profile,
    Proposal,
    QueueEntry,
    Round,
    Session,
    SupportOffer,
    Tombstone,
    Verification,
)
from core.office_hours import OfficeHour, Seat


class Clock(Protocol):
    """Where the core learns the time. Always returns an aware UTC datetime."""

    def now(self) -> datetime: ...


class IdSource(Protocol):
    """Where the core gets ids that must be unique everywhere and forever (calendar UIDs).

    bot/ wires random ones (``bot.process.RandomIds``); tests may count.
    """

    def new_id(self) -> str:
        """A fresh id: lowercase letters and digits only, never returned before."""
        ...


class CountingIds:
    """Ids 1, 2, 3, ... (as 32 hex digits): unique within one process, repeatable in tests.

    Not for production: after a restart it starts again at 1, and calendars would take a
    new session for an old one. ``bot.app`` wires random ids instead.
    """

    def __init__(self) -> None:
        self._last = 0

    def new_id(self) -> str:
        self._last += 1
        return f"{self._last:032x}"


class StorageConflict(Exception):
    """A uniqueness rule of the storage was broken (e.g. a second WAITING queue entry for
    a learner, a community or learner added twice). The unit of work stays usable: the
    failed insert is undone, the rest of the transaction is kept."""


class StorageUnavailable(Exception):
    """The storage cannot be reached or did not answer in time (connection refused or
    dropped, a connect or statement timeout, SQLite busy past its timeout, a read-only or
    missing database file). Nothing of the unit of work was kept; trying again later may
    work. Units of work raise it in place of their driver's errors, so the core never needs
    to know the driver."""


class ReadOnlyUnit(RuntimeError):
    """A unit of work made with ``writes=False`` tried to write: a bug in the caller, who
    must ask for a writing unit (``uow_factory()``)."""


class CommunityRepository(Protocol):
    async def get(self, community_id: int) -> Community | None: ...
    async def by_external(self, platform: str, external_id: str) -> Community | None: ...
    async def add(self, community: Community) -> Community: ...
    async def update(self, community: Community) -> None: ...
    async def list(self) -> builtins.list[Community]: ...


class LearnerExportRow(NamedTuple):
    """One learner as the learners export needs them, read straight from storage (no
    Learner, Profile or QueueEntry built per row: at 100,000 learners that decoding was
    most of the export, issue 9.7). The profile fields are None when the learner has no
    profile; ``queue_state`` and ``joined_at`` are those of the learner's latest queue
    entry (the latest ``joined_at``, then the highest id), None without one. ``mode``,
    ``setup`` and ``queue_state`` are the stored enum values."""

    id: int
    platform_user_id: str
    display_name: str
    banned: bool
    mode: str | None
    topic: str | None
    languages: Sequence[str] | None
    timezone: str | None
    availability: str | None
    cohort: str | None
    country: str | None
    setup: str | None
    support_kind: str | None
    capacity: int | None
    anonymous: bool | None
    goal: str | None
    contact: str | None
    queue_state: str | None
    joined_at: datetime | None


class LearnerRepository(Protocol):
    async def get(self, learner_id: int) -> Learner | None: ...
    async def by_platform_id(self, community_id: int, user_id: str) -> Learner | None: ...
    async def add(self, learner: Learner) -> Learner: ...
    async def update(self, learner: Learner) -> None: ...
    async def delete(self, learner_id: int) -> None: ...
    async def list(self, community_id: int) -> builtins.list[Learner]: ...
    async def by_platform_ids(self, community_id: int,
                              user_ids: Sequence[str]) -> dict[str, Learner]:
        """The community's learners with these platform ids, by id (one query, for imports)."""
        ...

    async def add_many(self, learners: Sequence[Learner]) -> builtins.list[Learner]:
        """Add several learners in one statement; sets and returns their ids in order.
        A duplicate platform id raises ``StorageConflict`` and adds none of them."""
        ...

    async def get_many(self, learner_ids: Sequence[int]) -> dict[int, Learner]:
        """These learners (those that exist), by id: a set-based read, not one per id."""
        ...

    async def page(self, community_id: int, after_id: int, limit: int) -> builtins.list[Learner]:
        """Up to ``limit`` of the community's learners with ids above ``after_id``, by id
        (exports walk a big community a page at a time)."""
        ...

    async def export_page(self, community_id: int, after_id: int,
                          limit: int) -> builtins.list[LearnerExportRow]:
        """As ``page``, each learner with their profile and latest queue entry, for the
        learners export: one statement per page."""
        ...

    async def paused_for(self, community_id: int, reason_prefix: str) -> builtins.list[Learner]:
        """The community's learners whose ``pause_reason`` starts with ``reason_prefix``, by
        id (whether the pause still runs is for the caller): a few rows, not the whole
        community, for ``/peeradmin queue``."""
        ...


class ProfileRepository(Protocol):
    async def get(self, learner_id: int) -> Profile | None: ...
    async def save(self, profile: Profile) -> None: ...
    async def delete(self, learner_id: int) -> None: ...
    async def for_learners(self, learner_ids: Sequence[int]) -> dict[int, Profile]: ...
    async def save_many(self, profiles: Sequence[Profile]) -> None:
        """Insert or replace several profiles in one statement."""
        ...


class QueueRepository(Protocol):
    async def add(self, entry: QueueEntry) -> QueueEntry: ...
    async def open_for(self, learner_id: int) -> QueueEntry | None: ...
    async def update(self, entry: QueueEntry) -> None: ...
    async def waiting(
        self, community_id: int, mode: Mode | None = None
    ) -> builtins.list[QueueEntry]:
        """Waiting entries, oldest first."""
        ...

    async def waiting_counts(self, community_id: int,
                             mode: Mode | None = None) -> dict[tuple[Mode, str], int]:
        """How many wait, by (mode, their profile's topic; "" without a profile): one grouped
        count, whatever the queue's length."""
        ...

    async def waiting_first(self, community_id: int, mode: Mode | None,
                            topics: Collection[str] | None,
                            limit: int) -> builtins.list[QueueEntry]:
        """The ``limit`` oldest waiting entries (of ``mode``; of learners whose profile's topic
        is one of ``topics`` when given), oldest first."""
        ...

    async def delete_for(self, learner_id: int) -> None: ...
    async def history(self, community_id: int) -> builtins.list[QueueEntry]: ...
    async def open_for_many(self, learner_ids: Sequence[int]) -> dict[int, QueueEntry]:
        """The WAITING entry of each of these learners that has one, by learner id."""
        ...

    async def add_many(self, entries: Sequence[QueueEntry]) -> builtins.list[QueueEntry]:
        """Add several new WAITING entries in one statement; sets and returns their ids.
        A second WAITING entry for a learner raises ``StorageConflict`` and adds none."""
        ...

    async def claim_waiting(self, learner_ids: Sequence[int]) -> dict[int, int]:
        """Mark these learners' entries MATCHED only where they are still WAITING (reason
        cleared); return the learners whose entries changed, each with that entry's id (a
        few statements at most)."""
        ...

    async def release(self, entry_ids: Collection[int]) -> None:
        """Put entries this unit of work claimed (``claim_waiting``) back to WAITING, their
        place in line kept (one statement)."""
        ...

    async def waiting_ids(self, community_id: int) -> set[int]:
        """The learners with a WAITING entry in the community: ids only (one column read,
        no entry built), for a round's store to re-check its plan against."""
        ...

    async def note_unmatched(self, reasons: Mapping[int, str]) -> None:
        """Store why each learner is still waiting, on WAITING entries only (batched)."""
        ...

    async def latest_for_many(self, learner_ids: Sequence[int]) -> dict[int, QueueEntry]:
        """Each learner's most recent queue entry (any state), by learner id."""
        ...

    async def position(self, entry: QueueEntry) -> tuple[int, int]:
        """(1-based place, total) of a WAITING entry among the waiting entries of its
        community and mode, oldest first; one count, whatever the queue's length. An entry
        that no longer waits gets (total, total)."""
        ...


class MatchRepository(Protocol):
    async def add(self, match: Match) -> Match: ...
    async def get(self, match_id: int) -> Match | None: ...
    async def update(self, match: Match) -> None: ...
    async def active_for(self, learner_id: int) -> builtins.list[Match]:
        """The learner's ACTIVE matches only: callers never re-filter by state."""
        ...
    async def for_learner(self, learner_id: int) -> builtins.list[Match]: ...
    async def list(
        self, community_id: int, state: MatchState | None = None
    ) -> builtins.list[Match]: ...
    async def remove_member(self, learner_id: int) -> None:
        """Forget a learner in every match (used by /peer forget)."""
        ...

    async def page(self, community_id: int, after_id: int, limit: int) -> builtins.list[Match]:
        """Up to ``limit`` of the community's matches with ids above ``after_id``, by id."""
        ...

    async def get_many(self, match_ids: Sequence[int]) -> dict[int, Match]:
        """These matches (those that exist), by id."""
        ...

    async def add_many(self, matches: Sequence[Match]) -> builtins.list[Match]:
        """Store new matches with their members in a few statements (not a few per match),
        each all or nothing; returns those stored, ids set, in the given order. A match
        that would put a learner in a second active match of one mode (the guard of
        migration 0005, against stored matches or an earlier one of ``matches``) is not
        stored: its id stays None, and the rest of the transaction is usable."""
        ...

    async def support_seats(self, learner_ids: Sequence[int]) -> dict[int, int]:
        """How many ACTIVE support matches each of these learners holds as supporter (one
        set-based count; learners with none are left out)."""
        ...

    async def partner_pairs(self, community_id: int) -> set[frozenset[int]]:
        """Every pair of learners who were ever in one of the community's matches together,
        whatever its state (one set-based read, not the matches themselves)."""
        ...


class BlockRepository(Protocol):
    async def add(self, block: Block) -> None: ...
    async def pairs(self, community_id: int) -> set[frozenset[int]]: ...
    async def of(self, learner_id: int) -> builtins.list[Block]:
        """The blocks the learner is in (either side)."""
        ...
    async def delete_for(self, learner_id: int) -> None: ...
    async def tombstone_key(self) -> bytes:
        """The secret that keys tombstone hashes: made once per database, then kept."""
        ...
    async def bury(self, tombstone: Tombstone) -> None: ...
    async def tombstones(self, community_id: int,
                         subjects: Sequence[str]) -> builtins.list[Tombstone]:
        """Tombstones with any of ``subjects`` on either side (a few statements at most)."""
        ...
    async def tombstones_naming(self, learner_id: int) -> builtins.list[Tombstone]:
        """Tombstones whose other side is this learner."""
        ...
    async def update_tombstone(self, tombstone: Tombstone) -> None: ...
    async def delete_tombstone(self, tombstone_id: int) -> None: ...


class RoundRepository(Protocol):
    async def add(self, rnd: Round) -> Round: ...
    async def latest(self, community_id: int, dry_run: bool | None = None) -> Round | None: ...
    async def list(self, community_id: int) -> builtins.list[Round]: ...


class SessionRepository(Protocol):
    async def add(self, session: Session) -> Session: ...
    async def get(self, session_id: int) -> Session | None: ...
    async def update(self, session: Session) -> None: ...
    async def for_match(self, match_id: int) -> builtins.list[Session]: ...
    async def for_matches(self, match_ids: Sequence[int]) -> dict[int, builtins.list[Session]]:
        """Every session of these matches, by match id (one statement; a match without
        sessions is left out)."""
        ...

    async def booked_for_learners(self, learner_ids: Sequence[int]) -> builtins.list[Session]:
        """Booked sessions of any match any of these learners belongs to."""
        ...

    async def count_since(self, community_id: int, since: datetime,
                          learner_id: int | None = None) -> int: ...

    async def matches_with_sessions(self, community_id: int) -> set[int]:
        """Ids of the community's matches that have at least one session not cancelled."""
        ...

    async def for_community(self, community_id: int) -> builtins.list[Session]:
        """Every session of the community's matches (one statement: stats)."""
        ...


class ProposalRepository(Protocol):
    async def add(self, proposal: Proposal) -> Proposal: ...
    async def get(self, proposal_id: int) -> Proposal | None: ...
    async def update(self, proposal: Proposal) -> None: ...
    async def open_for_match(self, match_id: int) -> builtins.list[Proposal]:
        """The match's proposals still waiting for answers, oldest first."""
        ...


class SupportOfferRepository(Protocol):
    async def add(self, offer: SupportOffer) -> SupportOffer:
        """Store an ask; ``StorageConflict`` when the learner has an open one already."""
        ...

    async def add_many(self, offers: Sequence[SupportOffer]) -> builtins.list[SupportOffer]:
        """Store a round's asks in a few statements; returns the ones stored (an ask whose
        learner has an open one already is left out, as ``add`` would refuse it)."""
        ...

    async def get(self, offer_id: int) -> SupportOffer | None: ...
    async def update(self, offer: SupportOffer) -> None: ...
    async def open_for_learner(self, learner_id: int) -> SupportOffer | None: ...
    async def list(self, community_id: int, state: OfferState | None = None
                   ) -> builtins.list[SupportOffer]:
        """The community's asks (of one state when given), oldest first."""
        ...

    async def expired(self, community_id: int, now: datetime) -> builtins.list[SupportOffer]:
        """OPEN asks whose window has closed at ``now``, oldest first."""
        ...


class VerificationRepository(Protocol):
    async def save(self, verification: Verification) -> None:
        """Insert or replace the supporter's verification."""
        ...

    async def delete(self, learner_id: int) -> bool:
        """Remove it; False when the learner was not verified."""
        ...

    async def list(self, community_id: int) -> builtins.list[Verification]: ...


class FeedbackRepository(Protocol):
    async def add(self, feedback: Feedback) -> Feedback: ...
    async def update(self, feedback: Feedback) -> None: ...
    async def find(self, match_id: int, session_id: int | None, from_learner: int,
                   to_learner: int) -> Feedback | None: ...
    async def about(self, learner_id: int) -> builtins.list[Feedback]: ...
    async def list(self, community_id: int) -> builtins.list[Feedback]: ...
    async def delete_for(self, learner_id: int) -> None: ...


class OutboxRepository(Protocol):
    """The outbox. Claims mean something: ``claim_due`` gives every row it leases a fresh
    random ``claim_token`` and the claiming instance (``claimed_by``); every write the
    dispatcher makes afterwards (``begin_attempt``, ``save_progress``, ``record``) holds
    only ``WHERE id = ? AND claim_token = ?`` and says whether it won. A lost claim (the
    lease ran out and another process took the row) never overwrites the new holder."""

    async def add(self, message: OutboxMessage) -> OutboxMessage:
        """Add a message; a second message with the same idempotency key is ignored."""
        ...

    async def claim_due(
        self, now: datetime, limit: int, lease_until: datetime, claimed_by: str = ""
    ) -> builtins.list[OutboxMessage]:
        """Claim pending due messages (FOR UPDATE SKIP LOCKED where supported), oldest first.

        Claimed rows get ``due_at = lease_until``, a new random ``claim_token`` and
        ``claimed_by``, so another dispatcher does not take them while this one works; a
        crash lets the lease run out (or the same instance takes them back at start-up:
        ``reclaim``). ``attempt_started_at`` and ``progress`` are kept: a row claimed with
        an attempt in flight is ``unclear`` and reconciled by its deliverer.

        Rows of kind ``AnnounceMatch.kind`` are never claimed: ``take_due`` takes them.
        """
        ...

    async def take_due(self, kind: str, now: datetime,
                       limit: int) -> builtins.list[OutboxMessage]:
        """Take up to ``limit`` pending rows of ``kind`` due at ``now``, oldest first, for
        the work of this transaction: they are marked sent (``sent_at`` = ``now``) at once,
        and locked until it ends (on PostgreSQL ``FOR UPDATE SKIP LOCKED``: another
        process's pass skips them; SQLite's write lock serialises). No lease, no token:
        the transaction is the claim, so a rollback (a crash) leaves them pending."""
        ...

    async def begin_attempt(self, message_id: int, claim_token: str, started_at: datetime,
                            lease_until: datetime) -> bool:
        """Journal that an attempt starts now (``attempt_started_at``, kept if an earlier
        unclear one is there) and renew the row's lease; False when the claim was lost."""
        ...

    async def save_progress(self, message_id: int, claim_token: str,
                            progress: dict[str, str]) -> bool:
        """Store the finished steps of a multi-step delivery; False when the claim was lost."""
        ...

    async def record(self, message: OutboxMessage, claim_token: str) -> bool:
        """Write the outcome of an attempt (every column of ``message``) only while
        ``claim_token`` still holds the row; False (nothing written) when it was lost."""
        ...

    async def reclaim(self, claimed_by: str, now: datetime) -> int:
        """Take back the pending rows this instance had claimed when it died: they are
        due ``now`` (no lease to wait out) and unclaimed; their journal mark is kept, so
        the next attempt reconciles. Returns how many. Call it at start-up only."""
        ...

    async def defer_target(self, community_id: int, kinds: Sequence[str], target: str,
                           until: datetime) -> int:
        """Pace one target (a channel or person after a 429): its pending, unclaimed rows of
        these kinds due before ``until`` become due at ``until``. Returns how many."""
        ...

    async def failed(self, community_id: int, limit: int) -> builtins.list[OutboxMessage]:
        """The community's failed rows, newest first, at most ``limit``."""
        ...

    async def retry_failed(self, community_id: int, message_ids: Sequence[int] | None,
                           now: datetime) -> builtins.list[OutboxMessage]:
        """Put the community's failed rows (these ids, or all when None) back to pending,
        due ``now``, attempts reset; returns those put back."""
        ...

    async def update(self, message: OutboxMessage) -> None:
        """Write a row without a claim (use cases changing rows they own: drops, tests)."""
        ...

    async def pending(self, community_id: int | None = None) -> builtins.list[OutboxMessage]: ...
    async def list(self, community_id: int | None = None) -> builtins.list[OutboxMessage]: ...
    async def drop_matching(self, key_prefix: str, reason: str) -> int:
        """Drop pending messages whose idempotency key starts with the prefix."""
        ...

    async def drop_key(self, key: str, reason: str) -> bool:
        """Drop the message with exactly this key if it is still pending (one indexed
        statement: on PostgreSQL it waits for a transaction holding the row, then sees
        whether that left it pending); whether it was dropped."""
        ...

    async def delete_for_target(self, community_id: int, target: str) -> None:
        """Delete the community's messages to ``target`` (a platform user id)."""
        ...

    async def add_many(self, messages: Sequence[OutboxMessage]) -> int:
        """Add several messages in a few statements; those whose idempotency key is
        already stored are ignored, as ``add`` does. Returns how many were new."""
        ...

    async def existing_keys(self, keys: Sequence[str]) -> set[str]:
        """Which of these idempotency keys are stored already (any state)."""
        ...

    async def keys_starting(self, community_id: int, prefix: str) -> builtins.list[str]:
        """The idempotency keys of the community's messages that start with ``prefix``."""
        ...

    async def with_prefix(self, community_id: int, key_prefix: str,
                          sent_since: datetime | None = None) -> builtins.list[OutboxMessage]:
        """The community's rows whose key starts with ``key_prefix`` (any state), or with
        ``sent_since`` only those sent at or after it; oldest first, one statement."""
        ...

    async def count_errors(self, community_id: int, error: str) -> int:
        """How many of the community's messages ended with ``last_error == error``."""
        ...


class StatsRepository(Protocol):
    """Aggregates for ``/peeradmin stats``, counted by the database (GROUP BY, COUNT
    DISTINCT): a few statements and no object per learner, whatever the community's size
    (issue 9.7). The rules (what counts as booked, as a ghost) stay in the core: callers
    pass the prefixes that mark them."""

    async def queue_counts(self, community_id: int) -> tuple[int, int, dict[str, int]]:
        """(learners who ever asked, learners with a MATCHED entry, WAITING entries by
        mode value)."""
        ...

    async def wait_days(self, community_id: int) -> builtins.list[float]:
        """Days from queueing to the learner's first match, for every MATCHED entry whose
        learner is in a match made at or after the entry was queued (the first match is
        the learner's earliest)."""
        ...

    async def match_counts(self, community_id: int, met_uid_prefix: str) -> dict[str, int]:
        """``matches``, ``active``; matches with a session not cancelled (``with_sessions``);
        of those, the ones booked (``booked``: the session's ics uid does not start with
        ``met_uid_prefix``) and met (``met``: a DONE session)."""
        ...

    async def rating_scores(self, community_id: int) -> builtins.list[dict[str, int]]:
        """The scores of every feedback given in the community's matches."""
        ...

    async def paused_for(self, community_id: int, reason_prefix: str, now: datetime) -> int:
        """Learners whose pause still runs at ``now`` and whose reason starts with
        ``reason_prefix``."""
        ...


class AcceptedWorkRepository(Protocol):
    """Accepted work (core/accepted.py): written before an ack, run from the store."""

    async def add(self, work: AcceptedWork) -> AcceptedWork: ...

    async def claim(self, now: datetime, lease_until: datetime, token: str, limit: int,
                    platforms: Sequence[str] = ()) -> builtins.list[AcceptedWork]:
        """Claim rows still to run (``pending``) or to answer (``done``) whose lease is free
        (never claimed, or ``claimed_until <= now``), oldest first, that this runner can do:
        instant matches, and commands of ``platforms``. Each gets ``token``,
        ``claimed_until = lease_until`` and, when pending, one more attempt. SKIP LOCKED
        where supported, so two runners never claim the same row."""
        ...

    async def extend(self, work_id: int, token: str, lease_until: datetime) -> bool:
        """Renew a claim while its work runs; False if the claim is no longer ours."""
        ...

    async def settle(self, work_id: int, token: str, result: dict[str, Any],
                     now: datetime) -> bool:
        """Mark pending work done with its reply, only while ``token`` holds the claim.
        Call it in the transaction that commits the work's effects: False means someone
        else did (or holds) it, and the caller must roll back."""
        ...

    async def finish(self, work_id: int, token: str, now: datetime, *,
                     failed: str = "") -> None:
        """After the reply reached the person: ``replied``; with ``failed`` (the reason):
        ``failed``. Only while ``token`` holds the claim; the lease is released."""
        ...

    async def reclaim(self, token_prefix: str) -> int:
        """Release the open rows whose claim token starts with ``token_prefix`` (a dead
        process's, core.accepted.claim_prefix), so they can be claimed now instead of after
        their lease; returns how many. An empty prefix releases nothing."""
        ...

    async def get(self, work_id: int) -> AcceptedWork | None: ...
    async def list(self) -> builtins.list[AcceptedWork]: ...


class AuditRepository(Protocol):
    async def add(self, entry: AuditEntry) -> None: ...
    async def list(self, community_id: int) -> builtins.list[AuditEntry]: ...


class OfficeHourRepository(Protocol):
    """Office hours and their seats (core/office_hours.py)."""

    async def add(self, hour: OfficeHour) -> OfficeHour: ...
    async def get(self, hour_id: int) -> OfficeHour | None: ...
    async def update(self, hour: OfficeHour) -> None: ...
    async def active(self, community_id: int) -> builtins.list[OfficeHour]:
        """The community's series not ended, oldest first."""
        ...
    async def add_seat(self, seat: Seat) -> Seat:
        """Store a booked seat. ``StorageConflict`` when its number is taken in that
        occurrence or above the series' seats, when the learner already has a seat in it,
        or when it overlaps another booked seat or session of the learner."""
        ...
    async def get_seat(self, seat_id: int) -> Seat | None: ...
    async def update_seat(self, seat: Seat) -> None: ...
    async def booked_seats(self, hour_ids: Sequence[int], lo: datetime,
                           hi: datetime) -> builtins.list[Seat]:
        """Booked seats of these series starting in [lo, hi), by start (one statement)."""
        ...
    async def seats_for_learner(self, learner_id: int) -> builtins.list[Seat]:
        """The learner's booked seats, soonest first."""
        ...
    async def count_seats(self, community_id: int, lo: datetime, hi: datetime,
                          learner_id: int | None = None) -> int:
        """Seats not cancelled starting in [lo, hi) in the community's office hours (only
        the learner's when given): what the monthly quotas count beside sessions."""
        ...


class UnitOfWork(Protocol):
    """One transaction. ``async with uow:`` opens it; leaving without commit rolls back.
    ``writes`` is False for a read-only unit (``UnitOfWorkFactory``), which refuses writes."""

    writes: bool
    communities: CommunityRepository
    learners: LearnerRepository
    profiles: ProfileRepository
    queue: QueueRepository
    matches: MatchRepository
    blocks: BlockRepository
    rounds: RoundRepository
    sessions: SessionRepository
    proposals: ProposalRepository
    feedback: FeedbackRepository
    offers: SupportOfferRepository
    verifications: VerificationRepository
    outbox: OutboxRepository
    audit: AuditRepository
    accepted: AcceptedWorkRepository
    office_hours: OfficeHourRepository
    stats: StatsRepository

    async def __aenter__(self) -> Self: ...
    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None: ...
    async def commit(self) -> None: ...
    async def rollback(self) -> None: ...
    async def lock_community(self, community_id: int, *, wait: bool = False) -> bool:
        """Take the per-community round lock for this transaction (advisory lock on
        PostgreSQL). Returns False when another process holds it, or with ``wait`` waits
        for it (bounded by the statement timeout)."""
        ...


class UnitOfWorkFactory(Protocol):
    """Makes units of work. ``writes=False`` asks for one that only reads: on SQLite it
    begins DEFERRED and so never takes (or waits for) the write lock, and it refuses to
    write; use it for anything that cannot write (status, lists, a round's load). The
    default ``writes=True`` takes the write lock up front on SQLite (``BEGIN IMMEDIATE``):
    a transaction that reads and then writes would otherwise fail at once with "database
    is locked" whenever another writer committed in between (SQLite cannot upgrade a stale
    read snapshot), so every unit that may write says so when it begins."""

    def __call__(self, *, writes: bool = True) -> UnitOfWork: ...


class DeliveryError(Exception):
    """A delivery failed. ``retry_after`` (seconds) when the platform said when to retry;
    ``permanent`` when retrying cannot help (the dispatcher then gives up at once);
    ``dm_closed`` when the person does not accept DMs from the bot (Discord 50007): the
    dispatcher then mentions them in their match space instead; ``unclear`` when the
    platform may have carried it out anyway (a timeout, a 5xx, a dropped connection): the
    next attempt must reconcile (ask the platform) before sending again. ``problem`` names
    the kind of a permanent failure (``missing_permission``, ``channel_not_found``,
    ``revoked_token``...) so moderators are told once per kind; the dispatcher derives one
    from the text when an adapter gives none."""

    def __init__(self, message: str, *, retry_after: float | None = None,
                 permanent: bool = False, dm_closed: bool = False,
                 unclear: bool = False, problem: str = "") -> None:
        super().__init__(message)
        self.problem = problem
        self.retry_after = retry_after
        self.permanent = permanent or dm_closed
        self.dm_closed = dm_closed
        self.unclear = unclear


StepJournal = Callable[[str, str], Awaitable[None]]
"""Records one finished step of a multi-step delivery at once, durably:
``await journal(step, answer)`` (e.g. ``("text", "1700000000.000100")``). The step then
appears in ``OutboxMessage.progress`` on every later attempt, which resumes after it."""


class Deliverer(Protocol):
    """A platform's way of carrying out an outbox message (DM, space, ...).

    ``message.message`` is the typed side effect (core/messages.py): a deliverer ``match``es
    on its type once. ``community_external_id`` is the guild or workspace id, which the
    dispatcher looks up beside the message (it is not part of it). Returns a dict of facts
    learned (e.g. ``{"space_id": "123"}``) that the dispatcher stores; raises DeliveryError
    on failure.

    Exactly once: when ``message.unclear`` (an earlier attempt's outcome is unknown) the
    deliverer first asks the platform whether the message (keyed by
    ``message.idempotency_key``) already exists and does not send it again if so; steps
    already in ``message.progress`` are skipped; each step finished now is passed to
    ``journal`` (when given) before the next one starts.
    """

    async def deliver(self, message: OutboxMessage, community_external_id: str = "", *,
                      journal: StepJournal | None = None) -> dict[str, Any]: ...
