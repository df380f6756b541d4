"""Permanent delivery failures told to the community's moderators, once per kind of problem.

A missing permission, a channel that is gone or a revoked token will not heal by retrying:
someone has to fix it. The moderators get one DM per kind of problem (through the outbox,
keyed by ``keys.delivery_problem``: a thousand failed DMs make one report), saying what
failed, why, and how to send it again once fixed (``/peeradmin deliveries``).
"""

from __future__ import annotations

import logging
import re
from datetime import datetime

from core import keys
from core.messages import CloseSpace, DirectMessage, OpenSpace, SpaceMessage
from core.model import OutboxMessage
from core.ports import DeliveryError, UnitOfWork
from core.replies import mention
from core.settings import CommunitySettings

log = logging.getLogger("core.services.delivery")

_SLUG_LENGTH = 40


def problem_kind(problem: DeliveryError) -> str:
    """The kind of a permanent problem: the adapter's name for it, else a slug of its
    text without numbers (ids and codes vary, the problem does not)."""
    if problem.problem:
        return problem.problem[:_SLUG_LENGTH]
    words = re.sub(r"[^a-z]+", "-", str(problem).lower()).strip("-")
    return words[:_SLUG_LENGTH].rstrip("-") or "unknown"


def describe(message: object) -> str:
    """What a row was meant to do, in a moderator's words."""
    match message:
        case DirectMessage(user_id=user):
            return f"a DM to {mention(user)}"
        case OpenSpace(match_id=mid):
            return f"the private space of match {mid}"
        case SpaceMessage(match_id=mid):
            return f"a message in the space of match {mid}"
        case CloseSpace(match_id=mid, action=action):
            return f"closing ({action}) the space of match {mid}"
        case _:
            return "a message"


async def moderators(uow: UnitOfWork, community_id: int,
                     settings: CommunitySettings) -> list[str]:
    """Who to tell: the configured moderator users, then whoever ran a moderator command
    here (the audit log names them), in that order, each once."""
    audited = [e.actor for e in await uow.audit.list(community_id)]
    return list(dict.fromkeys([*settings.moderator_users, *reversed(audited)]))


async def report_permanent(uow: UnitOfWork, msg: OutboxMessage, problem: DeliveryError,
                           now: datetime, settings: CommunitySettings) -> int:
    """Queue the report of ``msg``'s permanent failure to each moderator (in ``uow``);
    nothing when this kind was already reported, or when ``msg`` was itself a report
    (one that cannot be delivered must not breed more). Returns how many were queued."""
    prefix = keys.delivery_problem_prefix(msg.community_id)
    if msg.idempotency_key.startswith(prefix):
        return 0
    kind = problem_kind(problem)
    text = (f"⚠️ PeerMatch gave up on {describe(msg.message)}: {problem}\n"
            "Once that is fixed, `/peeradmin deliveries retry:all` sends what failed again "
            "(`/peeradmin deliveries` lists it). I tell you about each kind of problem once.")
    queued = 0
    recipients = await moderators(uow, msg.community_id, settings)
    for user in recipients:
        added = await uow.outbox.add(OutboxMessage(
            DirectMessage(user, text, keys.delivery_problem(msg.community_id, kind, user)),
            msg.community_id, now))
        queued += added.id is not None
    if not recipients:
        log.warning("community %s: %s failed for good (%s) and no moderator is known to "
                    "tell (set community.moderator_users)", msg.community_id,
                    describe(msg.message), kind)
    return queued
