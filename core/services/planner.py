"""The periodic planner: this week's accountability check-ins and "still waiting" updates.

The scheduler runs ``plan_periodic`` every few minutes for every community. It writes the
row for the latest week that has begun, due now, so the text is fresh (the current waiting
reason and place in line) and a bot that was down for weeks sends one update, not a
backlog. Rows are keyed (``match:{mid}:weekly:{k}:{learner}``, ``queue:{entry}:update:{k}``,
core/keys.py), so re-running it, in one process or several, writes nothing twice.

Scale (issue 9.1/9.2): the planner reads in a fixed number of set-based statements
(matches, the waiting list, which keys exist, the learners it writes to), whatever the
queue's size, in a unit of work that writes nothing; then it writes only the rows that are
new, in batches of ``PLAN_BATCH`` rows, each batch its own short transaction, so it never
holds the write lock for long. Most runs find every row of the week written already and
write nothing at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from core import keys
from core.model import Community, Match, MatchState, Mode, OutboxMessage, QueueEntry
from core.ports import UnitOfWork, UnitOfWorkFactory
from core.services.checkins import waiting_update, weekly_rows
from core.services.common import queue_positions

WEEK = timedelta(days=7)
# Rows per write transaction: one multi-row INSERT of a few hundred rows is a few ms on
# SQLite (bench/planner.py), far below the ~200 ms the write lock may be held.
PLAN_BATCH = 250


@dataclass(frozen=True)
class _Due:
    """What is due this week: (match, week) and (entry, week) pairs, by key."""

    weekly: list[tuple[Match, int]]
    updates: list[tuple[QueueEntry, int]]


def _week(since: datetime, now: datetime) -> int:
    return int((now - since) / WEEK)


async def due_rows(uow: UnitOfWork, community: Community, now: datetime) -> list[OutboxMessage]:
    """The rows due this week that are not stored yet (reads only, a fixed number of
    statements: nothing per learner)."""
    assert community.id is not None
    matches = await uow.matches.list(community.id, MatchState.ACTIVE)
    waiting = await uow.queue.waiting(community.id)
    due = _Due([(m, k) for m in matches
                if m.kind is Mode.ACCOUNTABILITY and (k := _week(m.created_at, now)) >= 1],
               [(e, k) for e in waiting if (k := _week(e.joined_at, now)) >= 1])
    wanted = [keys.weekly_checkin(m.id, k, lid) for m, k in due.weekly for lid in m.member_ids()]
    wanted += [keys.queue_update(e.id, k) for e, k in due.updates]
    if not wanted:
        return []
    stored = await uow.outbox.existing_keys(wanted)
    weekly = [(m, k) for m, k in due.weekly
              if any(keys.weekly_checkin(m.id, k, lid) not in stored for lid in m.member_ids())]
    updates = [(e, k) for e, k in due.updates if keys.queue_update(e.id, k) not in stored]
    people = await uow.learners.get_many(
        [lid for m, _ in weekly for lid in m.member_ids()] + [e.learner_id for e, _ in updates])
    rows = [row for m, k in weekly for row in weekly_rows(m, people, k, now)
            if row.idempotency_key not in stored]
    places = queue_positions(waiting) if updates else {}
    for entry, k in updates:
        learner = people.get(entry.learner_id)
        if learner is None or learner.banned or learner.is_paused(now) or entry.id is None:
            continue
        rows.append(waiting_update(learner, entry, places[entry.id], k, now))
    return rows


async def plan_periodic(uow_factory: UnitOfWorkFactory, community: Community, now: datetime,
                        *, batch_size: int = PLAN_BATCH) -> int:
    """Write this week's accountability check-ins and waiting updates that are not written
    yet, in batches of ``batch_size`` rows (one transaction each); returns how many rows
    were new. A row another process wrote meanwhile is skipped by its key."""
    async with uow_factory(writes=False) as uow:  # reads only: no write lock on SQLite
        rows = await due_rows(uow, community, now)
    written = 0
    for start in range(0, len(rows), max(1, batch_size)):
        async with uow_factory() as uow:
            written += await uow.outbox.add_many(rows[start:start + batch_size])
            await uow.commit()
    return written

