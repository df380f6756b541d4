"""The ports the core needs from the outside world, as Protocols.

Storage is a unit of work holding repositories; adapters/sql implements it with SQLAlchemy,
tests/fakes.py in memory. Both run the same contract tests (tests/sql/test_repository_contract.py).
"""

from __future__ import annotations

import builtins
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, Protocol, Self

from core.model import (
    AuditEntry,
    Block,
    Community,
    Feedback,
    Learner,
    Match,
    MatchState,
    Mode,
    OutboxMessage,
    Profile,
    QueueEntry,
    Round,
    Session,
    Tombstone,
)


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


class CommunityRepository(Protocol):
    async def get(self, community_id: int) -> Community | None: ...
    async def by_external(self, platform: str, external_id: str) -> Community | None: ...
    async def add(self, community: Community) -> Community: ...
    async def update(self, community: Community) -> None: ...
    async def list(self) -> builtins.list[Community]: ...


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

    async def delete_for(self, learner_id: int) -> None: ...
    async def history(self, community_id: int) -> builtins.list[QueueEntry]: ...
    async def open_for_many(self, learner_ids: Sequence[int]) -> dict[int, QueueEntry]:
        """The WAITING entry of each of these learners that has one, by learner id."""
        ...

    async def add_many(self, entries: Sequence[QueueEntry]) -> builtins.list[QueueEntry]:
        """Add several new WAITING entries in one statement; sets and returns their ids.
        A second WAITING entry for a learner raises ``StorageConflict`` and adds none."""
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


class FeedbackRepository(Protocol):
    async def add(self, feedback: Feedback) -> Feedback: ...
    async def update(self, feedback: Feedback) -> None: ...
    async def find(self, match_id: int, session_id: int | None, from_learner: int,
                   to_learner: int) -> Feedback | None: ...
    async def about(self, learner_id: int) -> builtins.list[Feedback]: ...
    async def list(self, community_id: int) -> builtins.list[Feedback]: ...
    async def delete_for(self, learner_id: int) -> None: ...


class OutboxRepository(Protocol):
    async def add(self, message: OutboxMessage) -> OutboxMessage:
        """Add a message; a second message with the same idempotency key is ignored."""
        ...

    async def claim_due(
        self, now: datetime, limit: int, lease_until: datetime
    ) -> builtins.list[OutboxMessage]:
        """Claim pending due messages (FOR UPDATE SKIP LOCKED where supported).

        Claimed rows get ``due_at = lease_until`` so another dispatcher does not take them
        while this one works; a crash simply lets the lease run out.
        """
        ...

    async def update(self, message: OutboxMessage) -> None: ...
    async def pending(self, community_id: int | None = None) -> builtins.list[OutboxMessage]: ...
    async def list(self, community_id: int | None = None) -> builtins.list[OutboxMessage]: ...
    async def drop_matching(self, key_prefix: str, reason: str) -> int:
        """Drop pending messages whose idempotency key starts with the prefix."""
        ...

    async def delete_for_target(self, community_id: int, target: str) -> None:
        """Delete the community's messages to ``target`` (a platform user id)."""
        ...


class AuditRepository(Protocol):
    async def add(self, entry: AuditEntry) -> None: ...
    async def list(self, community_id: int) -> builtins.list[AuditEntry]: ...


class UnitOfWork(Protocol):
    """One transaction. ``async with uow:`` opens it; leaving without commit rolls back."""

    communities: CommunityRepository
    learners: LearnerRepository
    profiles: ProfileRepository
    queue: QueueRepository
    matches: MatchRepository
    blocks: BlockRepository
    rounds: RoundRepository
    sessions: SessionRepository
    feedback: FeedbackRepository
    outbox: OutboxRepository
    audit: AuditRepository

    async def __aenter__(self) -> Self: ...
    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None: ...
    async def commit(self) -> None: ...
    async def rollback(self) -> None: ...
    async def lock_community(self, community_id: int) -> bool:
        """Take the per-community round lock for this transaction (advisory lock on
        PostgreSQL). Returns False when another process holds it."""
        ...


UnitOfWorkFactory = Callable[[], UnitOfWork]


class DeliveryError(Exception):
    """A delivery failed. ``retry_after`` (seconds) when the platform said when to retry;
    ``permanent`` when retrying cannot help (the dispatcher then gives up at once);
    ``dm_closed`` when the person does not accept DMs from the bot (Discord 50007): the
    dispatcher then mentions them in their match space instead; ``unclear`` when the
    platform may have carried it out anyway (a timeout, a 5xx, a dropped connection): the
    next attempt must reconcile (ask the platform) before sending again."""

    def __init__(self, message: str, *, retry_after: float | None = None,
                 permanent: bool = False, dm_closed: bool = False,
                 unclear: bool = False) -> None:
        super().__init__(message)
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
