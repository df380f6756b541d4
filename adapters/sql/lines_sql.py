"""The queue repository's side of the kept waiting lines (waiting_lines.py): reading a
community's line from the database, and answering a place in line or the counts from it
with the unit of work's own changes counted in.

At 100,000 waiting a read of the line takes a few hundred milliseconds: it is read by one
task per community at a time (the others asking meanwhile wait for that read), on a
connection outside the pool."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import func, select

from adapters.sql.tables import profiles, queue_entries
from adapters.sql.waiting_lines import Change, Line, Overlay, Stale, Waiting, counts, place
from core.model import Mode, QueueEntry, QueueState

if TYPE_CHECKING:
    from adapters.sql.uow import SqlUnitOfWork


async def _read(uow: SqlUnitOfWork, community_id: int) -> Line:
    """The community's line as committed now, read in a read-only transaction of its own
    (on its own connection: not the unit's, whose snapshot may hold uncommitted changes,
    and not the pool's, which busy units may all be holding while they wait for this)."""
    from adapters.sql.uow import READ_ONLY  # here: uow.py imports this module's users

    lines = uow.lines
    mark, started = lines.mark(), lines.now()  # before the snapshot: see waiting_lines.py
    q = queue_entries.c
    async with uow.lines_engine.connect() as conn:
        await conn.execution_options(**READ_ONLY)
        async with conn.begin():
            rows = (await conn.execute(
                select(q.id, q.learner_id, q.mode, q.joined_at,
                       func.coalesce(profiles.c.topic, ""))
                .select_from(queue_entries.outerjoin(
                    profiles, profiles.c.learner_id == q.learner_id))
                .where(q.community_id == community_id,
                       q.state == QueueState.WAITING.value))).all()
    line = lines.build(((Waiting(eid, lid, community_id, Mode(mode), joined), str(topic))
                        for eid, lid, mode, joined, topic in rows), started)
    lines.loaded(community_id, line, mark)
    return line


async def _line(uow: SqlUnitOfWork, community_id: int) -> Line:
    """The community's kept line, read again (once, however many ask at the same time)
    when it is missing or older than the bound."""
    kept = uow.lines.fresh(community_id)
    if kept is not None:
        return kept
    return await uow.lines.shared_load(community_id, lambda: _read(uow, community_id))


def unit_made_stale(uow: SqlUnitOfWork, community_id: int) -> bool:
    """Whether this unit's own uncommitted changes include one the kept line cannot follow
    (a bulk write marks the line ``Stale``): its place and counts are then counted in the
    unit's own snapshot, which sees those changes, not from a line read outside it."""
    return any(isinstance(c, Stale) and c.community_id in (None, community_id)
               for c in uow.line_changes)


def _overlay(changes: list[Change], community_id: int) -> Overlay | None:
    return Overlay(changes, community_id) if changes else None


async def position(uow: SqlUnitOfWork, entry: QueueEntry) -> tuple[int, int]:
    """``QueueRepository.position`` from the kept line: no statement while it is fresh."""
    line = await _line(uow, entry.community_id)
    return place(line, _overlay(uow.line_changes, entry.community_id), entry)


async def waiting_counts(uow: SqlUnitOfWork, community_id: int,
                         mode: Mode | None) -> dict[tuple[Mode, str], int]:
    """``QueueRepository.waiting_counts`` from the kept line."""
    line = await _line(uow, community_id)
    return counts(line, _overlay(uow.line_changes, community_id), mode)
