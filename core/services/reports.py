"""`/peeradmin export` (CSV) and `/peeradmin stats` (figures and a PNG chart)."""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from statistics import mean, median
from typing import Any

from core import exports
from core.model import Match, QueueState, SessionState
from core.ports import UnitOfWork
from core.replies import Attachment, Reply
from core.services.context import Ctx
from core.text import plural


async def export_csv(uow: UnitOfWork, community_id: int, what: str,
                     fmt: str = "csv") -> tuple[bytes, int]:
    """File bytes (``fmt``: csv or xlsx) and row count of learners, matches or feedback of
    one community."""
    learners = {lr.id or 0: lr for lr in await uow.learners.list(community_id)}
    if what == "learners":
        profiles = await uow.profiles.for_learners(list(learners))
        latest = {}
        for entry in sorted(await uow.queue.history(community_id), key=lambda e: e.joined_at):
            latest[entry.learner_id] = entry
        return (exports.learners_csv(list(learners.values()), profiles, latest, fmt),
                len(learners))
    if what == "matches":
        matches = await uow.matches.list(community_id)
        return exports.matches_csv(matches, learners, fmt), len(matches)
    items = await uow.feedback.list(community_id)
    by_id = {m.id or 0: m for m in await uow.matches.list(community_id)}
    return exports.feedback_csv(items, by_id, learners, fmt), len(items)


async def export(ctx: Ctx, args: dict[str, Any]) -> Reply:
    """CSV of learners, matches or feedback, as a file."""
    assert ctx.community.id is not None
    what = str(args["what"])
    content, count = await export_csv(ctx.uow, ctx.community.id, what)
    name = f"peermatch-{what}-{ctx.now:%Y%m%d-%H%M}.csv"
    return Reply(text=f"Here is the {what} export ({count} rows).",
                 attachments=(Attachment(name, content, "text/csv"),))


async def compute_stats(ctx: Ctx) -> dict[str, Any]:
    """The figures behind `/peeradmin stats`."""
    cid = ctx.community.id
    assert cid is not None
    history = await ctx.uow.queue.history(cid)
    matches: list[Match] = await ctx.uow.matches.list(cid)
    requested = len({e.learner_id for e in history})
    matched_ids = {e.learner_id for e in history if e.state is QueueState.MATCHED}
    first_match: dict[int, Any] = {}
    for m in sorted(matches, key=lambda m: m.created_at):
        for lid in m.member_ids():
            first_match.setdefault(lid, m.created_at)
    waits = [(first_match[e.learner_id] - e.joined_at).total_seconds() / 86400
             for e in history if e.state is QueueState.MATCHED and e.learner_id in first_match
             and first_match[e.learner_id] >= e.joined_at]
    met = 0
    for m in matches:
        sessions = await ctx.uow.sessions.for_match(m.id or 0)
        met += any(s.state is not SessionState.CANCELLED for s in sessions)
    ratings: dict[str, list[int]] = defaultdict(list)
    for f in await ctx.uow.feedback.list(cid):
        for criterion, score in f.scores.items():
            ratings[criterion].append(score)
    waiting = await ctx.uow.queue.waiting(cid)
    dm_closed = sum(1 for o in await ctx.uow.outbox.list(cid) if o.last_error == "dm_closed")
    return {
        "title": f"PeerMatch: {ctx.community.name}",
        "requested": requested, "matched": len(matched_ids),
        "match_rate": len(matched_ids) / requested if requested else 0.0,
        "matches": len(matches), "active": sum(m.is_active for m in matches),
        "meeting_rate": met / len(matches) if matches else 0.0,
        "wait_days": waits, "median_wait_days": median(waits) if waits else 0.0,
        "waiting": len(waiting), "waiting_by_mode": dict(Counter(e.mode.value for e in waiting)),
        "ratings": {c: round(mean(v), 2) for c, v in sorted(ratings.items())},
        "dm_closed": dm_closed,
    }


async def stats(ctx: Ctx, _args: dict[str, Any]) -> Reply:
    s = await compute_stats(ctx)
    ratings = ", ".join(f"{c} {v}" for c, v in s["ratings"].items()) or "no feedback yet"
    text = (f"📊 **{s['matched']} of {s['requested']}** learners who asked were matched "
            f"({100 * s['match_rate']:.0f} %), in {plural(s['matches'], 'match')} "
            f"({s['active']} active).\n"
            f"Median wait before a match: {s['median_wait_days']:.1f} days. "
            f"Waiting now: {s['waiting']}.\n"
            f"Matches that booked a session: {100 * s['meeting_rate']:.0f} %. Ratings: {ratings}.\n"
            f"Learners with DMs closed (told in their match space instead): {s['dm_closed']}.")
    png = await asyncio.to_thread(ctx.services.render_chart, s)  # seconds: not on the loop
    data = {k: v for k, v in s.items() if k != "wait_days"}
    return Reply(text=text, attachments=(Attachment("peermatch-stats.png", png, "image/png"),),
                 data=data)
