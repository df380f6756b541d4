"""A supporter's seats: they stay in the queue until every seat is taken by an accepted
(active) support match, then leave it; a round's store and an accepted offer both ask here."""

from __future__ import annotations

from collections.abc import Iterable

from core.model import Profile
from core.ports import UnitOfWork


async def close_full_supporters(uow: UnitOfWork, supporters: Iterable[int],
                                profiles: dict[int, Profile]) -> None:
    """The supporters whose active support matches fill their capacity leave the queue."""
    full = []
    for supporter in sorted(set(supporters)):
        prof = profiles.get(supporter)
        busy = len([m for m in await uow.matches.active_for(supporter) if m.is_support])
        if prof is not None and busy >= prof.capacity:
            full.append(supporter)
    await uow.queue.claim_waiting(full)
