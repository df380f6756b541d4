"""The outbox dispatcher: delivers due messages with retries, backoff and idempotency.

Each tick claims due rows in one short transaction (a lease: ``due_at`` moves to the
future, so other dispatchers skip them; on PostgreSQL the claim also uses
``FOR UPDATE SKIP LOCKED``), delivers them outside any transaction, and records each
result in its own transaction. A crash between claim and record lets the lease expire and
the row is tried again; deliverers make that safe with the idempotency key.

A message with an ``expires_at`` that has passed is no longer
useful (a reminder after its session started, after downtime): it is dropped and logged,
never sent late.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from core import keys
from core.messages import CloseSpace, DirectMessage, Message, OpenSpace, SpaceMessage
from core.model import OutboxMessage, OutboxState
from core.ports import Clock, Deliverer, DeliveryError, UnitOfWork, UnitOfWorkFactory
from core.replies import mention
from core.settings import DispatchSettings

log = logging.getLogger(__name__)


SPACE_WAIT_SECONDS = 5.0
NO_ADAPTER_WAIT_SECONDS = 60.0


class Readiness(Enum):
    """Whether a message can be handed to a deliverer now (its value says why not)."""

    READY = ""
    SPACE_PENDING = "space not created yet"  # wait: not a failed attempt
    MATCH_GONE = "the match no longer exists"  # never deliverable
    NO_SPACE = "the match has no private space (it could not be created)"  # never either


@dataclass
class TickResult:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    dm_closed: int = 0
    expired: int = 0


async def drain(uow_factory: UnitOfWorkFactory, clock: Clock, deliverers: Mapping[str, Deliverer],
                settings: DispatchSettings | None = None, max_batches: int = 100, *,
                stopping: Callable[[], bool] = lambda: False) -> TickResult:
    """Deliver everything due now: batch after batch while full batches come back (a
    backlog) or a batch sent something (a delivery may queue a follow-up that is due at
    once, e.g. the space mention for closed DMs). Bounded, so it always returns."""
    batch = (settings or DispatchSettings()).batch_size
    total = TickResult()
    for _ in range(max_batches):
        if stopping():
            break
        r = await dispatch_due(uow_factory, clock, deliverers, settings, stopping=stopping)
        for name in ("sent", "retried", "failed", "dm_closed", "expired"):
            setattr(total, name, getattr(total, name) + getattr(r, name))
        processed = r.sent + r.retried + r.failed + r.dm_closed + r.expired
        if processed < batch and not (r.sent or r.dm_closed):
            break
    return total


def backoff(attempts: int, settings: DispatchSettings, retry_after: float | None) -> float:
    """Seconds to wait before the next attempt: the platform's Retry-After when given,
    else exponential from the base, capped."""
    if retry_after is not None and retry_after >= 0:
        return retry_after
    return float(min(settings.max_backoff_seconds,
                     settings.base_backoff_seconds * 2 ** (attempts - 1)))


async def dispatch_due(uow_factory: UnitOfWorkFactory, clock: Clock,
                       deliverers: Mapping[str, Deliverer],
                       settings: DispatchSettings | None = None, *,
                       stopping: Callable[[], bool] = lambda: False) -> TickResult:
    """Deliver what is due now. Returns counts; never raises for a delivery failure.

    ``stopping``: asked before each row; once it says yes (the process is shutting down),
    the rows not started yet are released at once, so a restart need not wait out a lease.
    """
    cfg = settings or DispatchSettings()
    now = clock.now()
    async with uow_factory() as uow:
        claimed = await uow.outbox.claim_due(now, cfg.batch_size,
                                             now + timedelta(seconds=cfg.lease_seconds))
        platforms: dict[int, str] = {}
        # Deliverers learn the guild/workspace here rather than reading the store.
        externals: dict[int, str] = {}
        for msg in claimed:
            if msg.community_id not in platforms:
                community = await uow.communities.get(msg.community_id)
                platforms[msg.community_id] = community.platform if community else ""
                externals[msg.community_id] = community.external_id if community else ""
        await uow.commit()
    result = TickResult()
    for done, msg in enumerate(claimed):
        if stopping():
            await _release(uow_factory, claimed[done:], clock.now())
            break
        await _deliver_one(uow_factory, clock, deliverers.get(platforms[msg.community_id]),
                           msg, externals[msg.community_id], cfg, result)
    return result


async def _release(uow_factory: UnitOfWorkFactory, rows: list[OutboxMessage],
                   now: datetime) -> None:
    """Give claimed rows back, due now: nothing was attempted, so nothing is counted."""
    async with uow_factory() as uow:
        for msg in rows:
            msg.due_at = now
            await uow.outbox.update(msg)
        await uow.commit()
    log.info("released %d claimed outbox row(s) unsent: stopping", len(rows))


async def _prepare(uow_factory: UnitOfWorkFactory, msg: OutboxMessage) -> Readiness:
    """Fill in the space a space message goes to (it is made after the message is written)."""
    match msg.message:
        case SpaceMessage(match_id=match_id) | CloseSpace(match_id=match_id):
            pass
        case _:
            return Readiness.READY
    async with uow_factory() as uow:
        match = await uow.matches.get(match_id)
        opening = match is not None and not match.space_id and any(
            m.idempotency_key == keys.space_open(match.id)
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


async def _drop_expired(uow_factory: UnitOfWorkFactory, msg: OutboxMessage,
                        result: TickResult) -> None:
    async with uow_factory() as uow:
        msg.state, msg.last_error = OutboxState.DROPPED, "expired: no longer useful"
        await uow.outbox.update(msg)
        await uow.commit()
    result.expired += 1
    log.info("outbox row %s (%s) expired at %s before it could be sent: dropped",
             msg.id, msg.idempotency_key, getattr(msg.message, "expires_at", None))


async def _attempt(uow_factory: UnitOfWorkFactory, deliverer: Deliverer | None,
                   msg: OutboxMessage, community_external_id: str,
                   ) -> tuple[dict[str, Any], DeliveryError | None, float | None]:
    """Try to deliver ``msg``: (facts the platform answered, the problem if any, how long to
    wait before trying again when it is waiting for something else rather than failing)."""
    ready = await _prepare(uow_factory, msg)
    # Waiting for something else (the space, the platform adapter) is not a failed attempt:
    # the row stays pending however long that takes, so nothing is lost.
    if ready in (Readiness.MATCH_GONE, Readiness.NO_SPACE):
        return {}, DeliveryError(ready.value, permanent=True), None
    if ready is Readiness.SPACE_PENDING:
        return {}, DeliveryError(ready.value), SPACE_WAIT_SECONDS
    if deliverer is None:
        no_adapter = DeliveryError("no adapter for this platform is running")
        return {}, no_adapter, NO_ADAPTER_WAIT_SECONDS
    try:
        return await deliverer.deliver(msg, community_external_id), None, None
    except DeliveryError as exc:
        return {}, exc, None
    except Exception as exc:  # a bug or an unexpected platform answer: retry, keep the row
        log.exception("delivery of outbox row %s failed", msg.id)
        return {}, DeliveryError(f"{type(exc).__name__}: {exc}"), None


async def _record(uow: UnitOfWork, msg: OutboxMessage, facts: dict[str, Any],
                  problem: DeliveryError | None, now: datetime, cfg: DispatchSettings,
                  result: TickResult) -> None:
    """Write the outcome of one attempt: sent, failed (with the DM fallback when DMs are
    closed) or pending again after a backoff. A rate limit (the platform said when to come
    back) is not a failed attempt: a 429 storm delays a message, it never makes it fail."""
    rate_limited = (problem is not None and problem.retry_after is not None
                    and not problem.permanent)
    if not rate_limited:
        msg.attempts += 1
    if problem is None:
        msg.state, msg.sent_at, msg.last_error = OutboxState.SENT, now, ""
        result.sent += 1
        if isinstance(msg.message, OpenSpace) and facts.get("space_id"):
            match = await uow.matches.get(msg.message.match_id)
            if match is not None:
                match.space_id = str(facts["space_id"])
                await uow.matches.update(match)
    elif problem.dm_closed:
        msg.state, msg.last_error = OutboxState.FAILED, "dm_closed"
        result.dm_closed += 1
        fallback = fallback_for(msg.message)
        if fallback is not None:
            await uow.outbox.add(OutboxMessage(fallback, msg.community_id, now))
    elif problem.permanent or msg.attempts >= cfg.max_attempts:
        msg.state, msg.last_error = OutboxState.FAILED, str(problem)[:500]
        result.failed += 1
        log.warning("outbox row %s (%s) failed for good: %s", msg.id, msg.kind, problem)
    else:
        msg.state, msg.last_error = OutboxState.PENDING, str(problem)[:500]
        msg.due_at = now + timedelta(seconds=backoff(msg.attempts, cfg, problem.retry_after))
        result.retried += 1


async def _deliver_one(uow_factory: UnitOfWorkFactory, clock: Clock, deliverer: Deliverer | None,
                       msg: OutboxMessage, community_external_id: str, cfg: DispatchSettings,
                       result: TickResult) -> None:
    if expired(msg, clock.now()):
        await _drop_expired(uow_factory, msg, result)
        return
    facts, problem, pause = await _attempt(uow_factory, deliverer, msg, community_external_id)
    now = clock.now()
    async with uow_factory() as uow:
        if pause is not None:  # not an attempt: no count, just later
            msg.state, msg.last_error = OutboxState.PENDING, str(problem)
            msg.due_at = now + timedelta(seconds=pause)
            result.retried += 1
        else:
            await _record(uow, msg, facts, problem, now, cfg, result)
        await uow.outbox.update(msg)
        await uow.commit()


def fallback_for(message: Message) -> SpaceMessage | None:
    """What replaces a DM the person cannot receive (DMs closed): a mention in their match
    space with the same text, buttons and files. None when there is no space to use (not a
    DM, or an anonymous match, which has no space)."""
    match message:
        case DirectMessage(match_id=int() as match_id):
            return SpaceMessage(
                match_id, f"{mention(message.user_id)} I couldn't DM you (your DMs are closed):"
                f"\n\n{message.text}", keys.dm_fallback(message.key), message.buttons,
                message.attachments)
        case _:
            return None
