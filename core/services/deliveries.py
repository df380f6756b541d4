"""``/peeradmin deliveries``: what the outbox gave up on, and sending it again.

A failed row is one the dispatcher stopped trying (a permanent problem such as a missing
permission, or ``max_attempts`` used up). Moderators see the newest first (what, to whom,
why) and, once they fixed the cause, put them back: ``retry:<number>`` or ``retry:all``.
Put back means pending, due now, attempts reset; an attempt whose outcome was never learnt
keeps its journal mark, so it is reconciled with the platform before anything is re-sent.
Every retry is audited.
"""

from __future__ import annotations

from typing import Any

from core.model import AuditEntry, OutboxMessage
from core.replies import Reply
from core.services.context import Ctx
from core.services.delivery_report import describe
from core.services.errors import Refusal

LISTED = 20  # rows shown; the count says when there are more


def _line(msg: OutboxMessage) -> str:
    tries = f"{msg.attempts} attempt{'s' if msg.attempts != 1 else ''}"
    return f"**#{msg.id}** {describe(msg.message)} ({tries}): {msg.last_error or 'no reason kept'}"


async def deliveries(ctx: Ctx, args: dict[str, Any]) -> Reply:
    """List the community's failed deliveries, or put some back (``retry``)."""
    assert ctx.community.id is not None
    retry = str(args.get("retry") or "").strip().lstrip("#").lower()
    if retry:
        return await _retry(ctx, retry)
    failed = await ctx.uow.outbox.failed(ctx.community.id, LISTED + 1)
    if not failed:
        return Reply(text="No failed deliveries: everything was sent or is still on its way.",
                     ephemeral=True)
    more = " (the newest 20)" if len(failed) > LISTED else ""
    lines = [f"**Failed deliveries{more}**, newest first:"]
    lines += [_line(m) for m in failed[:LISTED]]
    lines.append("Fix the cause, then `/peeradmin deliveries retry:<number>` or `retry:all` "
                 "sends them again.")
    return Reply(text="\n".join(lines), ephemeral=True)


async def _retry(ctx: Ctx, which: str) -> Reply:
    assert ctx.community.id is not None
    if which == "all":
        ids: list[int] | None = None
    elif which.isdigit():
        ids = [int(which)]
    else:
        raise Refusal("`retry` takes the number of a failed delivery (see "
                      "`/peeradmin deliveries`) or `all`.", {"retry": "a number or all"})
    back = await ctx.uow.outbox.retry_failed(ctx.community.id, ids, ctx.now)
    if not back:
        raise Refusal("There are no failed deliveries to retry." if ids is None else
                      f"There is no failed delivery #{which} in this community (see "
                      "`/peeradmin deliveries`).")
    numbers = ", ".join(f"#{m.id}" for m in back)
    await ctx.uow.audit.add(AuditEntry(ctx.community.id, ctx.actor.user_id, "deliveries retry",
                                       f"{len(back)} row(s): {numbers}"[:1000], ctx.now))
    return Reply(text=f"Put {len(back)} failed deliver{'y' if len(back) == 1 else 'ies'} back "
                 f"in the outbox ({numbers}): they are sent again within a minute.",
                 ephemeral=True)
