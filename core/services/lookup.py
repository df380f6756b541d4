"""Read-only look-ups adapters need outside a command.

A platform renders forms and autocompletes options with the community's own choices
(topics, cohorts, ...), and a deliverer needs the platform id of the community an outbox
row belongs to. Both read the store here so no adapter touches a repository itself.
"""

from __future__ import annotations

from core.ports import UnitOfWorkFactory
from core.services.context import Services
from core.services.dispatch import effective_settings
from core.settings import CommunitySettings


async def community_settings(services: Services, platform: str,
                             external_id: str) -> CommunitySettings:
    """The effective settings of a community; the defaults if it has never been seen."""
    async with services.uow_factory() as uow:
        community = await uow.communities.by_external(platform, external_id)
    if community is None:
        return services.defaults
    return effective_settings(services, community)


async def community_external_id(uow_factory: UnitOfWorkFactory, community_id: int) -> str | None:
    """The platform id (Discord guild id, Slack team id) of a stored community."""
    async with uow_factory() as uow:
        community = await uow.communities.get(community_id)
    return community.external_id if community is not None else None
