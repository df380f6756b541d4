"""Read-only look-ups adapters need outside a command.

A platform renders forms and autocompletes options with the community's own choices
(topics, cohorts, ...), and a deliverer needs the platform id of the community an outbox
row belongs to. Both read the store here so no adapter touches a repository itself.
"""

from __future__ import annotations

from core.services.context import Services
from core.services.dispatch import effective_settings
from core.settings import CommunitySettings


async def community_settings(services: Services, platform: str,
                             external_id: str) -> CommunitySettings:
    """The effective settings of a community; the defaults if it has never been seen.
    A read: it never waits for (or holds) the write lock."""
    async with services.uow_factory(writes=False) as uow:
        community = await uow.communities.by_external(platform, external_id)
    if community is None:
        return services.defaults
    return effective_settings(services, community)


async def people(
    services: Services, platform: str, community_external_id: str
) -> dict[str, tuple[str, str]]:
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
