"""What an attempt's outcome does to its outbox row, written only while the claim holds.

Faults by kind: success -> sent; DMs closed -> failed, with the space fallback queued; a
rate limit (Retry-After) -> pending again at that time, no attempt counted, the target
paced; a permanent failure -> failed, and the community's moderators are told once per kind
of problem (core/services/delivery_report.py); anything else -> pending after a backoff,
failed after ``max_attempts``. An *unclear* outcome (timeout, 5xx, dropped connection, an
unexpected exception) keeps the journal mark (``attempt_started_at``), so the next attempt
asks the platform before sending again; only a known outcome clears it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from core import keys
from core.messages import DirectMessage, OpenSpace, SpaceMessage, Stored
from core.model import OutboxMessage, OutboxState
from core.ports import DeliveryError, UnitOfWork
from core.replies import mention
from core.services.delivery_report import report_permanent
from core.services.pacing import kinds_of, lane_of
from core.settings import CommunitySettings, DispatchSettings

log = logging.getLogger("core.services.delivery")


@dataclass
class TickResult:
    """What one dispatcher pass did (``lost``: rows whose claim another process took)."""

    sent: int = 0
    retried: int = 0
    failed: int = 0
    dm_closed: int = 0
    expired: int = 0
    lost: int = 0
    unclear: int = 0  # outcomes not known: kept pending with the journal mark
    announced: int = 0  # new matches expanded into their rows (core/services/announce.py)

    def add(self, other: TickResult) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def processed(self) -> int:
        return self.sent + self.retried + self.failed + self.dm_closed + self.expired


@dataclass
class Attempt:
    """One attempt as the dispatcher saw it: when it started, what the platform answered
    (``facts``) or the problem, and the row's journal mark before it (kept unless known)."""

    started: datetime
    facts: dict[str, Any] = field(default_factory=dict)
    problem: DeliveryError | None = None
    earlier_mark: datetime | None = None
    asked_platform: bool = True  # False: refused before any call (no match, no space)


def backoff(attempts: int, settings: DispatchSettings, retry_after: float | None) -> float:
    """Seconds to wait before the next attempt: the platform's Retry-After when given,
    else exponential from the base, capped."""
    if retry_after is not None and retry_after >= 0:
        return retry_after
    return float(min(settings.max_backoff_seconds,
                     settings.base_backoff_seconds * 2 ** (attempts - 1)))


def release(msg: OutboxMessage) -> None:
    """The row's claim ends with this write (the next claim makes a new token)."""
    msg.claim_token = msg.claimed_by = ""


async def record(uow: UnitOfWork, token: str, msg: OutboxMessage, attempt: Attempt,
                 now: datetime, cfg: DispatchSettings, community: CommunitySettings,
                 result: TickResult) -> tuple[bool, datetime | None]:
    """Write the outcome of one attempt (in ``uow``, not committed) and its consequences.
    Returns (whether the claim still held, so anything was written; when the row's target
    may be tried again if the platform rate-limited it)."""
    problem = attempt.problem
    rate_limited = problem is not None and problem.retry_after is not None and (
        not problem.permanent)
    if not rate_limited:
        msg.attempts += 1
    unclear = problem is not None and problem.unclear
    # Only a known outcome clears the mark: a clear failure now says nothing about an
    # earlier attempt whose outcome was never learnt.
    msg.attempt_started_at = (None if problem is None
                              else attempt.started if unclear and not attempt.earlier_mark
                              else attempt.earlier_mark)
    release(msg)
    paced: datetime | None = None
    if problem is None:
        msg.state, msg.sent_at, msg.last_error = OutboxState.SENT, now, ""
    elif problem.dm_closed:
        msg.state, msg.last_error = OutboxState.FAILED, "dm_closed"
    elif problem.permanent or (msg.attempts >= cfg.max_attempts and not rate_limited):
        msg.state, msg.last_error = OutboxState.FAILED, str(problem)[:500]
    else:
        msg.state, msg.last_error = OutboxState.PENDING, str(problem)[:500]
        msg.due_at = now + timedelta(seconds=backoff(msg.attempts, cfg, problem.retry_after))
        paced = msg.due_at if rate_limited else None
    if not await uow.outbox.record(msg, token):
        return False, None
    await _consequences(uow, msg, attempt, now, community, result)
    if paced is not None:
        lane = lane_of(msg)
        await uow.outbox.defer_target(msg.community_id, kinds_of(lane), msg.target, paced)
    return True, paced


async def _consequences(uow: UnitOfWork, msg: OutboxMessage, attempt: Attempt,
                        now: datetime, community: CommunitySettings, result: TickResult) -> None:
    """What follows from a recorded outcome, in the same transaction: the space id
    learnt, the DM fallback queued, moderators told; and the counts."""
    problem = attempt.problem
    if problem is None:
        result.sent += 1
        if isinstance(msg.message, OpenSpace) and attempt.facts.get("space_id"):
            match = await uow.matches.get(msg.message.match_id)
            if match is not None:
                match.space_id = str(attempt.facts["space_id"])
                await uow.matches.update(match)
    elif problem.dm_closed:
        result.dm_closed += 1
        fallback = fallback_for(msg.message)
        if fallback is not None:
            await uow.outbox.add(OutboxMessage(fallback, msg.community_id, now))
    elif msg.state is OutboxState.FAILED:
        result.failed += 1
        log.warning("outbox row %s (%s) failed for good: %s", msg.id, msg.kind, problem)
        if problem.permanent and attempt.asked_platform:
            await report_permanent(uow, msg, problem, now, community)
    else:
        result.retried += 1
        result.unclear += problem.unclear


async def park(uow: UnitOfWork, token: str, msg: OutboxMessage, until: datetime,
               reason: str = "") -> bool:
    """Hand a claimed row back unattempted, due ``until`` (no attempt counted, journal
    untouched). False when the claim was already lost."""
    msg.due_at = until
    if reason:
        msg.last_error = reason
    release(msg)
    return await uow.outbox.record(msg, token)


def fallback_for(message: Stored) -> SpaceMessage | None:
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

