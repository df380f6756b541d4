"""`/peer message`: the bot carries a message to the other members of a match.

This is how an anonymous need-support learner and their supporter talk: the supporter sees
only the alias, never the learner's name or platform id.
"""

from __future__ import annotations

import hashlib
from typing import Any

from core import keys
from core.messages import DirectMessage
from core.model import OutboxMessage
from core.replies import Reply
from core.services.common import active_match, name_for
from core.services.context import Ctx


async def message(ctx: Ctx, args: dict[str, Any]) -> Reply:
    match = await active_match(ctx, args.get("match"))
    text = str(args["text"]).strip()
    me = ctx.learner
    assert me.id is not None and match.id is not None
    digest = hashlib.sha256(f"{ctx.now.isoformat()}|{text}".encode()).hexdigest()[:12]
    for other_id in match.member_ids():
        if other_id == me.id:
            continue
        other = await ctx.uow.learners.get(other_id)
        if other is None:
            continue
        sender = name_for(match, me, other_id)
        await ctx.uow.outbox.add(OutboxMessage(DirectMessage(
            other.platform_user_id,
            f"💬 **{sender}** (match #{match.id}) says:\n{text}\n\n"
            "Reply with `/peer message <text>`.",
            keys.relay(match.id, me.id, other_id, digest)), match.community_id, ctx.now))
    return Reply(text=f"Sent to your match (#{match.id}).")
