"""Announcing new matches: the dispatcher expands each match's one row (issue 9.5).

A round stores a match with ONE outbox row (``AnnounceMatch``, key ``match:{mid}:made``,
written by the ``MatchMade`` effect), so the round's write stays short however many
matches it makes. Each dispatcher pass first takes up to ``BATCH`` due announcements and,
in ONE writing transaction, loads their matches as they are now, with their members'
learners and profiles, and publishes ``MatchAnnounced`` for each (core/services/effects.py:
the intro DMs, the space, check-ins, nudges; keyed, so a second expansion adds nothing),
marking the announcements sent in the same transaction. A crash or a database error
before the commit leaves every announcement of the batch pending and none of its rows:
the next pass redoes it whole. On PostgreSQL the batch's rows are locked (``SKIP
LOCKED``): two processes never expand the same match at once.

What changed meanwhile is respected because the match is read again here:

- a match ended before it was announced sends nothing: ending it dropped the announcement
  (``close_space``), and there is no space to close; a match no longer active when its
  announcement is taken (ended in a transaction this one raced) gets nothing either;
- a member who left, was banned or forgot their data is no longer among the match's
  members (``leave_match``): the others' intro names only who is still in it, and nothing
  goes to the one who left.

The community's settings are read now too (a changed space mode applies).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime

from core.events import MatchAnnounced
from core.messages import AnnounceMatch
from core.model import Match
from core.ports import Clock, UnitOfWork, UnitOfWorkFactory
from core.services import effects
from core.services.outbox_buffer import buffered_outbox
from core.settings import CommunitySettings

log = logging.getLogger(__name__)

BATCH = 200  # matches per transaction: short enough that the dispatcher's lanes keep moving


async def expand_due(uow_factory: UnitOfWorkFactory, clock: Clock,
                     defaults: CommunitySettings, limit: int = BATCH) -> int:
    """Expand up to ``limit`` due announcements in one writing transaction; returns how
    many were taken (0: none due). Raises what the database raises (nothing is kept)."""
    now = clock.now()
    async with uow_factory() as uow:
        rows = await uow.outbox.take_due(AnnounceMatch.kind, now, limit)
        if not rows:
            return 0
        ids = [r.message.match_id for r in rows if isinstance(r.message, AnnounceMatch)]
        await announce(uow, defaults, ids, now)
        await uow.commit()
    return len(rows)


async def announce_due(uow_factory: UnitOfWorkFactory, clock: Clock,
                       defaults: CommunitySettings | None = None, max_batches: int = 1000) -> int:
    """Expand every due match announcement, batch after batch, delivering nothing: the first
    step of each pass on its own (bench/round_store.py times it; tests read a round's
    messages after it). Returns how many matches' rows were taken."""
    total = 0
    for _ in range(max_batches):
        taken = await expand_due(uow_factory, clock, defaults or CommunitySettings())
        total += taken
        if not taken:
            break
    return total


async def announce(uow: UnitOfWork, defaults: CommunitySettings, match_ids: list[int],
                   now: datetime) -> int:
    """Publish ``MatchAnnounced`` for each of these matches still active, as they are now;
    returns how many. A fixed handful of statements whatever the number of matches: the
    matches, their learners, their profiles, each community once, the rows many per
    INSERT."""
    found = await uow.matches.get_many(match_ids)
    live = [found[mid] for mid in sorted(set(match_ids)) if mid in found and found[mid].is_active]
    people = sorted({lid for m in live for lid in m.member_ids()})
    learners = await uow.learners.get_many(people)
    profiles = await uow.profiles.for_learners(people)
    settings: dict[int, CommunitySettings] = {}
    for cid in sorted({m.community_id for m in live}):
        community = await uow.communities.get(cid)
        settings[cid] = defaults.with_overrides(community.settings if community else {},
                                                skip_invalid=True)
    async with buffered_outbox(uow):  # ~8 rows a match, many per INSERT
        for match in live:
            present = _present(match, set(learners))
            ids = present.member_ids()
            await effects.publish(uow, settings[match.community_id], MatchAnnounced(
                present, {i: learners[i] for i in ids},
                {i: profiles[i] for i in ids if i in profiles}, now))
    if skipped := len(set(match_ids)) - len(live):
        log.info("%d announcement(s) of matches no longer active: nothing sent", skipped)
    return len(live)


def _present(match: Match, known: set[int]) -> Match:
    """The match with only the members whose learner still exists (a forgotten member's
    rows are gone; ``leave_match`` normally removed them already)."""
    if all(lid in known for lid in match.member_ids()):
        return match
    return replace(match, members=[m for m in match.members if m.learner_id in known])
