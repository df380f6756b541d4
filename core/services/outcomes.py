"""What became of the matches, for `/peeradmin stats`: booked vs met vs ghosted.

- **booked**: matches with a session someone booked (not cancelled);
- **met**: matches whose members said "yes, we met" (a DONE session: a booked one they
  met in, or the one ``/peer met yes`` records when they met without booking);
- **ghosted**: matches a member went quiet in (or did not show up to), told so by the
  ``ghost:{mid}:{learner}`` DM (core/keys.py), whether the match then ended or a group went
  on; ``ghosts_now``: learners paused as ghosts right now.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from core import keys
from core.model import GHOST_PAUSE
from core.ports import UnitOfWork

MET_UID = "met-"
"""How the session ``/peer met yes`` records without a booking is named (core/services/
checkins.py ``record_met``): it is a meeting, not a booking."""


async def figures(uow: UnitOfWork, community_id: int, now: datetime,
                  counts: dict[str, int]) -> dict[str, Any]:
    """``booked``, ``met``, ``ghosted`` (match counts) and ``ghosts_now`` (learners);
    ``counts``: ``uow.stats.match_counts(community_id, MET_UID)``, which the caller has."""
    # Counted by the database (issue 9.7): a few statements, no object per match or learner.
    ghosted = {keys.match_of_ghost(key)
               for key in await uow.outbox.keys_starting(community_id, keys.ghost_prefix())}
    ghosts_now = await uow.stats.paused_for(community_id, GHOST_PAUSE, now)
    return {"booked": counts["booked"], "met": counts["met"], "ghosted": len(ghosted),
            "ghosts_now": ghosts_now}


def figures_line(s: dict[str, Any]) -> str:
    """The stats line: how many of the matches booked, met, were ghosted."""
    return (f"Of {s['matches']} matches: {s['booked']} booked a session, {s['met']} met, "
            f"{s['ghosted']} were ghosted (a member went quiet or didn't show up). "
            f"Paused as ghosts now: {s['ghosts_now']}.")
