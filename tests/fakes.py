"""In-memory doubles of the ports for fast tests: ``FakeClock`` and ``InMemoryStorage``.

``InMemoryStorage`` behaves like adapters/sql (the same contract tests run on both):
ids are assigned on add, callers get copies (mutating an object changes nothing until
``update``), leaving a unit of work without ``commit`` undoes its writes, a duplicate outbox
idempotency key or block is ignored, and uniqueness rules (one WAITING queue entry per
learner, one community per platform id, ...) raise ``StorageConflict`` like the database.
Deleting a learner cascades to their profile, queue entries, memberships, blocks and
feedback, as the foreign keys do.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import secrets
from collections import Counter
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Self, cast

from core import model as md
from core import ports
from core.accepted import AcceptedWork, WorkKind, WorkState
from core.exports import learner_row
from core.messages import AnnounceMatch
from core.office_hours import OfficeHour, OfficeHourState, Seat
from core.ports import ReadOnlyUnit, StorageConflict

_MISSING = object()
TABLES = ("communities", "learners", "profiles", "queue", "matches", "blocks", "rounds",
          "sessions", "proposals", "feedback", "outbox", "audit", "tombstones", "accepted",
          "office_hours", "seats", "offers", "verifications")


def _as_utc(value: datetime) -> datetime:
    if value.tzinfo is None:  # the SQL adapter refuses naive datetimes too
        raise ValueError(f"naive datetime {value!r} given to the storage; use aware UTC")
    return value.astimezone(UTC)


def _utc(obj: Any) -> Any:
    """Store datetimes as UTC, as the database does (and refuse naive ones)."""
    for name, value in vars(obj).items():
        if isinstance(value, datetime):
            setattr(obj, name, _as_utc(value))
    if isinstance(obj, md.Match):
        obj.suggested_times = [(_as_utc(s), _as_utc(e)) for s, e in obj.suggested_times]
    return obj


class FakeClock:
    """A clock the test moves by hand. Always aware UTC."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self._now

    def set(self, when: datetime) -> None:
        if when.tzinfo is None:
            raise ValueError("FakeClock needs an aware datetime")
        self._now = when.astimezone(UTC)

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        """Move forward by ``delta`` or by ``timedelta(**kwargs)``; returns the new now."""
        self._now += delta if delta is not None else timedelta(**kwargs)
        return self._now


class InMemoryStorage:
    """The shared 'database' of in-memory units of work."""

    def __init__(self) -> None:
        self.tables: dict[str, dict[Any, Any]] = {t: {} for t in TABLES}
        # Like database sequences, ids are never reused, even after a rollback.
        self._ids = {t: itertools.count(1) for t in TABLES}
        self.locks: dict[int, InMemoryUnitOfWork] = {}
        self.tombstone_key = secrets.token_bytes(32)  # a database makes its own, once

    def next_id(self, table: str) -> int:
        return next(self._ids[table])

    def uow_factory(self, *, writes: bool = True) -> InMemoryUnitOfWork:
        """A new unit of work on this storage (use as ``UnitOfWorkFactory``); like the SQL
        one, a unit made with ``writes=False`` refuses to write."""
        return InMemoryUnitOfWork(self, writes=writes)

    async def dispose(self) -> None:
        """Nothing to release; mirrors SqlStorage.dispose."""


class _Repo:
    """Shared plumbing; ``get``/``add``/``update`` serve every repository keyed by ``id``."""

    table = ""
    same: Callable[[Any, Any], bool] | None = None  # a uniqueness rule, checked on write
    conflict = ""

    def __init__(self, uow: InMemoryUnitOfWork) -> None:
        self.u = uow

    async def get(self, obj_id: int) -> Any:
        return self._get(obj_id)

    async def add(self, obj: Any) -> Any:
        self._check(obj)
        return self._insert(obj)

    async def update(self, obj: Any) -> None:
        self._check(obj)
        self._update(obj)

    def _check(self, obj: Any) -> None:
        same = type(self).same
        if same is not None and any(r.id != obj.id and same(r, obj)
                                    for r in self.u.data(self.table).values()):
            raise StorageConflict(self.conflict)

    def _rows(self, where: Callable[[Any], bool] = lambda _: True,
              key: Callable[[Any], Any] | None = None) -> list[Any]:
        found = [copy.deepcopy(r) for r in self.u.data(self.table).values() if where(r)]
        return sorted(found, key=key or (lambda r: r.id))

    def _get(self, key: Any) -> Any:
        return copy.deepcopy(self.u.data(self.table).get(key))

    def _insert(self, obj: Any) -> Any:
        obj.id = self.u.storage.next_id(self.table)
        self.u.put(self.table, obj.id, obj)
        return obj

    def _update(self, obj: Any) -> None:
        if obj.id in self.u.data(self.table):
            self.u.put(self.table, obj.id, obj)

    def _delete(self, where: Callable[[Any], bool]) -> int:
        keys = [k for k, r in self.u.data(self.table).items() if where(r)]
        for k in keys:
            self.u.delete(self.table, k)
        return len(keys)


def _add_all(repo: _Repo, items: Sequence[Any]) -> list[Any]:
    """Add several rows, all or none, as the SQL ``add_many`` does in one statement: a
    uniqueness conflict with stored rows or among the new ones adds nothing."""
    same = type(repo).same
    for i, obj in enumerate(items):
        repo._check(obj)
        if same is not None and any(same(other, obj) for other in items[:i]):
            raise StorageConflict(repo.conflict)
    return [repo._insert(obj) for obj in items]


class _Communities(_Repo):
    table = "communities"
    same = staticmethod(lambda a, b: (a.platform, a.external_id) == (b.platform, b.external_id))
    conflict = "community already exists"

    async def by_external(self, platform: str, external_id: str) -> md.Community | None:
        rows = self._rows(lambda c: (c.platform, c.external_id) == (platform, external_id))
        return rows[0] if rows else None

    async def list(self) -> list[md.Community]:
        return self._rows()


class _Learners(_Repo):
    table = "learners"
    same = staticmethod(lambda a, b: (a.community_id, a.platform_user_id)
                        == (b.community_id, b.platform_user_id))
    conflict = "learner already exists"

    async def by_platform_id(self, community_id: int, user_id: str) -> md.Learner | None:
        rows = self._rows(lambda x: (x.community_id, x.platform_user_id) == (community_id, user_id))
        return rows[0] if rows else None

    async def delete(self, learner_id: int) -> None:
        # The foreign keys cascade in SQL; do the same here.
        u, lid = self.u, learner_id
        await u.profiles.delete(lid)
        await u.queue.delete_for(lid)
        await u.matches.remove_member(lid)
        await u.blocks.delete_for(lid)
        await u.feedback.delete_for(lid)
        u.office_hours.delete_for(lid)  # type: ignore[attr-defined]
        # support_offers and verified_supporters cascade in SQL (migration 0009)
        for table in ("offers",):
            for key in [k for k, o in u.data(table).items()
                        if lid in (o.learner_id, o.supporter_id)]:
                u.delete(table, key)
        if lid in u.data("verifications"):
            u.delete("verifications", lid)
        if any(t.other_learner_id == lid for t in u.data("tombstones").values()):
            # tombstones.other_learner_id has no ON DELETE in SQL: the delete fails there.
            raise RuntimeError("FOREIGN KEY constraint failed: tombstones.other_learner_id")
        self._delete(lambda x: x.id == lid)

    async def list(self, community_id: int) -> list[md.Learner]:
        return self._rows(lambda x: x.community_id == community_id)

    async def by_platform_ids(self, community_id: int,
                              user_ids: Sequence[str]) -> dict[str, md.Learner]:
        wanted = set(user_ids)
        return {x.platform_user_id: x for x in self._rows(
            lambda x: x.community_id == community_id and x.platform_user_id in wanted)}

    async def add_many(self, items: Sequence[md.Learner]) -> list[md.Learner]:
        return _add_all(self, items)

    async def get_many(self, learner_ids: Sequence[int]) -> dict[int, md.Learner]:
        wanted = set(learner_ids)
        return {x.id: x for x in self._rows(lambda x: x.id in wanted)}

    async def page(self, community_id: int, after_id: int, limit: int) -> list[md.Learner]:
        return self._rows(lambda x: x.community_id == community_id and x.id > after_id)[:limit]

    async def paused_for(self, community_id: int, reason_prefix: str) -> list[md.Learner]:
        return self._rows(lambda x: x.community_id == community_id
                          and x.pause_reason.startswith(reason_prefix))

    async def export_page(self, community_id: int, after_id: int,
                          limit: int) -> list[ports.LearnerExportRow]:
        page = await self.page(community_id, after_id, limit)
        ids = [lr.id or 0 for lr in page]
        found = await self.u.profiles.for_learners(ids)
        latest = await self.u.queue.latest_for_many(ids)
        return [learner_row(lr, found.get(lr.id or 0), latest.get(lr.id or 0)) for lr in page]


class _Profiles(_Repo):
    table = "profiles"

    async def get(self, learner_id: int) -> md.Profile | None:
        found: md.Profile | None = self._get(learner_id)
        return found

    async def save(self, profile: md.Profile) -> None:
        self.u.put(self.table, profile.learner_id, profile)

    async def delete(self, learner_id: int) -> None:
        self._delete(lambda p: p.learner_id == learner_id)

    async def for_learners(self, learner_ids: Sequence[int]) -> dict[int, md.Profile]:
        wanted = set(learner_ids)
        return {p.learner_id: p for p in self._rows(lambda p: p.learner_id in wanted,
                                                    key=lambda p: p.learner_id)}

    async def save_many(self, items: Sequence[md.Profile]) -> None:
        for profile in items:
            await self.save(profile)


class _Queue(_Repo):
    table = "queue"
    same = staticmethod(lambda a, b: a.learner_id == b.learner_id
                        and a.state == b.state == md.QueueState.WAITING)
    conflict = "learner already has a waiting queue entry"
    _order = staticmethod(lambda e: (e.joined_at, e.id))

    async def open_for(self, learner_id: int) -> md.QueueEntry | None:
        rows = self._rows(lambda e: e.learner_id == learner_id and e.state == md.QueueState.WAITING)
        return rows[0] if rows else None

    async def waiting(self, community_id: int, mode: md.Mode | None = None) -> list[md.QueueEntry]:
        return self._rows(
            lambda e: (
                e.community_id == community_id
                and e.state == md.QueueState.WAITING
                and (mode is None or e.mode == mode)
            ),
            key=self._order,
        )

    def _topic(self, learner_id: int) -> str:
        profile = self.u.data("profiles").get(learner_id)
        return profile.topic if profile is not None else ""

    async def waiting_counts(self, community_id: int,
                             mode: md.Mode | None = None) -> dict[tuple[md.Mode, str], int]:
        counts: Counter[tuple[md.Mode, str]] = Counter(
            (e.mode, self._topic(e.learner_id)) for e in await self.waiting(community_id, mode))
        return dict(counts)

    async def waiting_first(self, community_id: int, mode: md.Mode | None,
                            topics: Collection[str] | None, limit: int) -> list[md.QueueEntry]:
        entries = await self.waiting(community_id, mode)
        if topics is not None:
            entries = [e for e in entries if e.learner_id in self.u.data("profiles")
                       and self._topic(e.learner_id) in topics]
        return entries[:limit]

    async def delete_for(self, learner_id: int) -> None:
        self._delete(lambda e: e.learner_id == learner_id)

    async def history(self, community_id: int) -> list[md.QueueEntry]:
        return self._rows(lambda e: e.community_id == community_id, key=self._order)

    async def open_for_many(self, learner_ids: Sequence[int]) -> dict[int, md.QueueEntry]:
        wanted = set(learner_ids)
        return {e.learner_id: e for e in self._rows(
            lambda e: e.learner_id in wanted and e.state == md.QueueState.WAITING)}

    async def add_many(self, entries: Sequence[md.QueueEntry]) -> list[md.QueueEntry]:
        if any(e.state != md.QueueState.WAITING for e in entries):
            raise ValueError("add_many stores new WAITING entries only")
        return _add_all(self, entries)

    async def claim_waiting(self, learner_ids: Sequence[int]) -> dict[int, int]:
        wanted, claimed = set(learner_ids), {}
        for e in self._rows(lambda e: e.learner_id in wanted
                            and e.state == md.QueueState.WAITING):
            e.state, e.unmatched_reason = md.QueueState.MATCHED, ""
            self._update(e)
            assert e.id is not None
            claimed[e.learner_id] = e.id
        return claimed

    async def release(self, entry_ids: Collection[int]) -> None:
        wanted = set(entry_ids)
        for e in self._rows(lambda e: e.id in wanted and e.state == md.QueueState.MATCHED):
            e.state = md.QueueState.WAITING
            self._update(e)

    async def waiting_ids(self, community_id: int) -> set[int]:
        return {e.learner_id for e in self._rows(
            lambda e: e.community_id == community_id and e.state == md.QueueState.WAITING)}

    async def note_unmatched(self, reasons: Mapping[int, str]) -> None:
        for e in self._rows(lambda e: e.learner_id in reasons
                            and e.state == md.QueueState.WAITING):
            e.unmatched_reason = reasons[e.learner_id]
            self._update(e)


    async def latest_for_many(self, learner_ids: Sequence[int]) -> dict[int, md.QueueEntry]:
        wanted = set(learner_ids)
        return {e.learner_id: e for e in self._rows(lambda e: e.learner_id in wanted,
                                                    key=self._order)}

    async def position(self, entry: md.QueueEntry) -> tuple[int, int]:
        ids = [e.id for e in await self.waiting(entry.community_id, entry.mode)]
        return (ids.index(entry.id) + 1 if entry.id in ids else len(ids), len(ids))


def _share_a_seat(a: md.Match, b: md.Match) -> bool:
    """Two ACTIVE matches of one mode with a learner in both (a supporter, who has several
    seats, aside): what migration 0005 forbids in SQL."""
    if not (a.state == b.state == md.MatchState.ACTIVE and a.kind == b.kind):
        return False
    seats = {m.learner_id for m in a.members if m.role != "supporter"}
    return any(m.learner_id in seats for m in b.members if m.role != "supporter")


class _Matches(_Repo):
    table = "matches"
    same = staticmethod(_share_a_seat)
    conflict = "a learner would be in two active matches of one mode"

    async def active_for(self, learner_id: int) -> list[md.Match]:
        return self._rows(
            lambda m: learner_id in m.member_ids() and m.state == md.MatchState.ACTIVE
        )

    async def for_learner(self, learner_id: int) -> list[md.Match]:
        return self._rows(lambda m: learner_id in m.member_ids())

    async def list(self, community_id: int, state: md.MatchState | None = None) -> list[md.Match]:
        return self._rows(lambda m: m.community_id == community_id
                          and (state is None or m.state == state))

    async def page(self, community_id: int, after_id: int, limit: int) -> list[md.Match]:
        return self._rows(lambda m: m.community_id == community_id and m.id > after_id)[:limit]

    async def get_many(self, match_ids: Sequence[int]) -> dict[int, md.Match]:
        wanted = set(match_ids)
        return {m.id: m for m in self._rows(lambda m: m.id in wanted)}

    async def add_many(self, items: Sequence[md.Match]) -> list[md.Match]:
        stored = []
        for match in items:  # each all or nothing; one refused by the guard is left out
            match.id = None
            try:
                stored.append(await self.add(match))
            except StorageConflict:
                match.id = None
        return stored

    async def support_seats(self, learner_ids: Sequence[int]) -> dict[int, int]:
        wanted, seats = set(learner_ids), Counter[int]()
        for m in self._rows(lambda m: m.state == md.MatchState.ACTIVE and m.is_support):
            seats.update(lid for lid in set(m.member_ids()) if lid in wanted)
        return dict(seats)

    async def partner_pairs(self, community_id: int) -> set[frozenset[int]]:
        pairs: set[frozenset[int]] = set()
        for m in self._rows(lambda m: m.community_id == community_id):
            ids = m.member_ids()
            pairs.update(frozenset((a, b)) for i, a in enumerate(ids) for b in ids[i + 1:])
        return pairs

    async def remove_member(self, learner_id: int) -> None:
        for m in self._rows(lambda m: learner_id in m.member_ids()):
            m.members = [x for x in m.members if x.learner_id != learner_id]
            self.u.put(self.table, m.id, m)


class _Blocks(_Repo):
    table = "blocks"

    async def add(self, block: md.Block) -> None:
        a, b = sorted((block.learner_a, block.learner_b))
        key = (block.community_id, a, b)
        if key not in self.u.data(self.table):  # a duplicate pair is ignored, like ON CONFLICT
            self.u.put(self.table, key, md.Block(block.community_id, a, b, block.reason,
                                              block.created_at))

    async def pairs(self, community_id: int) -> set[frozenset[int]]:
        return {frozenset((b.learner_a, b.learner_b))
                for b in self.u.data(self.table).values() if b.community_id == community_id}

    async def of(self, learner_id: int) -> list[md.Block]:
        return [copy.deepcopy(b) for b in self.u.data(self.table).values()
                if learner_id in (b.learner_a, b.learner_b)]

    async def delete_for(self, learner_id: int) -> None:
        self._delete(lambda b: learner_id in (b.learner_a, b.learner_b))

    async def tombstone_key(self) -> bytes:
        return self.u.storage.tombstone_key

    async def bury(self, tombstone: md.Tombstone) -> None:
        tombstone.id = self.u.storage.next_id("tombstones")
        self.u.put("tombstones", tombstone.id, tombstone)

    async def tombstones(self, community_id: int, subjects: Sequence[str]) -> list[md.Tombstone]:
        wanted = set(subjects)
        return self._stones(lambda t: t.community_id == community_id
                            and bool(wanted & {t.subject, t.other_subject}))

    async def tombstones_naming(self, learner_id: int) -> list[md.Tombstone]:
        return self._stones(lambda t: t.other_learner_id == learner_id)

    async def update_tombstone(self, tombstone: md.Tombstone) -> None:
        if tombstone.id in self.u.data("tombstones"):
            self.u.put("tombstones", tombstone.id, tombstone)

    async def delete_tombstone(self, tombstone_id: int) -> None:
        self.u.delete("tombstones", tombstone_id)

    def _stones(self, where: Callable[[md.Tombstone], bool]) -> list[md.Tombstone]:
        found = [copy.deepcopy(t) for t in self.u.data("tombstones").values() if where(t)]
        return sorted(found, key=lambda t: t.id or 0)


class _Rounds(_Repo):
    table = "rounds"

    async def latest(self, community_id: int, dry_run: bool | None = None) -> md.Round | None:
        rows = self._rows(lambda r: r.community_id == community_id
                          and (dry_run is None or r.dry_run == dry_run),
                          key=lambda r: (r.started_at, r.id))
        return rows[-1] if rows else None

    async def list(self, community_id: int) -> list[md.Round]:
        return self._rows(lambda r: r.community_id == community_id)


class _Sessions(_Repo):
    table = "sessions"
    same = staticmethod(lambda a, b: a.ics_uid == b.ics_uid)
    conflict = "ics uid already used"

    async def for_match(self, match_id: int) -> list[md.Session]:
        return self._rows(lambda s: s.match_id == match_id, key=lambda s: (s.start, s.id))

    async def for_community(self, community_id: int) -> list[md.Session]:
        mids = self._match_ids(lambda m: m.community_id == community_id)
        return self._rows(lambda s: s.match_id in mids, key=lambda s: (s.start, s.id))

    async def matches_with_sessions(self, community_id: int) -> set[int]:
        mids = self._match_ids(lambda m: m.community_id == community_id)
        return {s.match_id for s in self._rows(
            lambda s: s.match_id in mids and s.state != md.SessionState.CANCELLED)}

    def _match_ids(self, where: Callable[[md.Match], bool]) -> set[int]:
        return {m.id for m in self.u.data("matches").values() if where(m)}

    async def for_matches(self, match_ids: Sequence[int]) -> dict[int, list[md.Session]]:
        wanted, out = set(match_ids), {}
        for s in self._rows(lambda s: s.match_id in wanted, key=lambda s: (s.start, s.id)):
            out.setdefault(s.match_id, []).append(s)
        return out

    async def booked_for_learners(self, learner_ids: Sequence[int]) -> list[md.Session]:
        wanted = set(learner_ids)
        mids = self._match_ids(lambda m: bool(wanted & set(m.member_ids())))
        return self._rows(lambda s: s.match_id in mids and s.state == md.SessionState.BOOKED,
                          key=lambda s: (s.start, s.id))

    async def count_since(self, community_id: int, since: datetime,
                          learner_id: int | None = None) -> int:
        """Sessions not cancelled starting at or after ``since`` in the community's matches
        (only those of the learner's matches when given)."""
        mids = self._match_ids(lambda m: m.community_id == community_id
                               and (learner_id is None or learner_id in m.member_ids()))
        return len(self._rows(lambda s: s.match_id in mids and s.start >= since
                              and s.state != md.SessionState.CANCELLED))


class _Proposals(_Repo):
    table = "proposals"

    async def open_for_match(self, match_id: int) -> list[md.Proposal]:
        return self._rows(lambda p: p.match_id == match_id and p.state == md.ProposalState.OPEN)


class _Offers(_Repo):
    table = "offers"
    # like the partial unique index of migration 0009: one open ask per learner
    same = staticmethod(lambda a, b: (a.learner_id == b.learner_id
                                      and a.state == b.state == md.OfferState.OPEN))
    conflict = "the learner has an open support offer"

    async def add_many(self, offers: Sequence[md.SupportOffer]) -> list[md.SupportOffer]:
        stored = []
        for offer in offers:
            try:
                stored.append(await self.add(offer))
            except StorageConflict:
                continue
        return stored

    async def open_for_learner(self, learner_id: int) -> md.SupportOffer | None:
        rows = self._rows(lambda o: o.learner_id == learner_id and o.is_open)
        return rows[0] if rows else None

    async def list(self, community_id: int,
                   state: md.OfferState | None = None) -> list[md.SupportOffer]:
        return self._rows(lambda o: o.community_id == community_id
                          and (state is None or o.state == state))

    async def expired(self, community_id: int, now: datetime) -> list[md.SupportOffer]:
        return self._rows(lambda o: o.community_id == community_id and o.is_open
                          and o.expires_at <= now)


class _Verifications(_Repo):
    table = "verifications"

    async def save(self, verification: md.Verification) -> None:
        self.u.put(self.table, verification.learner_id, verification)

    async def delete(self, learner_id: int) -> bool:
        return self._delete(lambda v: v.learner_id == learner_id) > 0

    async def list(self, community_id: int) -> list[md.Verification]:
        return self._rows(lambda v: v.community_id == community_id,
                          key=lambda v: v.learner_id)


class _Feedback(_Repo):
    table = "feedback"
    same = staticmethod(lambda a, b: _Feedback._key(a) == _Feedback._key(b))
    conflict = "feedback already given"

    @staticmethod
    def _key(f: md.Feedback) -> tuple[int, int, int, int]:
        return (f.match_id, f.session_id or 0, f.from_learner, f.to_learner)

    async def find(self, match_id: int, session_id: int | None, from_learner: int,
                   to_learner: int) -> md.Feedback | None:
        key = (match_id, session_id or 0, from_learner, to_learner)
        rows = self._rows(lambda f: self._key(f) == key)
        return rows[0] if rows else None

    async def about(self, learner_id: int) -> list[md.Feedback]:
        return self._rows(lambda f: f.to_learner == learner_id)

    async def list(self, community_id: int) -> list[md.Feedback]:
        mids = {m.id for m in self.u.data("matches").values() if m.community_id == community_id}
        return self._rows(lambda f: f.match_id in mids)

    async def delete_for(self, learner_id: int) -> None:
        self._delete(lambda f: learner_id in (f.from_learner, f.to_learner))


class _Outbox(_Repo):
    table = "outbox"
    _order = staticmethod(lambda m: (m.due_at, m.id))

    async def add(self, message: md.OutboxMessage) -> md.OutboxMessage:
        if any(
            m.idempotency_key == message.idempotency_key for m in self.u.data(self.table).values()
        ):
            return message  # already written once: ignored, like ON CONFLICT DO NOTHING
        added: md.OutboxMessage = self._insert(message)
        return added

    async def claim_due(self, now: datetime, limit: int, lease_until: datetime,
                        claimed_by: str = "") -> list[md.OutboxMessage]:
        due = self._rows(lambda m: m.state == md.OutboxState.PENDING and m.due_at <= now
                         and m.kind != AnnounceMatch.kind, key=self._order)[:limit]
        token = secrets.token_hex(16)
        for m in due:
            m.due_at, m.claim_token, m.claimed_by = lease_until, token, claimed_by
            self.u.put(self.table, m.id, m)
        return due

    async def take_due(self, kind: str, now: datetime, limit: int) -> list[md.OutboxMessage]:
        due = self._rows(lambda m: m.state == md.OutboxState.PENDING and m.kind == kind
                         and m.due_at <= now, key=self._order)[:limit]
        for m in due:
            m.state, m.sent_at, m.claim_token, m.claimed_by = md.OutboxState.SENT, now, "", ""
            self.u.put(self.table, m.id, m)
        return due

    def _held(self, message_id: int, claim_token: str) -> md.OutboxMessage | None:
        """The stored row (a copy) while this claim holds it; None when it was lost."""
        row = self._get(message_id)
        if not claim_token or row is None or row.claim_token != claim_token:
            return None
        return cast(md.OutboxMessage, row)

    async def begin_attempt(self, message_id: int, claim_token: str, started_at: datetime,
                            lease_until: datetime) -> bool:
        if (row := self._held(message_id, claim_token)) is None:
            return False
        row.due_at, row.attempt_started_at = lease_until, row.attempt_started_at or started_at
        self.u.put(self.table, message_id, row)
        return True

    async def save_progress(self, message_id: int, claim_token: str,
                            progress: dict[str, str]) -> bool:
        if (row := self._held(message_id, claim_token)) is None:
            return False
        row.progress = dict(progress)
        self.u.put(self.table, message_id, row)
        return True

    async def record(self, message: md.OutboxMessage, claim_token: str) -> bool:
        assert message.id is not None
        if self._held(message.id, claim_token) is None:
            return False
        self.u.put(self.table, message.id, message)
        return True

    async def reclaim(self, claimed_by: str, now: datetime) -> int:
        mine = self._rows(lambda m: bool(claimed_by) and m.state == md.OutboxState.PENDING
                          and m.claimed_by == claimed_by and m.claim_token != "")
        for m in mine:
            m.due_at, m.claim_token, m.claimed_by = now, "", ""
            self.u.put(self.table, m.id, m)
        return len(mine)

    async def defer_target(self, community_id: int, kinds: Sequence[str], target: str,
                           until: datetime) -> int:
        rows = self._rows(lambda m: m.community_id == community_id and m.target == target
                          and m.kind in kinds and m.state == md.OutboxState.PENDING
                          and not m.claim_token and m.due_at < until)
        for m in rows:
            m.due_at = until
            self.u.put(self.table, m.id, m)
        return len(rows)

    async def failed(self, community_id: int, limit: int) -> list[md.OutboxMessage]:
        rows = self._rows(lambda m: m.community_id == community_id
                          and m.state == md.OutboxState.FAILED)
        return rows[::-1][:limit]

    async def retry_failed(self, community_id: int, message_ids: Sequence[int] | None,
                           now: datetime) -> list[md.OutboxMessage]:
        rows = self._rows(lambda m: m.community_id == community_id
                          and m.state == md.OutboxState.FAILED
                          and (message_ids is None or m.id in message_ids))
        for m in rows:
            m.state, m.attempts, m.due_at = md.OutboxState.PENDING, 0, now
            m.claim_token = m.claimed_by = ""
            self.u.put(self.table, m.id, m)
        return rows

    async def pending(self, community_id: int | None = None) -> list[md.OutboxMessage]:
        return self._rows(lambda m: m.state == md.OutboxState.PENDING
                          and community_id in (None, m.community_id), key=self._order)

    async def list(self, community_id: int | None = None) -> list[md.OutboxMessage]:
        return self._rows(lambda m: community_id in (None, m.community_id))

    async def drop_matching(self, key_prefix: str, reason: str) -> int:
        hits = self._rows(lambda m: m.state == md.OutboxState.PENDING
                          and m.idempotency_key.startswith(key_prefix))
        for m in hits:
            m.state, m.last_error = md.OutboxState.DROPPED, reason
            self.u.put(self.table, m.id, m)
        return len(hits)

    async def drop_key(self, key: str, reason: str) -> bool:
        hits = self._rows(lambda m: m.state == md.OutboxState.PENDING
                          and m.idempotency_key == key)
        for m in hits:
            m.state, m.last_error = md.OutboxState.DROPPED, reason
            self.u.put(self.table, m.id, m)
        return bool(hits)

    async def delete_for_target(self, community_id: int, target: str) -> None:
        self._delete(lambda m: m.community_id == community_id and m.target == target)

    async def add_many(self, messages: Sequence[md.OutboxMessage]) -> int:
        added = 0
        for message in messages:
            if not await self.existing_keys([message.idempotency_key]):
                added += (await self.add(message)).id is not None
        return added

    async def existing_keys(self, keys: Sequence[str]) -> set[str]:
        stored = {m.idempotency_key for m in self.u.data(self.table).values()}
        return stored & set(keys)

    async def keys_starting(self, community_id: int, prefix: str) -> list[str]:
        return [m.idempotency_key for m in self._rows(
            lambda m: m.community_id == community_id and m.idempotency_key.startswith(prefix))]

    async def with_prefix(self, community_id: int, key_prefix: str,
                          sent_since: datetime | None = None) -> list[md.OutboxMessage]:
        return self._rows(lambda m: m.community_id == community_id
                          and m.idempotency_key.startswith(key_prefix)
                          and (sent_since is None or (m.state == md.OutboxState.SENT
                                                      and m.sent_at is not None
                                                      and m.sent_at >= sent_since)),
                          key=lambda m: m.id)

    async def count_errors(self, community_id: int, error: str) -> int:
        return len(self._rows(lambda m: m.community_id == community_id
                              and m.last_error == error))


class _Audit(_Repo):
    table = "audit"

    async def list(self, community_id: int) -> list[md.AuditEntry]:
        return self._rows(lambda e: e.community_id == community_id)


class _Stats:
    """The aggregates of ``/peeradmin stats``, from the stored objects (SQL counts them)."""

    def __init__(self, uow: InMemoryUnitOfWork) -> None:
        self.u = uow

    def _of(self, table: str, community_id: int) -> list[Any]:
        return [r for r in self.u.data(table).values() if r.community_id == community_id]

    def _sessions(self, community_id: int) -> list[md.Session]:
        mids = {m.id for m in self._of("matches", community_id)}
        return [s for s in self.u.data("sessions").values() if s.match_id in mids]

    async def queue_counts(self, community_id: int) -> tuple[int, int, dict[str, int]]:
        entries = self._of("queue", community_id)
        waiting = Counter(e.mode.value for e in entries if e.state == md.QueueState.WAITING)
        return (len({e.learner_id for e in entries}),
                len({e.learner_id for e in entries if e.state == md.QueueState.MATCHED}),
                dict(waiting))

    async def wait_days(self, community_id: int) -> list[float]:
        first: dict[int, datetime] = {}
        for m in self._of("matches", community_id):
            for lid in m.member_ids():
                first[lid] = min(first.get(lid, m.created_at), m.created_at)
        return [(first[e.learner_id] - e.joined_at).total_seconds() / 86400
                for e in self._of("queue", community_id)
                if e.state == md.QueueState.MATCHED and e.learner_id in first
                and first[e.learner_id] >= e.joined_at]

    async def match_counts(self, community_id: int, met_uid_prefix: str) -> dict[str, int]:
        found = self._of("matches", community_id)
        live = [s for s in self._sessions(community_id)
                if s.state != md.SessionState.CANCELLED]
        return {"matches": len(found),
                "active": sum(m.state == md.MatchState.ACTIVE for m in found),
                "with_sessions": len({s.match_id for s in live}),
                "booked": len({s.match_id for s in live
                               if not s.ics_uid.startswith(met_uid_prefix)}),
                "met": len({s.match_id for s in self._sessions(community_id)
                            if s.state == md.SessionState.DONE})}

    async def rating_scores(self, community_id: int) -> list[dict[str, int]]:
        mids = {m.id for m in self._of("matches", community_id)}
        return [dict(f.scores) for f in self.u.data("feedback").values() if f.match_id in mids]

    async def paused_for(self, community_id: int, reason_prefix: str, now: datetime) -> int:
        return sum(1 for lr in self._of("learners", community_id)
                   if lr.is_paused(now) and lr.pause_reason.startswith(reason_prefix))


class _Accepted(_Repo):
    table = "accepted"
    _open = (WorkState.PENDING, WorkState.DONE)

    def _mine(self, work_id: int, token: str) -> AcceptedWork | None:
        work: AcceptedWork | None = self._get(work_id)
        ok = work is not None and work.claim_token == token and work.state in self._open
        return work if ok else None

    async def claim(self, now: datetime, lease_until: datetime, token: str, limit: int,
                    platforms: Sequence[str] = ()) -> list[AcceptedWork]:
        free = self._rows(lambda w: w.state in self._open
                          and (w.claimed_until is None or w.claimed_until <= now)
                          and (w.kind is WorkKind.INSTANT_MATCH or w.platform in platforms),
                          key=lambda w: (w.accepted_at, w.id))[:limit]
        for work in free:
            work.attempts += work.state is WorkState.PENDING
            work.claim_token, work.claimed_until = token, lease_until
            self.u.put(self.table, work.id, work)
        return free

    async def extend(self, work_id: int, token: str, lease_until: datetime) -> bool:
        work = self._mine(work_id, token)
        if work is not None:
            work.claimed_until = lease_until
            self.u.put(self.table, work_id, work)
        return work is not None

    async def settle(self, work_id: int, token: str, result: dict[str, Any],
                     now: datetime) -> bool:
        work = self._mine(work_id, token)
        if work is None or work.state is not WorkState.PENDING:
            return False
        work.state, work.result, work.finished_at = WorkState.DONE, dict(result), now
        self.u.put(self.table, work_id, work)
        return True

    async def finish(self, work_id: int, token: str, now: datetime, *,
                     failed: str = "") -> None:
        work = self._mine(work_id, token)
        if work is None:
            return
        work.claimed_until, work.state = None, WorkState.REPLIED
        if failed:
            work.state, work.result, work.finished_at = WorkState.FAILED, {"error": failed}, now
        self.u.put(self.table, work_id, work)

    async def reclaim(self, token_prefix: str) -> int:
        held = self._rows(lambda w: bool(token_prefix) and w.state in self._open
                          and w.claimed_until is not None
                          and w.claim_token.startswith(token_prefix))
        for work in held:
            work.claimed_until = None
            self.u.put(self.table, work.id, work)
        return len(held)

    async def list(self) -> list[AcceptedWork]:
        return self._rows()


class _OfficeHours(_Repo):
    """Office hours and seats, with the guards of migration 0010: a booked seat's number is
    1..seats and unique per occurrence, one seat per learner per occurrence, and no seat
    overlaps another booked seat or session of its learner."""

    table = "office_hours"

    async def active(self, community_id: int) -> list[OfficeHour]:
        return self._rows(lambda h: h.community_id == community_id
                          and h.state == OfficeHourState.ACTIVE)

    def _seats(self, where: Callable[[Seat], bool]) -> list[Seat]:
        found = [copy.deepcopy(r) for r in self.u.data("seats").values() if where(r)]
        return sorted(found, key=lambda r: (r.start, r.id))

    def _refusal(self, seat: Seat) -> str:
        hour = self.u.data("office_hours").get(seat.office_hour_id)
        if hour is None:
            return "no such office hour"
        if not 1 <= seat.seat_no <= hour.seats:
            return "office hour full"
        booked = md.SessionState.BOOKED
        for other in self.u.data("seats").values():
            if other.state != booked or other.id == seat.id:
                continue
            same = (other.office_hour_id, other.start) == (seat.office_hour_id, seat.start)
            if same and other.seat_no == seat.seat_no:
                return "seat number taken"
            if other.learner_id == seat.learner_id and (
                    same or (other.start < seat.end and seat.start < other.end)):
                return "double booking"
        mids = {m.id for m in self.u.data("matches").values()
                if seat.learner_id in m.member_ids()}
        if any(s.match_id in mids and s.state == booked and s.start < seat.end
               and seat.start < s.end for s in self.u.data("sessions").values()):
            return "double booking: a session then"
        return ""

    async def add_seat(self, seat: Seat) -> Seat:
        if seat.state == md.SessionState.BOOKED and (why := self._refusal(seat)):
            raise StorageConflict(why)
        if any(r.ics_uid == seat.ics_uid for r in self.u.data("seats").values()):
            raise StorageConflict("ics uid already used")
        seat.id = self.u.storage.next_id("seats")
        self.u.put("seats", seat.id, seat)
        return seat

    async def get_seat(self, seat_id: int) -> Seat | None:
        return copy.deepcopy(self.u.data("seats").get(seat_id))

    async def update_seat(self, seat: Seat) -> None:
        if seat.id in self.u.data("seats"):
            self.u.put("seats", seat.id, seat)

    async def booked_seats(self, hour_ids: Sequence[int], lo: datetime,
                           hi: datetime) -> list[Seat]:
        wanted = set(hour_ids)
        return self._seats(lambda r: r.office_hour_id in wanted and lo <= r.start < hi
                           and r.state == md.SessionState.BOOKED)

    async def seats_for_learner(self, learner_id: int) -> list[Seat]:
        return self._seats(lambda r: r.learner_id == learner_id
                           and r.state == md.SessionState.BOOKED)

    async def count_seats(self, community_id: int, lo: datetime, hi: datetime,
                          learner_id: int | None = None) -> int:
        hours = {h.id for h in self.u.data("office_hours").values()
                 if h.community_id == community_id}
        return len(self._seats(lambda r: r.office_hour_id in hours and lo <= r.start < hi
                               and r.state != md.SessionState.CANCELLED
                               and (learner_id is None or r.learner_id == learner_id)))

    def delete_for(self, learner_id: int) -> None:
        """The cascades of a deleted learner: their seats, their series and its seats."""
        gone = {h.id for h in self.u.data("office_hours").values()
                if h.supporter_id == learner_id}
        for key in [k for k, r in self.u.data("seats").items()
                    if r.learner_id == learner_id or r.office_hour_id in gone]:
            self.u.delete("seats", key)
        self._delete(lambda h: h.id in gone)


class InMemoryUnitOfWork:
    """One 'transaction' on an InMemoryStorage: writes are logged and undone on rollback."""

    def __init__(self, storage: InMemoryStorage, *, writes: bool = True) -> None:
        self.storage = storage
        self.writes = writes
        self._undo: list[tuple[str, Any, Any]] = []
        self._open = False
        self.communities: ports.CommunityRepository = _Communities(self)
        self.learners: ports.LearnerRepository = _Learners(self)
        self.profiles: ports.ProfileRepository = _Profiles(self)
        self.queue: ports.QueueRepository = _Queue(self)
        self.matches: ports.MatchRepository = _Matches(self)
        self.blocks: ports.BlockRepository = _Blocks(self)
        self.rounds: ports.RoundRepository = _Rounds(self)
        self.sessions: ports.SessionRepository = _Sessions(self)
        self.proposals: ports.ProposalRepository = _Proposals(self)
        self.feedback: ports.FeedbackRepository = _Feedback(self)
        self.outbox: ports.OutboxRepository = _Outbox(self)
        self.audit: ports.AuditRepository = _Audit(self)
        self.accepted: ports.AcceptedWorkRepository = _Accepted(self)
        self.office_hours: ports.OfficeHourRepository = _OfficeHours(self)
        self.offers: ports.SupportOfferRepository = _Offers(self)
        self.verifications: ports.VerificationRepository = _Verifications(self)
        self.stats: ports.StatsRepository = _Stats(self)

    # An undo log rather than a whole-storage snapshot: a rollback then cannot wipe out what
    # another unit of work committed meanwhile (tasks running concurrently in one test).
    def data(self, table: str) -> dict[Any, Any]:
        if not self._open:
            raise RuntimeError("unit of work used outside `async with`")
        return self.storage.tables[table]

    def _writable(self, table: str) -> dict[Any, Any]:
        if not self.writes:
            raise ReadOnlyUnit(f"a read-only unit of work tried to write {table}")
        return self.data(table)

    def put(self, table: str, key: Any, value: Any) -> None:
        rows = self._writable(table)
        self._undo.append((table, key, rows.get(key, _MISSING)))
        rows[key] = _utc(copy.deepcopy(value))

    def delete(self, table: str, key: Any) -> None:
        rows = self._writable(table)
        self._undo.append((table, key, rows.pop(key)))

    async def __aenter__(self) -> Self:
        if self._open:
            raise RuntimeError("unit of work entered twice")
        self._open, self._undo = True, []
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.rollback()
        self._open = False

    async def commit(self) -> None:
        self._undo.clear()
        self._release()

    async def rollback(self) -> None:
        tables = self.storage.tables
        for table, key, old in reversed(self._undo):
            if old is _MISSING:
                tables[table].pop(key, None)
            else:
                tables[table][key] = old
        self._undo.clear()
        self._release()

    async def lock_community(self, community_id: int, *, wait: bool = False) -> bool:
        holder = self.storage.locks.setdefault(community_id, self)
        # Waiting, like pg_advisory_xact_lock: until the holder's transaction ends (bounded,
        # as the statement timeout bounds it there).
        for _ in range(1000 if wait else 0):
            if holder is self:
                break
            await asyncio.sleep(0.01)
            holder = self.storage.locks.setdefault(community_id, self)
        return holder is self

    def _release(self) -> None:
        # Like pg_try_advisory_xact_lock: held until the transaction ends.
        for cid in [c for c, h in self.storage.locks.items() if h is self]:
            del self.storage.locks[cid]

