"""Each community's waiting line kept in memory: a place in line and the queue's counts
without counting the queue.

``/peer status`` shows a learner's place among the waiting entries of their mode and
``/peeradmin queue`` the counts by mode and topic. Counted by the database, both read every
waiting entry of the community: 45-60 ms of CPU per status and 150 ms per queue view at
100,000 waiting on SQLite (bench/README.md), where 200 commands a second leave 5 ms each.

So a storage keeps, per community, its waiting entries (id, learner, mode, joined_at,
topic), sorted per mode, and the counts by (mode, topic):

- loaded from the database by one read when first asked, and again when the kept copy is
  older than ``max_age`` (5 s): what other processes changed shows within that bound;
- changed by this process's own writes as they commit: the repositories note each change
  in their unit of work (``Pending``), the unit applies them after its commit and drops
  them on a rollback; a change whose effect is not known here (a bulk import, a round's
  release) marks the community's line stale, so the next question reloads it;
- inside a unit, the answer also counts that unit's own changes not yet committed (a join
  answers with the new place at once).

A reload that runs while own commits land would miss them (its snapshot may predate
them): every applied change is journaled with a sequence number, and a finished reload
replays the changes journaled since it began (applying a change twice is harmless).
A line is read in a read-only transaction of its own (never a unit's snapshot, which may
hold that unit's uncommitted writes), by one task per community at a time.
"""

from __future__ import annotations

import asyncio
import bisect
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from core.model import Mode, QueueEntry

MAX_AGE_SECONDS = 5.0
_JOURNAL_KEEP = 10_000  # changes kept for reloads in flight (a reload takes well under 1 s)

Key = tuple[datetime, int]  # (joined_at, entry id): the order of the line


@dataclass(frozen=True)
class Waiting:
    """One waiting entry as the line keeps it."""

    id: int
    learner_id: int
    community_id: int
    mode: Mode
    joined_at: datetime

    @property
    def key(self) -> Key:
        return (self.joined_at, self.id)


def waiting_of(entry: QueueEntry) -> Waiting:
    """The line's record of a stored entry."""
    assert entry.id is not None
    return Waiting(entry.id, entry.learner_id, entry.community_id, entry.mode, entry.joined_at)


# Changes, as repositories note them.
@dataclass(frozen=True)
class Upsert:
    """The entry now waits (or, with ``waits`` False, no longer waits) as given;
    ``topic`` is its learner's, when the same unit saved their profile."""

    entry: Waiting
    waits: bool
    topic: str | None = None


@dataclass(frozen=True)
class Gone:
    """These entries (by id) or every entry of these learners no longer wait."""

    entry_ids: tuple[int, ...] = ()
    learner_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class Topic:
    """A learner's profile topic is now ``topic`` ("" without a profile)."""

    learner_id: int
    topic: str


@dataclass(frozen=True)
class Stale:
    """The community's kept line no longer holds (None: every community's)."""

    community_id: int | None


Change = Upsert | Gone | Topic | Stale


@dataclass
class Line:
    """One community's waiting entries, sorted per mode, with counts by (mode, topic)."""

    loaded_at: float
    entries: dict[int, Waiting] = field(default_factory=dict)
    by_learner: dict[int, int] = field(default_factory=dict)  # learner id -> waiting entry id
    keys: dict[Mode, list[Key]] = field(default_factory=dict)
    topics: dict[int, str] = field(default_factory=dict)  # learner id -> profile topic
    counts: Counter[tuple[Mode, str]] = field(default_factory=Counter)

    def add(self, entry: Waiting, topic: str | None) -> bool:
        """Keep ``entry`` as waiting; False when its topic is unknown (the caller reloads)."""
        self.remove(entry.id)
        known = topic if topic is not None else self.topics.get(entry.learner_id)
        if known is None:
            return False
        self.topics[entry.learner_id] = known
        self.entries[entry.id] = entry
        self.by_learner[entry.learner_id] = entry.id
        bisect.insort(self.keys.setdefault(entry.mode, []), entry.key)
        self.counts[(entry.mode, known)] += 1
        return True

    def remove(self, entry_id: int) -> None:
        entry = self.entries.pop(entry_id, None)
        if entry is None:
            return
        if self.by_learner.get(entry.learner_id) == entry_id:
            del self.by_learner[entry.learner_id]
        keys = self.keys[entry.mode]
        del keys[bisect.bisect_left(keys, entry.key)]
        group = (entry.mode, self.topics.get(entry.learner_id, ""))
        self.counts[group] -= 1
        if not self.counts[group]:
            del self.counts[group]

    def retopic(self, learner_id: int, topic: str) -> None:
        entry_id = self.by_learner.get(learner_id)
        if entry_id is None:
            self.topics[learner_id] = topic
            return
        entry = self.entries[entry_id]
        self.remove(entry_id)
        self.add(entry, topic)


class Overlay:
    """A unit's own changes not yet committed, as they bear on one community's line."""

    def __init__(self, changes: Iterable[Change], community_id: int) -> None:
        self.added: dict[int, Waiting] = {}
        self.gone_ids: set[int] = set()
        self.gone_learners: set[int] = set()
        self.topics: dict[int, str] = {}
        for change in changes:
            match change:
                case Upsert(entry, waits, _) if entry.community_id == community_id:
                    self.added.pop(entry.id, None)
                    self.gone_ids.add(entry.id)  # whatever the line had for it
                    if waits:
                        self.added[entry.id] = entry
                case Gone(entry_ids, learner_ids):
                    self.gone_ids.update(entry_ids)
                    self.gone_learners.update(learner_ids)
                    for eid in [e.id for e in self.added.values()
                                if e.id in entry_ids or e.learner_id in learner_ids]:
                        del self.added[eid]
                case Topic(learner_id, topic):
                    self.topics[learner_id] = topic
                case _:
                    pass

    @property
    def empty(self) -> bool:
        return not (self.added or self.gone_ids or self.gone_learners or self.topics)

    def removed(self, line: Line) -> list[Waiting]:
        """The line's entries this unit took out (or replaced)."""
        ids = set(self.gone_ids) | {line.by_learner[lid] for lid in self.gone_learners
                                    if lid in line.by_learner}
        return [line.entries[eid] for eid in ids if eid in line.entries]

    def topic(self, line: Line, learner_id: int) -> str:
        return self.topics.get(learner_id, line.topics.get(learner_id, ""))


class WaitingLines:
    """The kept lines of one storage (one per process; see the module docstring)."""

    def __init__(self, *, max_age: float = MAX_AGE_SECONDS,
                 now: Callable[[], float] = time.monotonic) -> None:
        self.max_age = max_age
        self.now = now
        self._lines: dict[int, Line] = {}
        self._journal: list[tuple[int, Change]] = []
        self._seq = 0
        self.loads = 0  # how many times a line was read from the database (for tests)
        self._loading: dict[int, asyncio.Future[Line]] = {}

    def fresh(self, community_id: int) -> Line | None:
        """The community's kept line, unless it is missing or older than ``max_age``."""
        line = self._lines.get(community_id)
        if line is None or self.now() - line.loaded_at > self.max_age:
            return None
        return line

    async def shared_load(self, community_id: int,
                          read: Callable[[], Awaitable[Line]]) -> Line:
        """``read()`` the community's line, or wait for the read already under way (at
        100,000 waiting a read takes a few hundred milliseconds: one per community at a
        time, whoever asks meanwhile)."""
        running = self._loading.get(community_id)
        if running is None:
            running = asyncio.ensure_future(read())
            self._loading[community_id] = running
            running.add_done_callback(lambda _t: self._loading.pop(community_id, None))
        return await asyncio.shield(running)

    def mark(self) -> int:
        """Where the journal stands: pass it to ``loaded`` after reading."""
        return self._seq

    def build(self, rows: Iterable[tuple[Waiting, str]], started: float) -> Line:
        """A line from (entry, topic) rows read from the database."""
        self.loads += 1
        line = Line(started)
        for entry, topic in rows:
            line.add(entry, topic)
        return line

    def loaded(self, community_id: int, line: Line, mark: int) -> None:
        """Keep a line read from the database, with own changes since ``mark`` (taken
        before the reading transaction's snapshot) replayed; not kept when one of them
        makes it stale."""
        for seq, change in self._journal:
            if seq > mark and not self._apply_to(community_id, line, change):
                return
        self._lines[community_id] = line

    def apply(self, changes: Iterable[Change]) -> None:
        """Changes a unit of work committed, in the order it made them."""
        topics: dict[int, str] = {}
        for change in changes:
            if isinstance(change, Topic):
                topics[change.learner_id] = change.topic
            elif isinstance(change, Upsert) and change.topic is None:
                change = Upsert(change.entry, change.waits, topics.get(change.entry.learner_id))
            self._seq += 1
            self._journal.append((self._seq, change))
            for community_id, line in list(self._lines.items()):
                self._apply_to(community_id, line, change)
        if len(self._journal) > _JOURNAL_KEEP:
            del self._journal[:-_JOURNAL_KEEP // 2]

    def _apply_to(self, community_id: int, line: Line, change: Change) -> bool:
        """Apply one change to one community's line; False (and the line dropped) when
        the line no longer holds after it."""
        match change:
            case Upsert(entry, waits, topic) if entry.community_id == community_id:
                if not waits:
                    line.remove(entry.id)
                elif not line.add(entry, topic):
                    self._drop(community_id, line)
                    return False
            case Gone(entry_ids, learner_ids):
                for eid in entry_ids:
                    line.remove(eid)
                for lid in learner_ids:
                    if lid in line.by_learner:
                        line.remove(line.by_learner[lid])
            case Topic(learner_id, topic):
                line.retopic(learner_id, topic)
            case Stale(which) if which in (None, community_id):
                self._drop(community_id, line)
                return False
            case _:
                pass
        return True

    def _drop(self, community_id: int, line: Line) -> None:
        if self._lines.get(community_id) is line:
            del self._lines[community_id]


def place(line: Line, overlay: Overlay | None, entry: QueueEntry) -> tuple[int, int]:
    """(1-based place, total) of ``entry`` among the waiting entries of its mode, as
    ``QueueRepository.position`` defines it (an entry that no longer waits: (total,
    total)). Bisections and the unit's few own changes: no pass over the line."""
    keys = line.keys.get(entry.mode, [])
    kept = line.entries.get(entry.id or 0)
    if overlay is None or overlay.empty:
        total = len(keys)
        return (bisect.bisect_right(keys, kept.key) if kept else total, total)
    removed = [w.key for w in overlay.removed(line) if w.mode is entry.mode]
    added = [w.key for w in overlay.added.values() if w.mode is entry.mode]
    total = len(keys) - len(removed) + len(added)
    mine = overlay.added.get(entry.id or 0)
    if mine is None and (kept is None or kept.key in removed):
        return (total, total)
    key = (mine or kept).key  # type: ignore[union-attr]
    ahead = (bisect.bisect_right(keys, key) - sum(k <= key for k in removed)
             + sum(k <= key for k in added))
    return (ahead, total)


def counts(line: Line, overlay: Overlay | None,
           mode: Mode | None) -> dict[tuple[Mode, str], int]:
    """How many wait by (mode, topic), as ``QueueRepository.waiting_counts`` defines it."""
    tally = Counter(line.counts)
    if overlay is not None and not overlay.empty:
        removed = overlay.removed(line)
        for w in removed:
            tally[(w.mode, line.topics.get(w.learner_id, ""))] -= 1
        for w in overlay.added.values():
            tally[(w.mode, overlay.topic(line, w.learner_id))] += 1
        out = {w.id for w in removed}
        for learner_id, topic in overlay.topics.items():
            eid = line.by_learner.get(learner_id)
            if eid is not None and eid not in out:  # still waiting, with a new topic
                w = line.entries[eid]
                tally[(w.mode, line.topics.get(learner_id, ""))] -= 1
                tally[(w.mode, topic)] += 1
    return {key: n for key, n in tally.items() if n > 0 and (mode is None or key[0] is mode)}
