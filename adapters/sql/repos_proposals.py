"""The repository of session proposals (times offered in a match, booked on agreement)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row, select, update

from adapters.sql.repo_base import SqlRepository
from adapters.sql.tables import session_proposals as proposals_t
from core.model import Proposal, ProposalState

_FIELDS = ("match_id", "proposed_by", "start", "end", "created_at", "session_id", "decided_by")


def _values(proposal: Proposal) -> dict[str, Any]:
    return {**{n: getattr(proposal, n) for n in _FIELDS},
            "accepted": list(proposal.accepted), "state": str(proposal.state)}


def _proposal(row: Row[Any]) -> Proposal:
    return Proposal(**{n: getattr(row, n) for n in _FIELDS},
                    accepted=tuple(int(i) for i in row.accepted or ()),
                    state=ProposalState(row.state), id=row.id)


class SqlProposalRepository(SqlRepository):
    async def add(self, proposal: Proposal) -> Proposal:
        proposal.id = await self._insert(proposals_t, _values(proposal), "proposal")
        return proposal

    async def get(self, proposal_id: int) -> Proposal | None:
        row = (await self.conn.execute(
            select(proposals_t).where(proposals_t.c.id == proposal_id))).first()
        return _proposal(row) if row else None

    async def update(self, proposal: Proposal) -> None:
        await self.conn.execute(update(proposals_t).where(proposals_t.c.id == proposal.id)
                                .values(_values(proposal)))

    async def open_for_match(self, match_id: int) -> list[Proposal]:
        rows = await self.conn.execute(select(proposals_t).where(
            proposals_t.c.match_id == match_id,
            proposals_t.c.state == ProposalState.OPEN.value).order_by(proposals_t.c.id))
        return [_proposal(r) for r in rows]
