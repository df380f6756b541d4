"""One call of a deliverer, bounded in time, with its step journal; every way it can end
becomes an ``Attempt`` whose problem says which kind of fault it was (faults by kind):
an answer, the platform's own ``DeliveryError`` (clear, unclear, rate-limited, permanent),
no answer in time (unclear), or an unexpected exception (unclear: it may have been sent)."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from core.model import OutboxMessage
from core.ports import Deliverer, DeliveryError, StepJournal, UnitOfWorkFactory
from core.services.delivery_record import Attempt
from core.settings import DispatchSettings

log = logging.getLogger("core.services.delivery")


class ClaimLost(Exception):
    """Raised into a deliverer by the step journal when this row's claim was taken over
    (its lease ran out and another process holds it now): stop, the other one goes on."""


def journal_for(uow_factory: UnitOfWorkFactory, msg: OutboxMessage, token: str) -> StepJournal:
    """The step journal handed to the deliverer: each finished step is stored at once, in
    its own transaction, under the claim (a lost claim stops the delivery: ClaimLost)."""
    async def journal(step: str, answer: str) -> None:
        assert msg.id is not None
        msg.progress = {**msg.progress, step: answer}
        async with uow_factory() as uow:
            won = await uow.outbox.save_progress(msg.id, token, msg.progress)
            await uow.commit()
        if not won:
            raise ClaimLost(f"outbox row {msg.id}: claim lost")

    return journal


def call_timeout(cfg: DispatchSettings) -> float:
    """How long one delivery call may take: the setting, but well inside the lease the
    attempt renewed, so no other process can claim a row while its call still runs."""
    return min(cfg.call_timeout_seconds, cfg.lease_seconds / 2)


async def call(deliverer: Deliverer, msg: OutboxMessage, community_external_id: str,
               journal: StepJournal, cfg: DispatchSettings, started: datetime) -> Attempt:
    """Hand the message to its deliverer; ClaimLost and cancellation go through."""
    timeout = call_timeout(cfg)
    try:
        facts = await asyncio.wait_for(
            deliverer.deliver(msg, community_external_id, journal=journal), timeout)
        return Attempt(started, facts=dict(facts or {}))
    except (ClaimLost, asyncio.CancelledError):
        raise
    except DeliveryError as exc:
        return Attempt(started, problem=exc)
    except TimeoutError:
        # It may have reached the platform: unclear, so the next attempt asks first.
        return Attempt(started, problem=DeliveryError(
            f"no answer within {timeout:.0f} s", unclear=True))
    except Exception as exc:  # a bug or an unexpected answer: it may have been sent
        log.exception("delivery of outbox row %s failed unexpectedly", msg.id)
        return Attempt(started, problem=DeliveryError(f"{type(exc).__name__}: {exc}",
                                                      unclear=True))
