"""What every use case receives: the request, the open unit of work, who is asking.

Adapters build a ``CommandRequest`` from a platform event and call
``core.services.dispatch.handle``; they never touch repositories themselves.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from core.model import Community, Learner
from core.ports import Clock, UnitOfWork, UnitOfWorkFactory
from core.replies import Reply
from core.services.ratelimit import RateLimiter
from core.settings import CommunitySettings


@dataclass(frozen=True)
class Actor:
    """The person behind a command, as the platform knows them.

    ``platform_admin`` is true for Discord members with Administrator (or the guild owner)
    and for Slack workspace admins/owners; ``roles`` are Discord role ids or Slack usergroup
    ids the person belongs to. ``timezone`` is the platform's idea of their zone, if any.
    """

    user_id: str
    display_name: str
    platform_admin: bool = False
    roles: tuple[str, ...] = ()
    timezone: str = ""


@dataclass(frozen=True)
class CommandRequest:
    """One command from one person in one community."""

    platform: str  # discord | slack | console
    community_external_id: str
    actor: Actor
    command: str  # catalogue key, e.g. "peer join", "peeradmin match-now"
    args: dict[str, str] = field(default_factory=dict)  # raw strings, validated by the core
    community_name: str = ""


@dataclass
class Services:
    """What use cases depend on; bot/ wires the real ones, tests the fakes."""

    uow_factory: UnitOfWorkFactory
    clock: Clock
    defaults: CommunitySettings = field(default_factory=CommunitySettings)
    seed_source: Callable[[], int] | None = None  # None: derive the seed from the clock
    rate_limiter: RateLimiter = field(default_factory=RateLimiter)


@dataclass
class Ctx:
    """The context a handler runs in; its unit of work is open and committed by dispatch."""

    services: Services
    uow: UnitOfWork
    request: CommandRequest
    community: Community
    learner: Learner
    settings: CommunitySettings
    is_moderator: bool

    @property
    def now(self) -> datetime:
        return self.services.clock.now()

    @property
    def actor(self) -> Actor:
        return self.request.actor


Handler = Callable[[Ctx, dict[str, Any]], Awaitable[Reply]]
