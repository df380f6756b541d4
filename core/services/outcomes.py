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
from core.model import Match, SessionState
from core.ports import UnitOfWork

MET_UID = "met-"
"""How the session ``/peer met yes`` records without a booking is named (core/services/
checkins.py ``record_met``): it is a meeting, not a booking."""


async def figures(uow: UnitOfWork, community_id: int, matches: list[Match],
                  now: datetime) -> dict[str, Any]:
    """``booked``, ``met``, ``ghosted`` (match counts) and ``ghosts_now`` (learners)."""
    # Set-based (issue 9.7): the community's sessions and ghost keys in one read each, not
    # a read per match and every outbox row.
    ids = {m.id for m in matches}
    sessions = [s for s in await uow.sessions.for_community(community_id) if s.match_id in ids]
    booked = len({s.match_id for s in sessions if s.state is not SessionState.CANCELLED
                  and not s.ics_uid.startswith(MET_UID)})
    met = len({s.match_id for s in sessions if s.state is SessionState.DONE})
    ghosted = {keys.match_of_ghost(key)
               for key in await uow.outbox.keys_starting(community_id, keys.ghost_prefix())}
    ghosts_now = sum(1 for lr in await uow.learners.list(community_id) if lr.ghosted(now))
    return {"booked": booked, "met": met, "ghosted": len(ghosted), "ghosts_now": ghosts_now}


def figures_line(s: dict[str, Any]) -> str:
    """The stats line: how many of the matches booked, met, were ghosted."""
    return (f"Of {s['matches']} matches: {s['booked']} booked a session, {s['met']} met, "
            f"{s['ghosted']} were ghosted (a member went quiet or didn't show up). "
            f"Paused as ghosts now: {s['ghosts_now']}.")
