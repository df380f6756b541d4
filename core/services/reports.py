"""`/peeradmin export` (CSV) and `/peeradmin stats` (figures and a PNG chart)."""

from __future__ import annotations

import asyncio
import io
from collections import defaultdict
from statistics import mean, median
from typing import Any, BinaryIO

from core import exports
from core.ports import UnitOfWork
from core.replies import Attachment, Reply
from core.services import outcomes
from core.services.context import Ctx
from core.text import plural

# Rows read and written per step of an export: memory holds one page, whatever the size
# of the community (a 100,000-learner export is 20 pages of learners, 25,000 matches 13).
EXPORT_PAGE = 5_000
MATCH_PAGE = 2_000


async def write_export(uow: UnitOfWork, community_id: int, what: str, fmt: str,
                       sink: BinaryIO) -> int:
    """Write the export of learners, matches or feedback of one community to ``sink``
    (``fmt``: csv or xlsx), a page at a time; returns the number of rows."""
    if what == "learners":
        writer = exports.ExportWriter(sink, exports.LEARNER_COLUMNS, fmt, "learners")
        after = 0
        while page := await uow.learners.export_page(community_id, after, EXPORT_PAGE):
            writer.write_cells(exports.learner_cells(page))
            after = page[-1].id
    elif what == "matches":
        writer = exports.ExportWriter(sink, exports.MATCH_COLUMNS, fmt, "matches")
        after = 0
        while matches := await uow.matches.page(community_id, after, MATCH_PAGE):
            people = await uow.learners.get_many(sorted({i for m in matches
                                                          for i in m.member_ids()}))
            writer.write(exports.match_rows(matches, people))
            after = matches[-1].id or 0
    else:
        # Feedback is a few rows per match: read whole, with only the matches it names.
        items = await uow.feedback.list(community_id)
        by_id = await uow.matches.get_many(sorted({f.match_id for f in items}))
        named = {i for m in by_id.values() for i in m.member_ids()}
        named |= {f.from_learner for f in items} | {f.to_learner for f in items}
        people = await uow.learners.get_many(sorted(named))
        sink.write(exports.feedback_csv(items, by_id, people, fmt))
        return len(items)
    writer.close()
    return writer.rows


async def export_csv(uow: UnitOfWork, community_id: int, what: str,
                     fmt: str = "csv") -> tuple[bytes, int]:
    """File bytes (``fmt``: csv or xlsx) and row count of learners, matches or feedback of
    one community (a file to attach: it is held in memory, the rows behind it are not)."""
    buf = io.BytesIO()
    count = await write_export(uow, community_id, what, fmt, buf)
    return buf.getvalue(), count


async def export(ctx: Ctx, args: dict[str, Any]) -> Reply:
    """CSV of learners, matches or feedback, as a file."""
    assert ctx.community.id is not None
    what = str(args["what"])
    content, count = await export_csv(ctx.uow, ctx.community.id, what)
    name = f"peermatch-{what}-{ctx.now:%Y%m%d-%H%M}.csv"
    return Reply(text=f"Here is the {what} export ({count} rows).",
                 attachments=(Attachment(name, content, "text/csv"),))


async def compute_stats(ctx: Ctx) -> dict[str, Any]:
    """The figures behind `/peeradmin stats`, counted by the database: a fixed handful of
    aggregate statements, whatever the community's size (issue 9.7)."""
    cid = ctx.community.id
    assert cid is not None
    stats = ctx.uow.stats
    requested, matched, waiting_by_mode = await stats.queue_counts(cid)
    waits = await stats.wait_days(cid)
    counts = await stats.match_counts(cid, outcomes.MET_UID)
    ratings: dict[str, list[int]] = defaultdict(list)
    for scores in await stats.rating_scores(cid):
        for criterion, score in scores.items():
            ratings[criterion].append(score)
    dm_closed = await ctx.uow.outbox.count_errors(cid, "dm_closed")
    matches = counts["matches"]
    return {
        "title": f"PeerMatch: {ctx.community.name}",
        "requested": requested, "matched": matched,
        "match_rate": matched / requested if requested else 0.0,
        "matches": matches, "active": counts["active"],
        "meeting_rate": counts["with_sessions"] / matches if matches else 0.0,
        "wait_days": waits, "median_wait_days": median(waits) if waits else 0.0,
        "waiting": sum(waiting_by_mode.values()), "waiting_by_mode": waiting_by_mode,
        "ratings": {c: round(mean(v), 2) for c, v in sorted(ratings.items())},
        "dm_closed": dm_closed,
        **await outcomes.figures(ctx.uow, cid, ctx.now, counts),
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
            f"Learners with DMs closed (told in their match space instead): {s['dm_closed']}.\n"
            + outcomes.figures_line(s))
    png = await asyncio.to_thread(ctx.services.render_chart, s)  # seconds: not on the loop
    data = {k: v for k, v in s.items() if k != "wait_days"}
    return Reply(text=text, attachments=(Attachment("peermatch-stats.png", png, "image/png"),),
                 data=data)
