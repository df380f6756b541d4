"""Running accepted work (core/accepted.py) at most once, and answering for it.

A runner claims rows (a lease renewed while the work runs), then for each:
- ``pending`` command: rebuilds the request through its platform (``WorkPlatform``), runs it
  through ``dispatch.handle`` and marks the row done *in the command's own transaction*
  (``settle``): if the process dies before that commit nothing of the command is kept and
  the row runs again; once committed it never runs again. The reply is kept on the row,
  then shown, then the row is ``replied``.
- ``done`` (the process died between the commit and the reply): the kept reply is shown.
- ``pending`` instant match: the newcomer's block is planned and stored the same way.
- a row that started ``MAX_ATTEMPTS`` times without finishing (it crashed the process, or
  kept failing) is given up and the person told that it did not happen.

A restarted process takes back the rows it held when it died at once (``reclaim_own``, by
its claim-token prefix) instead of waiting out their lease. When a platform's way back has
expired, ``reply_by_dm`` queues the reply as a keyed outbox DM.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from contextlib import suppress
from datetime import timedelta
from typing import Any, Protocol

from core.accepted import MAX_ATTEMPTS, AcceptedWork, WorkKind, WorkState, reply_dm
from core.model import OutboxMessage
from core.ports import UnitOfWork
from core.replies import Reply
from core.services.context import CommandRequest, Services
from core.services.dispatch import effective_settings, ensure_community, handle
from core.services.rounds import plan_instant, store_instant

log = logging.getLogger(__name__)
LEASE = timedelta(seconds=15)  # a crashed runner's rows are taken back this long after
DURABLE_COMMANDS = frozenset({"peeradmin match-now"})
"""Commands too slow to run before a platform's 3 s ack (a round over a big queue): they
are accepted (stored) before the ack and run from the store. Every other command runs
before its ack (Slack) or answers within its deferral (Discord)."""
SLOW_READS = frozenset({"peeradmin stats", "peeradmin export"})
"""Commands that change nothing but may take a second or more (a chart, a big export):
acknowledged first, answered after; a crash meanwhile loses only an answer to ask again."""


class WorkPlatform(Protocol):
    """What a platform adapter lends the runner for its own rows."""

    async def request_for(self, work: AcceptedWork) -> CommandRequest:
        """The command request again, from the stored payload (the actor re-resolved)."""
        ...

    async def reply(self, work: AcceptedWork, reply: Reply) -> None:
        """Show the reply to the person who asked (where they asked, else a DM)."""
        ...


def _kept(reply: Reply) -> dict[str, Any]:
    return {"text": reply.text, "ok": reply.ok, "ephemeral": reply.ephemeral}


def _from_kept(result: Mapping[str, Any]) -> Reply:
    return Reply(text=str(result.get("text") or ""), ok=bool(result.get("ok", True)),
                 ephemeral=bool(result.get("ephemeral", True)))


async def accept(services: Services, work: AcceptedWork) -> AcceptedWork:
    """Store work before the platform is told it was accepted (its own short write)."""
    async with services.uow_factory() as uow:
        stored = await uow.accepted.add(work)
        await uow.commit()
    return stored


async def reclaim_own(services: Services, token_prefix: str) -> int:
    """At start-up: release the rows this instance held when it died (their claim tokens
    start with ``token_prefix``), so they run now rather than after their lease."""
    async with services.uow_factory() as uow:
        taken = await uow.accepted.reclaim(token_prefix)
        await uow.commit()
    if taken:
        log.info("took back %d accepted work row(s) this instance had claimed before it "
                 "stopped", taken)
    return taken


async def reply_by_dm(services: Services, work: AcceptedWork, user_id: str,
                      reply: Reply) -> None:
    """Queue the reply as a DM through the outbox, for when the platform's way back (an
    interaction token, a response_url) has expired; idempotent (keyed by the work). The
    community is created if a refusal left none (the outbox row needs it)."""
    async with services.uow_factory() as uow:
        community = await ensure_community(uow, work.platform, work.community_external_id)
        assert community.id is not None
        await uow.outbox.add(OutboxMessage(reply_dm(work, user_id, reply), community.id,
                                           services.clock.now()))
        await uow.commit()


async def claim(services: Services, token: str, platforms: Sequence[str],
                limit: int = 20) -> list[AcceptedWork]:
    """Claim what this runner can do: instant matches, and commands of ``platforms``."""
    now = services.clock.now()
    async with services.uow_factory() as uow:
        rows = await uow.accepted.claim(now, now + LEASE, token, limit, platforms)
        await uow.commit()
    return rows


async def _renew(services: Services, work: AcceptedWork) -> None:
    """Keep the lease while the work runs (a round may take longer than one lease)."""
    assert work.id is not None
    while True:
        await asyncio.sleep(LEASE.total_seconds() / 3)
        async with services.uow_factory() as uow:
            held = await uow.accepted.extend(work.id, work.claim_token,
                                             services.clock.now() + LEASE)
            await uow.commit()
        if not held:
            return


async def run(services: Services, work: AcceptedWork,
              platforms: Mapping[str, WorkPlatform]) -> None:
    """Carry one claimed row to its end (see the module docstring)."""
    renewing = asyncio.ensure_future(_renew(services, work))
    try:
        await _run(services, work, platforms)
    finally:
        renewing.cancel()
        with suppress(asyncio.CancelledError):
            await renewing


async def _run(services: Services, work: AcceptedWork,
               platforms: Mapping[str, WorkPlatform]) -> None:
    platform = platforms.get(work.platform)
    if work.state is WorkState.DONE:
        if platform is not None:
            await platform.reply(work, _from_kept(work.result))
        await _finish(services, work)
        return
    if work.attempts > MAX_ATTEMPTS:
        await _give_up(services, work, platform)
        return
    if work.kind is WorkKind.INSTANT_MATCH:
        await _instant(services, work)
        await _finish(services, work)
        return
    assert platform is not None  # claim() hands out commands of served platforms only
    reply = await _command(services, work, platform)
    await platform.reply(work, reply)
    await _finish(services, work)


async def _command(services: Services, work: AcceptedWork, platform: WorkPlatform) -> Reply:
    assert work.id is not None
    settled = False

    async def settle(uow: UnitOfWork, reply: Reply) -> bool:
        nonlocal settled
        assert work.id is not None
        settled = await uow.accepted.settle(work.id, work.claim_token, _kept(reply),
                                            services.clock.now())
        return settled

    request = await platform.request_for(work)
    reply = await handle(services, request, settle=settle)
    if not settled:  # refused, or nothing to commit: record the answer on its own
        async with services.uow_factory() as uow:
            if await uow.accepted.settle(work.id, work.claim_token, _kept(reply),
                                         services.clock.now()):
                await uow.commit()
    return reply


async def _instant(services: Services, work: AcceptedWork) -> None:
    assert work.id is not None
    # Planned like a round (read-only load, solved with no transaction open), then stored
    # and settled in one short write.
    async with services.uow_factory(writes=False) as uow:
        community = await uow.communities.get(int(work.payload["community_id"]))
    planned = None
    if community is not None:
        planned = await plan_instant(services, community, effective_settings(services, community),
                                     int(work.payload["learner_id"]))
    async with services.uow_factory() as uow:
        if community is not None and planned is not None:
            await store_instant(uow, community, effective_settings(services, community),
                                planned)
        if await uow.accepted.settle(work.id, work.claim_token, {"ok": True},
                                     services.clock.now()):
            await uow.commit()


async def _finish(services: Services, work: AcceptedWork, failed: str = "") -> None:
    assert work.id is not None
    async with services.uow_factory() as uow:
        await uow.accepted.finish(work.id, work.claim_token, services.clock.now(),
                                  failed=failed)
        await uow.commit()


async def _give_up(services: Services, work: AcceptedWork, platform: WorkPlatform | None) -> None:
    why = f"started {MAX_ATTEMPTS} times without finishing"
    log.error("accepted work #%s (%s %s) given up: %s", work.id, work.kind, work.command, why)
    if work.kind is WorkKind.COMMAND and platform is not None:
        await platform.reply(work, Reply(
            text=f"Sorry, `/{work.command}` did not happen: it failed on our side "
                 f"{MAX_ATTEMPTS} times. Nothing was changed; please try again later.",
            ok=False))
    await _finish(services, work, failed=why)


async def run_pending(services: Services, token: str,
                      platforms: Mapping[str, WorkPlatform]) -> int:
    """Claim and run everything due, one row at a time (bounded: a round at a time);
    returns how many rows were carried to their end. A row that raises stays claimed until
    its lease ends, then runs again (counted as another attempt)."""
    done = 0
    while rows := await claim(services, token, tuple(platforms)):
        for work in rows:
            try:
                await run(services, work, platforms)
                done += 1
            except Exception:
                log.exception("accepted work #%s (%s) failed; it runs again later", work.id,
                              work.command or work.kind)
        if len(rows) < 20:
            break
    return done
