"""`/peer supporting`: a supporter's view (issue 15.6): the learners they support (aliases
for anonymous ones), upcoming sessions, offers waiting for their answer, and the ratings
they received per criterion, shown only from ``MIN_RATINGS`` ratings on so that no single
learner's rating can be told apart."""

from __future__ import annotations

from typing import Any

from core.model import OfferState, SessionState
from core.replies import Reply, ts
from core.services.common import name_for
from core.services.context import Ctx
from core.services.feedback import averages
from core.services.support_offer_messages import offer_buttons
from core.services.verification import BADGE, verified_in
from core.text import join_words, plural

MIN_RATINGS = 3


def ratings_lines(count: int, per_criterion: dict[str, float]) -> list[str]:
    """The aggregate per criterion, or why it is not shown yet."""
    if count < MIN_RATINGS:
        return [f"**Ratings:** shown from {MIN_RATINGS} ratings on, so no single rating can "
                f"be traced (you have {count} so far)."]
    shown = [f"{c} {v:.1f}/5" for c, v in per_criterion.items() if c != "overall"]
    return [f"**Ratings** ({count}): " + " · ".join(shown)
            + f" · overall {per_criterion.get('overall', 0):.1f}/5"]


async def supporting(ctx: Ctx, _args: dict[str, Any]) -> Reply:
    """The supporter's learners, sessions, open offers and aggregated ratings."""
    me = ctx.learner.id
    assert me is not None and ctx.community.id is not None
    # Ended matches count for the ratings: feedback often comes at the end.
    as_supporter = [m for m in await ctx.uow.matches.for_learner(me) if m.is_support and any(
        x.learner_id == me and x.role == "supporter" for x in m.members)]
    mine = [m for m in as_supporter if m.is_active]
    offers = [o for o in await ctx.uow.offers.list(ctx.community.id, OfferState.OPEN)
              if o.supporter_id == me]
    ids = {m.id for m in as_supporter}
    received = [f for f in await ctx.uow.feedback.about(me) if f.match_id in ids]
    people = await ctx.uow.learners.get_many(
        [x.learner_id for m in mine for x in m.members] + [o.learner_id for o in offers])
    sessions = await ctx.uow.sessions.for_matches([m.id for m in mine if m.id is not None])
    badge = " " + BADGE if me in await verified_in(ctx.uow, ctx.community.id) else ""
    lines = [f"**You support {plural(len(mine), 'learner')}**{badge}."]
    for m in mine:
        others = [name_for(m, people[x.learner_id], me) for x in m.members
                  if x.learner_id != me and x.learner_id in people]
        coming = [s for s in sessions.get(m.id or 0, [])
                  if s.state is SessionState.BOOKED and s.end > ctx.now]
        when = (" · next: " + ", ".join(ts(s.start) for s in coming[:3])) if coming else (
            " · no session booked yet")
        lines.append(f"- match #{m.id}: {join_words(others) or 'nobody left'}{when}")
    for o in offers:
        lines.append(f"- offer #{o.id} waits for your answer until {ts(o.expires_at)}")
    lines += ratings_lines(len(received), averages(received))
    if not mine and not offers:
        lines.append("`/peer join offer-support` to offer support.")
    buttons = offer_buttons(offers[0].id) if offers else ()
    return Reply(text="\n".join(lines), buttons=buttons)
