"""What every use case receives: the request, the open unit of work, who is asking.

Adapters build a ``CommandRequest`` from a platform event and call
``core.services.dispatch.handle``; they never touch repositories themselves.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from core.charts import stats_png
from core.matching.types import IN_ORDER, TaskMap
from core.model import Community, Learner
from core.ports import Clock, CountingIds, IdSource, UnitOfWork, UnitOfWorkFactory
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
    # Calendar UIDs; counting ids suit tests only (they repeat after a restart): the bot
    # wires random ones.
    ids: IdSource = field(default_factory=CountingIds)
    # A round's independent tasks; the bot's runs them in worker processes (bot/process.py).
    task_map: TaskMap = IN_ORDER
    # Stats in, PNG out; run in a thread (about a second) so the event loop is never blocked.
    render_chart: Callable[[dict[str, Any]], bytes] = stats_png


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
