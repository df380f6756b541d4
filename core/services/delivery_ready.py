"""Whether an outbox row can go to its deliverer now: a space message needs its space (made
after the message was written), and a message past its ``expires_at`` is no longer useful."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from enum import Enum

from core import keys
from core.messages import CloseSpace, DirectMessage, SpaceMessage
from core.model import OutboxMessage
from core.ports import UnitOfWorkFactory


class Readiness(Enum):
    """Whether a message can be handed to a deliverer now (its value says why not)."""

    READY = ""
    SPACE_PENDING = "space not created yet"  # wait: not a failed attempt
    MATCH_GONE = "the match no longer exists"  # never deliverable
    NO_SPACE = "the match has no private space (it could not be created)"  # never either


async def prepare(uow_factory: UnitOfWorkFactory, msg: OutboxMessage) -> Readiness:
    """Fill in the space a space message goes to (it is made after the message is written)."""
    match msg.message:
        case SpaceMessage(match_id=match_id) | CloseSpace(match_id=match_id):
            pass
        case _:
            return Readiness.READY
    async with uow_factory() as uow:
        match = await uow.matches.get(match_id)
        opening = match is not None and not match.space_id and any(
            # the space's own row, or the announcement that will write it
            m.idempotency_key in (keys.space_open(match.id), keys.match_made(match.id))
            for m in await uow.outbox.pending(msg.community_id))
    if match is None:
        return Readiness.MATCH_GONE
    if not match.space_id:
        # Still being created: wait for it. Never created (it failed for good): give up.
        return Readiness.SPACE_PENDING if opening else Readiness.NO_SPACE
    msg.message = replace(msg.message, space_id=match.space_id)
    return Readiness.READY


def expired(msg: OutboxMessage, now: datetime) -> bool:
    """Whether the message's ``expires_at`` has passed (only DMs carry one)."""
    match msg.message:
        case DirectMessage(expires_at=datetime() as until):
            return until <= now
        case _:
            return False
