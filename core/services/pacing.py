"""Deliveries by lane: one lane per target (a person's DMs, a match's space), lanes side by
side, each lane in order.

A lane is what a platform rate-limits together (Discord and Slack pace per channel), so a
429 pauses its lane only: the rest of that lane's batch is handed back due when the
platform said to come back, and so are that target's other pending rows (in the store, so
every process sees it). The dispatcher never sleeps on a Retry-After; other targets carry on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

from core.model import OutboxMessage

LaneKey = tuple[int, str, str]  # community, family of kinds, target

# Kinds that go to the same place: a DM goes to a person; opening, posting in and closing a
# space all go to the match's space (and must happen in that order).
FAMILIES: dict[str, tuple[str, ...]] = {
    "dm": ("dm",), "space": ("space_open", "space_message", "space_close")}
_FAMILY_OF = {kind: family for family, kinds in FAMILIES.items() for kind in kinds}

# What one row's delivery answers: None to go on with the lane, or the instant the lane's
# target may be tried again (the platform said 429: Retry-After).
Deliver = Callable[[OutboxMessage], Awaitable[datetime | None]]
# Hand rows back unattempted, due at the instant given (None: due now).
Park = Callable[[Sequence[OutboxMessage], datetime | None], Awaitable[None]]


def lane_of(msg: OutboxMessage) -> LaneKey:
    """The lane a row travels in (its target, within its community and kind family)."""
    return msg.community_id, _FAMILY_OF.get(msg.kind, msg.kind), msg.target


def kinds_of(lane: LaneKey) -> tuple[str, ...]:
    """The kinds sharing a lane's target (for pacing the stored rows too)."""
    return FAMILIES.get(lane[1], (lane[1],))


def lanes(rows: Sequence[OutboxMessage]) -> list[list[OutboxMessage]]:
    """The rows grouped by lane, each lane in the rows' order, lanes by first row."""
    grouped: dict[LaneKey, list[OutboxMessage]] = {}
    for msg in rows:
        grouped.setdefault(lane_of(msg), []).append(msg)
    return list(grouped.values())


async def run_lanes(rows: Sequence[OutboxMessage], concurrency: int, deliver: Deliver,
                    park: Park, stopping: Callable[[], bool]) -> None:
    """Deliver ``rows``: at most ``concurrency`` calls at once, never two of one lane.

    A lane told to wait (429) parks its remaining rows until then; once ``stopping`` says
    yes, no row starts any more and the rest are parked due now (nothing was attempted, so
    a restart sends them at once)."""
    gate = asyncio.Semaphore(max(1, concurrency))

    async def one_lane(lane: list[OutboxMessage]) -> None:
        for n, msg in enumerate(lane):
            async with gate:
                if stopping():
                    await park(lane[n:], None)
                    return
                wait_until = await deliver(msg)
            if wait_until is not None:
                if lane[n + 1:]:
                    await park(lane[n + 1:], wait_until)
                return

    await asyncio.gather(*(one_lane(lane) for lane in lanes(rows)))
