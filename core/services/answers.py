"""`/peer met`: every answer is a sign of life; "no-show" reports a partner who never came.

The member's ``answered_at`` is stored and ``CheckinAnswered`` published (its effects drop
a quiet match's nudges once they met), then core/services/checkins.py answers as before.
``no-show`` pauses the partner who did not come as a ghost (core/services/ghosts.py): in a
pair the partner, in a group the member named with ``who``.
"""

from __future__ import annotations

from typing import Any

from core.events import CheckinAnswered
from core.model import Learner, Match
from core.replies import Button, Reply
from core.services import checkins, effects, ghosts
from core.services.common import active_match, find_learner, name_for
from core.services.context import Ctx
from core.services.errors import Refusal


async def note_answer(ctx: Ctx, match: Match, answer: str) -> None:
    """Store that the caller answered in ``match`` now, and publish it."""
    me = ctx.learner.id
    assert me is not None
    for member in match.members:
        if member.learner_id == me:
            member.answered_at = ctx.now
    await ctx.uow.matches.update(match)
    await effects.publish(ctx.uow, ctx.settings, CheckinAnswered(match, me, answer, ctx.now))


async def _no_show_of(ctx: Ctx, match: Match, who: str) -> Learner:
    me = ctx.learner.id
    partners = [i for i in match.member_ids() if i != me]
    if who:
        assert ctx.community.id is not None
        named = await find_learner(ctx.uow, ctx.community.id, who)
        if named.id not in partners:
            raise Refusal(f"{named.display_name} isn't in match #{match.id} with you.")
        return named
    if len(partners) != 1:
        raise Refusal(f"Match #{match.id} is a group: say who didn't come, e.g. "
                      "`/peer met no-show who:@name`.", {"who": "Who didn't show up?"})
    partner = await ctx.uow.learners.get(partners[0])
    if partner is None:
        raise Refusal("Your partner has left PeerMatch already.")
    return partner


async def met(ctx: Ctx, args: dict[str, Any]) -> Reply:
    """`/peer met <yes|not-yet|no|no-show> [match] [who]`."""
    match = await active_match(ctx, args.get("match"))
    answer = str(args["answer"])
    await note_answer(ctx, match, answer)
    if answer != "no-show":
        return await checkins.answer(ctx, args)
    absent = await _no_show_of(ctx, match, str(args.get("who", "")).strip())
    assert ctx.learner.id is not None
    shown = name_for(match, absent, ctx.learner.id)
    await checkins.drop_checkins(ctx.uow, match, ctx.learner.id, "answered no-show")
    ended = await ghosts.pause_ghost(
        ctx.uow, ctx.settings, match, absent, "your partner said you didn't show up", ctx.now,
        tell=f"I've paused {name_for(match, absent, -1)}: a partner said they didn't show up "
             f"in match #{match.id}")
    if not ended:
        return Reply(text=f"Thanks for telling me. I've paused {shown} and taken them out of "
                          f"match #{match.id}; your group goes on.")
    return Reply(text=f"Sorry {shown} didn't show up. I've paused them and ended match "
                      f"#{match.id}. One click puts you back in the queue with your original "
                      "waiting time.",
                 buttons=(Button("Find me someone new", "peer requeue",
                                 {"match": str(match.id)}, style="primary"),))
