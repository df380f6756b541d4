"""Small helpers the use cases share: lookups that refuse politely, names, aliases."""

from __future__ import annotations

from datetime import datetime, timedelta

from core.cron import CronError, next_fire, parse_cron
from core.model import Learner, Match, QueueEntry
from core.ports import UnitOfWork
from core.replies import mention, ts
from core.services.context import Ctx
from core.services.errors import Refusal
from core.settings import CommunitySettings


def waited(since: datetime, now: datetime) -> str:
    """'3 days', '5 hours', 'a few minutes': how long someone has waited, in words."""
    delta = now - since
    if delta >= timedelta(days=14):
        return f"{delta.days // 7} weeks"
    if delta >= timedelta(days=2):
        return f"{delta.days} days"
    if delta >= timedelta(hours=2):
        return f"{int(delta.total_seconds() // 3600)} hours"
    if delta >= timedelta(minutes=2):
        return f"{int(delta.total_seconds() // 60)} minutes"
    return "a moment"


def name_for(match: Match, learner: Learner, viewer_id: int) -> str:
    """How ``learner`` is shown to ``viewer_id`` in this match: their alias when they are
    anonymous (to everyone but themselves), else a mention."""
    alias = match.alias_of(learner.id or 0)
    if alias and viewer_id != learner.id:
        return alias
    return mention(learner.platform_user_id)


async def find_learner(uow: UnitOfWork, community_id: int, user_ref: str) -> Learner:
    """A learner by platform user id (adapters pass ids; the console also accepts names)."""
    ref = user_ref.strip()
    learner = await uow.learners.by_platform_id(community_id, ref)
    if learner is None:
        lowered = ref.lstrip("@").casefold()
        for candidate in await uow.learners.list(community_id):
            if candidate.display_name.casefold() == lowered:
                return candidate
        raise Refusal(f"I couldn't find a learner '{ref}' in this community.")
    return learner


async def active_match(ctx: Ctx, match_number: int | None, *, ended_ok: bool = False) -> Match:
    """The caller's match: the one numbered, else their most recent active one.

    ``ended_ok``: ended matches count too (feedback may come after a match ended); without a
    number the latest active match still wins, else the latest one.
    """
    assert ctx.learner.id is not None
    mine = await ctx.uow.matches.for_learner(ctx.learner.id)
    active = [m for m in mine if m.is_active]
    pool = mine if ended_ok else active
    if match_number is not None:
        for m in pool:
            if m.id == match_number:
                return m
        kind = "" if ended_ok else "active "
        raise Refusal(f"You have no {kind}match number {match_number}. `/peer status` lists yours.")
    if not pool:
        if ended_ok:
            raise Refusal("You haven't been matched yet, so there's no one to rate.")
        raise Refusal("You don't have an active match right now. `/peer join` to find one.")
    return max(active or pool, key=lambda m: m.created_at)


def next_round_line(settings: CommunitySettings, now: datetime) -> str:
    """When the next matching round runs, for a learner: an instant placeholder (each
    platform shows it in the reader's own zone), or that a moderator runs them by hand."""
    try:
        spec = parse_cron(settings.schedule)
    except CronError:
        spec = None  # a schedule that no longer parses runs nothing (settings' fallback)
    when = next_fire(spec, now, settings.timezone or "UTC") if spec is not None else None
    if when is None:
        return "Matching rounds here are started by a moderator (there is no schedule)."
    return f"The next matching round runs {ts(when)} ({ts(when, 'R')})."


async def queue_position(uow: UnitOfWork, entry: QueueEntry) -> tuple[int, int]:
    """(1-based position, total) of an entry among waiting entries of its mode: counted by
    the storage, so a queue of 100,000 costs the same one statement as a queue of ten."""
    return await uow.queue.position(entry)


def queue_positions(entries: list[QueueEntry]) -> dict[int, tuple[int, int]]:
    """``queue_position`` of every entry of one community's waiting list at once (the
    list as ``uow.queue.waiting`` returns it, oldest first), by entry id."""
    by_mode: dict[object, list[QueueEntry]] = {}
    for entry in sorted(entries, key=lambda e: (e.joined_at, e.id or 0)):
        by_mode.setdefault(entry.mode, []).append(entry)
    return {e.id: (i, len(same)) for same in by_mode.values()
            for i, e in enumerate(same, 1) if e.id is not None}
