"""A supporter's seats: they stay in the queue until every seat is taken by an accepted
(active) support match, then leave it; a round's store and an accepted offer both ask here."""

from __future__ import annotations

from collections.abc import Iterable

from core.model import Profile
from core.ports import UnitOfWork


async def close_full_supporters(uow: UnitOfWork, supporters: Iterable[int],
                                profiles: dict[int, Profile]) -> None:
    """The supporters whose active support matches fill their capacity leave the queue
    (one set-based count of seats, one claim)."""
    wanted = sorted(set(supporters))
    if not wanted:
        return
    busy = await uow.matches.support_seats(wanted)
    full = [lid for lid in wanted
            if (prof := profiles.get(lid)) is not None and busy.get(lid, 0) >= prof.capacity]
    await uow.queue.claim_waiting(full)
