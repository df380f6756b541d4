"""The one entry point adapters call: ``handle(services, request) -> Reply``.

It opens the unit of work, finds (or creates) the community and the learner, applies the
guardrails every command shares (ban, moderator check, rate limit, validation), runs the
use case and commits. A use case that raises ``Refusal`` gets its polite message shown and
nothing it did is kept.

Commands that only read run in a read-only unit of work (on SQLite it never waits for the
write lock, e.g. while a round stores its plan); when such a command meets a first contact
(a new community or learner, a changed display name) it runs again in a writing unit.
Two commands of a newcomer at the same moment both try to create them: the one that loses
(``StorageConflict``) runs once more and finds the rows. A database that cannot be reached
or does not answer in time (``StorageUnavailable``) gets one clear reply.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from core import catalogue
from core.catalogue import Command
from core.model import Community, Learner
from core.ports import StorageConflict, StorageUnavailable, UnitOfWork
from core.replies import Reply, error, ts
from core.services import tombstones
from core.services.context import CommandRequest, Ctx, Services
from core.services.errors import Refusal
from core.services.registry import HANDLERS
from core.settings import CommunitySettings
from core.text import clean_display

log = logging.getLogger(__name__)
_ALLOWED_WHEN_BANNED = {"peer help", "peer status", "peer forget"}
# The commands whose use cases only read (a read-only unit refuses writes, so a use case
# that starts writing fails loudly in tests rather than taking the lock by surprise).
READS_ONLY = frozenset({"peer help", "peer status", "peer sessions", "peeradmin queue",
                        "peeradmin export", "peeradmin stats"})
UNAVAILABLE = "The database is unavailable right now — please try again in a minute."


class _NeedsWrite(Exception):
    """A read-only command met a first contact: run it in a writing unit of work."""


class _FirstContactRace(Exception):
    """Another command of the same newcomer created their rows first."""


def effective_settings(services: Services, community: Community) -> CommunitySettings:
    """The defaults with this community's stored overrides applied."""
    return services.defaults.with_overrides(community.settings, skip_invalid=True)


def is_moderator(learner: Learner, request: CommandRequest, settings: CommunitySettings) -> bool:
    """Moderators: flagged learners, platform admins, configured users, configured roles."""
    actor = request.actor
    return (
        learner.is_moderator
        or actor.platform_admin
        or actor.user_id in settings.moderator_users
        or any(role in settings.moderator_roles for role in actor.roles)
    )


async def ensure_community(uow: Any, platform: str, external_id: str,
                           name: str = "") -> Community:
    """The stored community, created on first contact."""
    community: Community | None = await uow.communities.by_external(platform, external_id)
    if community is None:
        if not uow.writes:
            raise _NeedsWrite
        community = await uow.communities.add(Community(platform, external_id, name or external_id))
    return community


async def ensure_learner(uow: Any, community: Community, user_id: str, display_name: str,
                         services: Services) -> Learner:
    """The stored learner, created on first contact; the display name kept current.
    Names are shown to others, so they are stored without bidi or zero-width tricks."""
    assert community.id is not None
    display_name = clean_display(display_name).strip()
    learner: Learner | None = await uow.learners.by_platform_id(community.id, user_id)
    changed = learner is None or bool(display_name) and learner.display_name != display_name
    if changed and not uow.writes:
        raise _NeedsWrite
    if learner is None:
        learner = await uow.learners.add(Learner(community.id, user_id, display_name or user_id,
                                                 created_at=services.clock.now()))
        # Someone who forgot their data and came back: their blocks hold again.
        await tombstones.restore(uow, learner, services.clock.now())
    elif display_name and learner.display_name != display_name:
        learner.display_name = display_name
        await uow.learners.update(learner)
    return learner


Settle = Callable[[UnitOfWork, Reply], Awaitable[bool]]


async def handle(services: Services, request: CommandRequest, *,
                 settle: Settle | None = None) -> Reply:
    """Run one command and return the reply to show. Never raises for user errors, nor
    for an unavailable database.

    ``settle`` (accepted work, core/services/accepted.py) runs in the command's transaction
    just before its commit; when it answers False (the work was done elsewhere) nothing
    the command did is kept."""
    cmd = catalogue.command(request.command)
    if cmd is None:
        return error(f"I don't know the command `{request.command}`. Try `/peer help`.")
    counted: list[bool] = []  # the rate limit counts a command once, however often it runs
    # Settling accepted work writes its row: such a command always writes.
    writes, raced = settle is not None or cmd.key not in READS_ONLY, False
    try:
        while True:
            try:
                return await _run(services, request, cmd, counted, settle, writes=writes)
            except _NeedsWrite:
                writes = True  # a first contact: once more, in a writing unit
            except _FirstContactRace as race:
                if raced:  # twice in a row cannot come from a newcomer's race
                    raise race.__cause__ or race from None
                raced, writes = True, True
    except StorageUnavailable as exc:
        log.warning("database unavailable for %s: %s", request.command, exc)
        return error(UNAVAILABLE)


async def _first_contact(uow: UnitOfWork, request: CommandRequest) -> Community:
    try:
        return await ensure_community(uow, request.platform, request.community_external_id,
                                      request.community_name)
    except StorageConflict as exc:
        raise _FirstContactRace from exc


async def _run(services: Services, request: CommandRequest, cmd: Command, counted: list[bool],
               settle: Settle | None, *, writes: bool) -> Reply:
    handler = HANDLERS[cmd.key]
    now = services.clock.now()
    async with services.uow_factory(writes=writes) as uow:
        community = await _first_contact(uow, request)
        settings = effective_settings(services, community)
        retry_at = None if counted else services.rate_limiter.check(
            (community.external_id, request.actor.user_id), settings.commands_per_minute, now)
        counted.append(True)
        if retry_at is not None:
            return error(f"You're sending commands quickly. Please try again {ts(retry_at, 'R')}.")
        try:
            learner = await ensure_learner(uow, community, request.actor.user_id,
                                           request.actor.display_name, services)
        except StorageConflict as exc:
            raise _FirstContactRace from exc
        moderator = is_moderator(learner, request, settings)
        if cmd.moderator and not moderator:
            # Refused: nothing is kept, not even the first-contact rows made above (the unit
            # of work rolls back on exit).
            return error("Sorry, that command is for moderators of this community. "
                         "Ask a moderator if you need something changed.")
        if learner.banned and not moderator and cmd.key not in _ALLOWED_WHEN_BANNED:
            return error("You can't use PeerMatch in this community right now. "
                         "Please contact a moderator if you think this is a mistake.")
        values, errors = catalogue.validate(cmd.options, request.args, settings)
        if errors:
            return error("Please check: " + " ".join(errors.values()), errors)
        # Extra args (form fields) pass through raw; the use case validates them against its form.
        extra = {k: v for k, v in request.args.items() if k not in values}
        ctx = Ctx(services, uow, request, community, learner, settings, moderator)
        try:
            reply = await handler(ctx, {**extra, **values})
        except Refusal as refusal:
            await uow.rollback()
            refused = error(str(refusal), refusal.field_errors)
            return replace(refused, data={"code": refusal.code}) if refusal.code else refused
        if reply.ok and settle is not None and not await settle(uow, reply):
            await uow.rollback()
            return error("That was already done.")
        if reply.ok:
            await uow.commit()
        else:
            await uow.rollback()
        return reply
