"""The outbox dispatcher: delivers due messages exactly once, with retries and pacing.

Each pass first expands due match announcements (core/services/announce.py: a new match is
stored as one row; up to ``announce.BATCH`` of them become their DMs, space, check-ins and
nudges in one transaction), so the rows they add, due now, are claimed by the same pass.
Then it claims due rows in one short transaction: a lease (``due_at`` moves to the
future; on PostgreSQL ``FOR UPDATE SKIP LOCKED`` too), a new random claim token, and this
instance's id (``claimed_by``). Then, per row, outside any long transaction:

1. the attempt is journaled first, in its own transaction (``attempt_started_at``), which
   also renews the row's lease, so a batch that outlives its lease never lets another
   process take a row this one is about to send; a lost claim means the row is skipped;
2. the deliverer gets a ``journal`` that stores each finished step (``progress``) at once;
3. the outcome is recorded (core/services/delivery_record.py). Every write after the claim
   holds only while the claim token does: a lost claim is logged and never overwrites.

A crash (or a database error while recording) leaves the journal mark: whoever claims the
row next, after the lease or at once when this instance restarts (``reclaim_own``), hands
the deliverer a message that is ``unclear``, and the deliverer asks the platform before
sending again. Rows travel in lanes, one per target (core/services/pacing.py): different
targets side by side (``concurrency``), one target in order, a 429 pausing only its target.
Each call is bounded by ``call_timeout_seconds``: a hung platform cannot stall the outbox.

A message with an ``expires_at`` that has passed is no longer useful (a reminder after its
session started, after downtime): it is dropped and logged, never sent late.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

from core.model import OutboxMessage, OutboxState
from core.ports import Clock, Deliverer, DeliveryError, UnitOfWork, UnitOfWorkFactory
from core.services import announce
from core.services.delivery_call import ClaimLost, call, journal_for
from core.services.delivery_ready import Readiness, expired, prepare
from core.services.delivery_record import (
    Attempt,
    TickResult,
    backoff,
    fallback_for,
    park,
    record,
)
from core.services.pacing import run_lanes
from core.settings import CommunitySettings, DispatchSettings

__all__ = ["TickResult", "backoff", "dispatch_due", "drain", "expired", "fallback_for",
           "reclaim_own"]

log = logging.getLogger(__name__)
T = TypeVar("T")

SPACE_WAIT_SECONDS = 5.0
NO_ADAPTER_WAIT_SECONDS = 60.0


@dataclass
class _Pass:
    """One dispatcher pass: what it needs and what it has done."""

    uow_factory: UnitOfWorkFactory
    clock: Clock
    deliverers: Mapping[str, Deliverer]
    cfg: DispatchSettings
    defaults: CommunitySettings
    result: TickResult = field(default_factory=TickResult)
    platforms: dict[int, str] = field(default_factory=dict)
    externals: dict[int, str] = field(default_factory=dict)
    settings: dict[int, CommunitySettings] = field(default_factory=dict)

    async def write(self, what: str, msg: OutboxMessage,
                    fn: Callable[[UnitOfWork], Awaitable[T]]) -> T | None:
        """Run ``fn`` in its own short transaction and commit. A database error is logged
        and swallowed (None): the row keeps its claim and journal mark, so it is
        reconciled on its next attempt, never blindly re-sent; the pass goes on."""
        try:
            async with self.uow_factory() as uow:
                out = await fn(uow)
                await uow.commit()
                return out
        except Exception:
            log.exception("outbox row %s (%s): %s failed in the database; the row keeps its "
                          "claim and is reconciled when next tried", msg.id,
                          msg.idempotency_key, what)
            return None

    def lost(self, msg: OutboxMessage, doing: str) -> None:
        self.result.lost += 1
        log.warning("outbox row %s (%s): claim lost before %s (another process holds it "
                    "now); nothing written", msg.id, msg.idempotency_key, doing)


async def drain(uow_factory: UnitOfWorkFactory, clock: Clock, deliverers: Mapping[str, Deliverer],
                settings: DispatchSettings | None = None, max_batches: int = 100, *,
                stopping: Callable[[], bool] = lambda: False, instance: str = "",
                defaults: CommunitySettings | None = None) -> TickResult:
    """Deliver everything due now: batch after batch while full batches come back (a
    backlog) or a batch sent something (a delivery may queue a follow-up that is due at
    once, e.g. the space mention for closed DMs, or announced a match: its rows are due).
    Bounded, so it always returns."""
    batch = (settings or DispatchSettings()).batch_size
    total = TickResult()
    for _ in range(max_batches):
        if stopping():
            break
        r = await dispatch_due(uow_factory, clock, deliverers, settings, stopping=stopping,
                               instance=instance, defaults=defaults)
        total.add(r)
        if r.processed + r.lost < batch and not (r.sent or r.dm_closed or r.announced):
            break
    return total


async def reclaim_own(uow_factory: UnitOfWorkFactory, clock: Clock, instance: str) -> int:
    """At start-up: take back the rows this instance had claimed when it died, due now (no
    lease to wait out). Their journal mark stays, so each is reconciled, not re-sent."""
    async with uow_factory() as uow:
        taken = await uow.outbox.reclaim(instance, clock.now())
        await uow.commit()
    if taken:
        log.info("took back %d outbox row(s) this instance (%s) had claimed before it "
                 "stopped", taken, instance)
    return taken


async def dispatch_due(uow_factory: UnitOfWorkFactory, clock: Clock,
                       deliverers: Mapping[str, Deliverer],
                       settings: DispatchSettings | None = None, *,
                       stopping: Callable[[], bool] = lambda: False, instance: str = "",
                       defaults: CommunitySettings | None = None) -> TickResult:
    """Deliver what is due now (one claimed batch). Returns counts; never raises for a
    delivery failure, nor for a database error after the claim.

    ``stopping``: asked before each row; once it says yes (the process is shutting down),
    the rows not started yet are released at once, so a restart need not wait out a lease.
    ``instance`` names this process in its claims; ``defaults`` are the community settings
    before overrides (who the moderators are, for reports of permanent failures).
    """
    run = _Pass(uow_factory, clock, deliverers, settings or DispatchSettings(),
                defaults or CommunitySettings())
    if not stopping():
        await _announce(run)
    now = clock.now()
    async with uow_factory() as uow:
        claimed = await uow.outbox.claim_due(
            now, run.cfg.batch_size, now + timedelta(seconds=run.cfg.lease_seconds), instance)
        # Deliverers learn the guild/workspace here rather than reading the store.
        for cid in {m.community_id for m in claimed}:
            community = await uow.communities.get(cid)
            run.platforms[cid] = community.platform if community else ""
            run.externals[cid] = community.external_id if community else ""
            run.settings[cid] = run.defaults.with_overrides(
                community.settings if community else {}, skip_invalid=True)
        await uow.commit()

    async def deliver(msg: OutboxMessage) -> datetime | None:
        return await _deliver_one(run, msg)

    async def park_rows(rows: Sequence[OutboxMessage], until: datetime | None) -> None:
        await _park_rows(run, rows, until)

    await run_lanes(claimed, run.cfg.concurrency, deliver, park_rows, stopping)
    return run.result


async def _announce(run: _Pass) -> None:
    """Expand one batch of due match announcements. A database error is logged: nothing of
    the batch was kept, its announcements stay pending for the next pass, and this pass
    goes on delivering what is already there."""
    try:
        run.result.announced = await announce.expand_due(run.uow_factory, run.clock,
                                                         run.defaults)
    except Exception:
        log.exception("expanding match announcements failed; they stay pending and are "
                      "expanded whole by a later pass")


async def _park_rows(run: _Pass, rows: Sequence[OutboxMessage], until: datetime | None) -> None:
    """Give claimed rows back unattempted, in one transaction: due ``until`` (their target
    is rate-limited) or due now (the process is stopping). Nothing was attempted, so
    nothing is counted; a row whose claim was lost meanwhile is left to its new holder."""
    if not rows:
        return
    when = until or run.clock.now()

    async def give_back(uow: UnitOfWork) -> int:
        return sum([await park(uow, m.claim_token, m, when) for m in rows])

    given = await run.write(f"handing {len(rows)} row(s) back", rows[0], give_back)
    if until is None and given is not None:
        log.info("released %d claimed outbox row(s) unsent: stopping", given)


async def _deliver_one(run: _Pass, msg: OutboxMessage) -> datetime | None:
    """One row, start to end; returns when its target may be tried again after a 429."""
    try:
        return await _deliver_claimed(run, msg)
    except Exception:  # a bug or the database before the attempt: the lease runs out
        log.exception("outbox row %s (%s) could not be handled; it is tried again after its "
                      "lease", msg.id, msg.idempotency_key)
        return None


async def _deliver_claimed(run: _Pass, msg: OutboxMessage) -> datetime | None:
    token, now = msg.claim_token, run.clock.now()
    if expired(msg, now):
        await _drop_expired(run, msg, token)
        return None
    ready = await prepare(run.uow_factory, msg)
    deliverer = run.deliverers.get(run.platforms.get(msg.community_id, ""))
    if ready in (Readiness.MATCH_GONE, Readiness.NO_SPACE):  # never deliverable
        refused = Attempt(now, problem=DeliveryError(ready.value, permanent=True),
                          earlier_mark=msg.attempt_started_at, asked_platform=False)
        return await _record(run, msg, token, refused)
    if ready is Readiness.SPACE_PENDING or deliverer is None:
        # Waiting for something else (the space, the platform adapter) is not a failed
        # attempt: the row stays pending however long that takes, so nothing is lost.
        wait, why = ((SPACE_WAIT_SECONDS, ready.value) if deliverer is not None
                     else (NO_ADAPTER_WAIT_SECONDS, "no adapter for this platform is running"))

        async def later(uow: UnitOfWork) -> bool:
            return await park(uow, token, msg, now + timedelta(seconds=wait), why)

        if await run.write("postponing", msg, later) is not None:
            run.result.retried += 1
        return None
    started = run.clock.now()
    earlier = msg.attempt_started_at  # the deliverer sees it: ``msg.unclear``
    lease = started + timedelta(seconds=run.cfg.lease_seconds)

    async def begin(uow: UnitOfWork) -> bool:
        assert msg.id is not None
        return await uow.outbox.begin_attempt(msg.id, token, started, lease)

    began = await run.write("journaling the attempt", msg, begin)
    if not began:
        if began is False:
            run.lost(msg, "its attempt")
        return None
    try:
        attempt = await call(deliverer, msg, run.externals.get(msg.community_id, ""),
                             journal_for(run.uow_factory, msg, token), run.cfg, started)
    except ClaimLost:
        run.lost(msg, "its next step")
        return None
    attempt.earlier_mark = earlier
    return await _record(run, msg, token, attempt)


async def _record(run: _Pass, msg: OutboxMessage, token: str,
                  attempt: Attempt) -> datetime | None:
    now = run.clock.now()
    settings = run.settings.get(msg.community_id, run.defaults)
    outcome = TickResult()

    async def write(uow: UnitOfWork) -> tuple[bool, datetime | None]:
        return await record(uow, token, msg, attempt, now, run.cfg, settings, outcome)

    done = await run.write("recording the outcome", msg, write)
    if done is None:
        return None
    won, paced = done
    if not won:
        run.lost(msg, "recording its outcome")
        return None
    run.result.add(outcome)
    return paced


async def _drop_expired(run: _Pass, msg: OutboxMessage, token: str) -> None:
    async def drop(uow: UnitOfWork) -> bool:
        msg.state, msg.last_error = OutboxState.DROPPED, "expired: no longer useful"
        msg.claim_token = msg.claimed_by = ""
        return await uow.outbox.record(msg, token)

    won = await run.write("dropping", msg, drop)
    if won:
        run.result.expired += 1
        log.info("outbox row %s (%s) expired at %s before it could be sent: dropped",
                 msg.id, msg.idempotency_key, getattr(msg.message, "expires_at", None))
    elif won is False:
        run.lost(msg, "dropping it")

