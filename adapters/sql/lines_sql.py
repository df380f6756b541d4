"""The queue repository's side of the kept waiting lines (waiting_lines.py): reading a
community's line from the database, and answering a place in line or the counts from it
with the unit of work's own changes counted in."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import func, select

from adapters.sql.tables import profiles, queue_entries
from adapters.sql.waiting_lines import Change, Line, Overlay, Waiting, counts, place
from core.model import Mode, QueueEntry, QueueState

if TYPE_CHECKING:
    from adapters.sql.uow import SqlUnitOfWork


async def _line(uow: SqlUnitOfWork, community_id: int) -> tuple[Line, bool]:
    """The community's line, and whether the unit's own changes are still to be counted
    (False when it was read just now, inside this unit: its snapshot holds them)."""
    lines = uow.lines
    kept = lines.fresh(community_id)
    if kept is not None:
        return kept, True
    started = lines.now()
    q = queue_entries.c
    rows = await uow.connection.execute(
        select(q.id, q.learner_id, q.mode, q.joined_at, func.coalesce(profiles.c.topic, ""))
        .select_from(queue_entries.outerjoin(profiles, profiles.c.learner_id == q.learner_id))
        .where(q.community_id == community_id, q.state == QueueState.WAITING.value))
    line = lines.build(((Waiting(eid, lid, community_id, Mode(mode), joined), str(topic))
                        for eid, lid, mode, joined, topic in rows), started)
    if not uow.line_changes:  # a snapshot without uncommitted changes of its own: keep it
        lines.loaded(community_id, line, uow.lines_mark)
    return line, False


def _overlay(changes: list[Change], community_id: int, pending: bool) -> Overlay | None:
    return Overlay(changes, community_id) if pending and changes else None


async def position(uow: SqlUnitOfWork, entry: QueueEntry) -> tuple[int, int]:
    """``QueueRepository.position`` from the kept line: no statement while it is fresh."""
    line, pending = await _line(uow, entry.community_id)
    return place(line, _overlay(uow.line_changes, entry.community_id, pending), entry)


async def waiting_counts(uow: SqlUnitOfWork, community_id: int,
                         mode: Mode | None) -> dict[tuple[Mode, str], int]:
    """``QueueRepository.waiting_counts`` from the kept line."""
    line, pending = await _line(uow, community_id)
    return counts(line, _overlay(uow.line_changes, community_id, pending), mode)
