"""Verified supporters: moderators verify (`/peeradmin verify @x [topics]`) and unverify;
a "✓ verified" badge in support offers and intros (``badge``, ``is_verified``: office-hour
listings use them too); with ``support_verified_only`` a need-support learner is matched
only with supporters verified for the topic (``eligible``, applied where a round loads)."""

from __future__ import annotations

from typing import Any

from core.matching.types import Candidate
from core.model import Mode, Verification
from core.ports import UnitOfWork
from core.replies import Reply, mention
from core.services.admin import audit
from core.services.common import find_learner
from core.services.context import Ctx
from core.services.errors import Refusal
from core.settings import CommunitySettings
from core.text import join_words

BADGE = "✓ verified"


async def is_verified(uow: UnitOfWork, community_id: int, learner_id: int,
                      topic: str = "") -> bool:
    """The learner is a verified supporter here (for ``topic`` when given)."""
    return bool(badge(await verified_in(uow, community_id), learner_id, topic))


def badge(verifications: dict[int, Verification], learner_id: int, topic: str = "") -> str:
    """"✓ verified" for a supporter verified (for the topic), else ''."""
    mine = verifications.get(learner_id)
    return BADGE if mine is not None and (not topic or mine.covers(topic)) else ""


async def verified_in(uow: UnitOfWork, community_id: int) -> dict[int, Verification]:
    """The community's verified supporters by learner id (one query)."""
    return {v.learner_id: v for v in await uow.verifications.list(community_id)}


async def eligible(uow: UnitOfWork, community_id: int, settings: CommunitySettings,
                   candidates: list[Candidate]) -> list[Candidate]:
    """With ``support_verified_only``, supporters not verified for their topic sit the
    round out (one query); otherwise everyone."""
    if not settings.support_verified_only:
        return candidates
    found = await verified_in(uow, community_id)
    return [c for c in candidates if c.mode is not Mode.OFFER_SUPPORT
            or badge(found, c.learner_id, c.topic)]


def _topics(raw: Any) -> tuple[str, ...]:
    if not raw:
        return ()
    return tuple(raw) if isinstance(raw, tuple | list) else (str(raw),)


async def verify(ctx: Ctx, args: dict[str, Any]) -> Reply:
    """`/peeradmin verify <user> [topics]`: mark a supporter verified (all topics, or those)."""
    assert ctx.community.id is not None
    learner = await find_learner(ctx.uow, ctx.community.id, str(args["user"]))
    assert learner.id is not None
    topics = _topics(args.get("topics"))
    await ctx.uow.verifications.save(Verification(learner.id, ctx.community.id, topics,
                                                  ctx.actor.user_id, ctx.now))
    which = f"for {join_words(list(topics))}" if topics else "for every topic"
    await audit(ctx, "verify", f"{learner.platform_user_id} {which}")
    return Reply(text=f"{BADGE}: {mention(learner.platform_user_id)} is now a verified "
                      f"supporter {which}. The badge shows in their offers and intros.")


async def unverify(ctx: Ctx, args: dict[str, Any]) -> Reply:
    """`/peeradmin unverify <user>`: take the badge away."""
    assert ctx.community.id is not None
    learner = await find_learner(ctx.uow, ctx.community.id, str(args["user"]))
    assert learner.id is not None
    if not await ctx.uow.verifications.delete(learner.id):
        raise Refusal(f"{mention(learner.platform_user_id)} is not a verified supporter, so "
                      "there is nothing to take back.")
    await audit(ctx, "unverify", learner.platform_user_id)
    return Reply(text=f"{mention(learner.platform_user_id)} is no longer verified."
                 + (" With `support_verified_only` on, they are not matched with learners "
                    "in need until verified again." if ctx.settings.support_verified_only
                    else ""))
