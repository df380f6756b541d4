"""The learner lifecycle after joining: status, leave, unpair, pause/resume, forget, help."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from core import catalogue
from core.events import Forgotten, Paused, Resumed
from core.model import Mode, QueueEntry, QueueState
from core.replies import Button, Reply, ts
from core.services import effects, ending
from core.services.common import (
    active_match,
    name_for,
    next_round_line,
    queue_position,
    waited,
)
from core.services.context import Ctx
from core.services.errors import Refusal
from core.services.notify import match_buttons, times_text
from core.services.support_offers import offer_lines, withdraw
from core.text import plural, with_article


async def status(ctx: Ctx, _args: dict[str, Any]) -> Reply:
    """Queue position, time waited and why no match yet; or the current match(es)."""
    me = ctx.learner
    assert me.id is not None
    lines: list[str] = []
    buttons: list[Button] = []
    if me.banned:
        return Reply(text="You can't use PeerMatch in this community right now. "
                          "Please contact a moderator if you think this is a mistake.")
    if (until := me.pause_end(ctx.now)) is not None:
        lines.append(f"⏸️ Matching is paused until {ts(until)} (`/peer resume` to resume).")
    active = await ctx.uow.matches.active_for(me.id)
    people = await ctx.uow.learners.get_many(
        [i for match in active for i in match.member_ids() if i != me.id])
    for match in active:
        others = [name_for(match, people[i], me.id) for i in match.member_ids()
                  if i != me.id and i in people]
        lines.append(f"🤝 **Match #{match.id}** ({match.kind.label}) with {', '.join(others)}, "
                     f"since {ts(match.created_at)}.")
        if match.reasons:
            lines.append("Why: " + " · ".join(match.reasons))
        lines.append("Suggested times: " + times_text(match))
        if match.is_anonymous:
            lines.append("Anonymous match: `/peer message <text>` to talk through the bot.")
        buttons.extend(match_buttons(match))
    entry = await ctx.uow.queue.open_for(me.id)
    if entry is not None:
        supporting = sum(1 for m in active
                         if any(x.learner_id == me.id and x.role == "supporter"
                                for x in m.members))
        lines += await _queue_lines(ctx, entry, supporting)
    lines += await offer_lines(ctx.uow, me.id)
    if not lines:
        saved = await ctx.uow.profiles.get(me.id)
        hint = (
            "`/peer rejoin` to join again with your saved profile."
            if saved
            else "`/peer join` to start."
        )
        return Reply(text=f"You're not in the queue and have no active match. {hint}",
                     buttons=(Button("Rejoin", "peer rejoin", style="primary"),) if saved else ())
    if entry:
        buttons.append(Button("Leave queue", "peer leave", style="danger"))
    return Reply(text="\n".join(lines), buttons=tuple(buttons))


async def _queue_lines(ctx: Ctx, entry: QueueEntry, supporting: int) -> list[str]:
    """Where the learner stands in the queue, in words that agree with each other: the
    place (in order of joining), the reason from the last round, when the next one runs."""
    pos, total = await queue_position(ctx.uow, entry)
    place = (f"{pos} of {total} waiting for {with_article(entry.mode.label.lower())}, in order "
             f"of joining; waiting {waited(entry.joined_at, ctx.now)}")
    if entry.mode is Mode.OFFER_SUPPORT and supporting:
        # A matched supporter stays queued for their free seats: say so, not "no match yet".
        lines = [f"⏳ You support {plural(supporting, 'learner')} (above) and stay in the queue "
                 f"for more: {place}."]
        if entry.unmatched_reason:
            lines.append("Why no one more yet: " + entry.unmatched_reason)
    else:
        lines = [f"⏳ In the queue for **{entry.mode.label}**: {place}.",
                 "Why no match yet: " + (entry.unmatched_reason
                                         or "no matching round has run since you joined.")]
    lines.append(next_round_line(ctx.settings, ctx.now))
    return lines


async def leave(ctx: Ctx, _args: dict[str, Any]) -> Reply:
    """Leave the queue (a current match is not affected)."""
    assert ctx.learner.id is not None
    entry = await ctx.uow.queue.open_for(ctx.learner.id)
    if entry is None and await withdraw(ctx.uow, ctx.settings, ctx.learner, ctx.now):
        return Reply(text="You've withdrawn your support request: the supporter I asked is "
                          "told. `/peer rejoin` brings you back with your saved profile.",
                     buttons=(Button("Rejoin", "peer rejoin"),))
    if entry is None:
        raise Refusal("You're not in the queue, so there's nothing to leave.")
    entry.state = QueueState.LEFT
    await ctx.uow.queue.update(entry)
    return Reply(text=f"You've left the **{entry.mode.label}** queue. "
                      "`/peer rejoin` brings you back with your saved profile.",
                 buttons=(Button("Rejoin", "peer rejoin"),))


async def unpair(ctx: Ctx, args: dict[str, Any]) -> Reply:
    """End the current match with a reason; the partner is told; never matched again."""
    match = await active_match(ctx, args.get("match"))
    reason = str(args["reason"])
    ended = await ending.leave_match(ctx.uow, ctx.settings, match, ctx.learner,
                                     f"unpaired: {reason}", ctx.now)
    what = "Your match has ended" if ended else "You've left the group"
    return Reply(text=f"{what} (match #{match.id}). Your partner(s) have been told, and you "
                      "won't be matched with them again. `/peer rejoin` to find someone new.",
                 buttons=(Button("Rejoin", "peer rejoin", style="primary"),))


async def pause(ctx: Ctx, args: dict[str, Any]) -> Reply:
    """Pause matching for N weeks; the learner stays in the queue but is skipped."""
    weeks = int(args["weeks"])
    until = ctx.now + timedelta(weeks=weeks)
    me = ctx.learner
    assert me.id is not None and ctx.community.id is not None
    was_paused = me.paused_until is not None
    me.paused_until, me.pause_reason = until, ""
    await ctx.uow.learners.update(me)
    await effects.publish(ctx.uow, ctx.settings,
                          Paused(me, ctx.community.id, until, ctx.now, was_paused))
    return Reply(text=f"Paused until {ts(until)}. You won't be matched until then; "
                      "`/peer resume` to come back early.")


async def resume(ctx: Ctx, _args: dict[str, Any]) -> Reply:
    me = ctx.learner
    assert me.id is not None
    if not me.is_paused(ctx.now):
        raise Refusal("You're not paused.")
    me.paused_until, me.pause_reason = None, ""
    await ctx.uow.learners.update(me)
    await effects.publish(ctx.uow, ctx.settings, Resumed(me, ctx.now))
    return Reply(text="Welcome back: matching is on again for you.")


async def forget(ctx: Ctx, args: dict[str, Any]) -> Reply:
    """Delete everything PeerMatch keeps about the learner (a ban marker survives)."""
    if not args.get("confirm"):
        return Reply(text="Nothing was deleted. To delete all your PeerMatch data, run "
                          "`/peer forget confirm:yes`.")
    me = ctx.learner
    assert me.id is not None
    for match in await ctx.uow.matches.active_for(me.id):
        await ending.leave_match(ctx.uow, ctx.settings, match, me, "left PeerMatch", ctx.now,
                                 block=False,
                                 tell=f"Your partner in match #{match.id} has left PeerMatch.")
    await ctx.uow.queue.delete_for(me.id)
    await ctx.uow.profiles.delete(me.id)
    await ctx.uow.feedback.delete_for(me.id)
    # Forgotten's effects bury the blocks as tombstones, so they run before the blocks go.
    await effects.publish(ctx.uow, ctx.settings, Forgotten(me, ctx.now))
    await ctx.uow.blocks.delete_for(me.id)
    await ctx.uow.matches.remove_member(me.id)
    if me.banned:  # keep the ban so forgetting is not a way around it
        me.display_name, me.paused_until = "(forgotten)", None
        await ctx.uow.learners.update(me)
    else:
        await ctx.uow.learners.delete(me.id)
    return Reply(text="Done: your profile, queue entries, matches and feedback are deleted. "
                      "Thanks for learning with us.")


async def help_(ctx: Ctx, _args: dict[str, Any]) -> Reply:
    lines = ["**PeerMatch** finds you a study buddy, a study group, an accountability partner, "
             "or someone to support you (or to support).", ""]
    lines += catalogue.help_lines(moderator=False)
    if ctx.is_moderator:
        lines += ["", "**Moderators:**"] + catalogue.help_lines(moderator=True)[
            len(catalogue.help_lines(False)) :
        ]
    lines += ["", "Availability looks like `Mon-Fri 18:00-21:00, Sat 10:00-14:00` or `Flexible`, "
              "in your own time zone."]
    return Reply(text="\n".join(lines), buttons=(Button("Join", "peer join", style="primary"),))
