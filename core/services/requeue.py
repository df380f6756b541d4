"""`/peer requeue`: "Find me someone new" for a member whose partner left, went quiet or was
removed: back in the queue with their original waiting time.

The button comes with the DM that tells a member their match ended because someone else
left it (``MemberLeft``: keys.member_left, ``left:{mid}:{leaver}:{them}``); that DM is
also the proof asked for here, so someone who ended a match themself cannot jump the
queue with it. The new entry keeps the ``joined_at`` of the entry that was matched into the
ended match, so the round's wait bonus and the queue order put them first in line.
One click is one entry: a second click (or a second process) finds the entry there and
answers as the first did.
"""

from __future__ import annotations

from typing import Any

from core import keys
from core.model import Match, MatchState, QueueEntry, QueueState
from core.ports import StorageConflict
from core.replies import Button, Reply, ts
from core.services.common import queue_position
from core.services.context import Ctx
from core.services.errors import Refusal


async def _left_behind_in(ctx: Ctx, number: int | None) -> Match:
    """The ended match (numbered, else the latest) that someone else left the caller in."""
    me = ctx.learner.id
    assert me is not None and ctx.community.id is not None
    ended = [m for m in await ctx.uow.matches.for_learner(me) if m.state is MatchState.ENDED
             and (number is None or m.id == number)]
    # Latest first, one read each (a learner has few ended matches): the DMs of the match
    # that told them someone left (by key: a forgotten leaver is no member any more).
    for match in sorted(ended, key=lambda m: m.ended_at or m.created_at, reverse=True):
        told = await ctx.uow.outbox.with_prefix(ctx.community.id,
                                                keys.member_left_prefix(match.id))
        if any(keys.is_left_behind(m.idempotency_key, match.id, me) for m in told):
            return match
    which = f"match #{number}" if number is not None else "a match"
    raise Refusal(f"I can only do this for {which} a partner left you in. "
                  "`/peer rejoin` joins the queue again with your saved profile.")


async def _already_back(ctx: Ctx, entry: QueueEntry) -> Reply:
    pos, total = await queue_position(ctx.uow, entry)
    return Reply(text=f"You're already back in the queue for **{entry.mode.label}** "
                      f"({pos} of {total}), waiting since {ts(entry.joined_at)}.",
                 buttons=(Button("Status", "peer status"),))


async def requeue(ctx: Ctx, args: dict[str, Any]) -> Reply:
    """`/peer requeue [match]`."""
    me = ctx.learner
    assert me.id is not None and ctx.community.id is not None
    if (entry := await ctx.uow.queue.open_for(me.id)) is not None:
        return await _already_back(ctx, entry)
    if (until := me.pause_end(ctx.now)) is not None:
        raise Refusal(f"You paused matching until {ts(until)}. `/peer resume` first, then "
                      "this button works again.")
    match = await _left_behind_in(ctx, args.get("match"))
    profile = await ctx.uow.profiles.get(me.id)
    if profile is None:
        raise Refusal("I don't have your profile any more: `/peer join` to start again.")
    if profile.mode not in ctx.settings.modes:
        raise Refusal(f"**{profile.mode.label}** isn't offered in this community any more.")
    if (active := await ctx.uow.matches.active_for(me.id)) and not profile.mode.is_support:
        raise Refusal(f"You're already in match #{active[0].id}: `/peer status` shows it.")
    matched = [e for e in await ctx.uow.queue.history(ctx.community.id)
               if e.learner_id == me.id and e.state is QueueState.MATCHED
               and e.joined_at <= match.created_at]
    since = max((e.joined_at for e in matched), default=match.created_at)
    try:
        entry = await ctx.uow.queue.add(QueueEntry(me.id, ctx.community.id, profile.mode, since))
    except StorageConflict:  # a second click racing the first: its entry stands
        if (entry := await ctx.uow.queue.open_for(me.id)) is not None:
            return await _already_back(ctx, entry)
        raise
    pos, total = await queue_position(ctx.uow, entry)
    return Reply(text=f"You're back in the queue for **{profile.mode.label}** with your "
                      f"original waiting time (since {ts(since)}): {pos} of {total} in line, "
                      "so the next round considers you first.",
                 buttons=(Button("Status", "peer status"),
                          Button("Leave queue", "peer leave", style="danger")))
