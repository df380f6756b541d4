"""Read-only lookups adapters need to render for a person (their zone, names)."""

from __future__ import annotations

from core.services.context import Services


async def people(services: Services, platform: str, community_external_id: str) -> dict[str, tuple[str, str]]:
    """platform user id -> (display name, IANA zone or 'UTC') for one community."""
    out: dict[str, tuple[str, str]] = {}
    async with services.uow_factory() as uow:
        community = await uow.communities.by_external(platform, community_external_id)
        if community is None or community.id is None:
            return out
        learners = await uow.learners.list(community.id)
        profiles = await uow.profiles.for_learners([lr.id for lr in learners if lr.id is not None])
        for learner in learners:
            prof = profiles.get(learner.id or 0)
            out[learner.platform_user_id] = (learner.display_name, prof.timezone if prof else "UTC")
    return out
