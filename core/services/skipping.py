"""`/peer skip`: sit out the next matching round, stay queued, keep the waiting time.

The entry is stamped (``QueueEntry.skip_at``) and nothing else changes. A round leaves out
an entry stamped after the start of every real round so far (``taking_part``, which
core/services/rounds.py ``gather`` applies): so exactly the first round that starts after
the skip goes without them, and from the one after it they take part again, with the
waiting time they had. Dry runs and instant matches on join are not rounds here (a preview
must show the real next round; an instant match plans only the newcomer).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from core.model import QueueEntry, Round
from core.replies import Button, Reply
from core.services.common import waited
from core.services.context import Ctx
from core.services.errors import Refusal


def is_real(rnd: Round) -> bool:
    """A round that matched the whole queue (not a preview, not an instant match)."""
    return not rnd.dry_run and not rnd.figures.get("instant")


def sits_out(entry: QueueEntry, round_starts: Iterable[datetime]) -> bool:
    """Whether ``entry`` still has its skipped round ahead."""
    return entry.skip_at is not None and not any(t >= entry.skip_at for t in round_starts)


def taking_part(entries: list[QueueEntry], rounds: list[Round]) -> list[QueueEntry]:
    """The entries a round about to start considers: all but those sitting it out."""
    starts = [r.started_at for r in rounds if is_real(r)]
    return [e for e in entries if not sits_out(e, starts)]


async def skip(ctx: Ctx, _args: dict[str, Any]) -> Reply:
    """`/peer skip`."""
    assert ctx.learner.id is not None and ctx.community.id is not None
    entry = await ctx.uow.queue.open_for(ctx.learner.id)
    if entry is None:
        raise Refusal("You're not waiting in the queue, so there's no round to sit out. "
                      "`/peer status` shows where you are.")
    starts = [r.started_at for r in await ctx.uow.rounds.list(ctx.community.id) if is_real(r)]
    if sits_out(entry, starts):
        return Reply(text="You're already sitting out the next round; you stay in the queue "
                          "and take part again in the one after.")
    entry.skip_at = ctx.now
    await ctx.uow.queue.update(entry)
    kept = waited(entry.joined_at, ctx.now)
    return Reply(text=f"OK: you'll sit out the next matching round and stay in the queue for "
                      f"**{entry.mode.label}**. Your waiting time ({kept}) is kept, and you're "
                      "back in the round after.",
                 buttons=(Button("Status", "peer status"),))
