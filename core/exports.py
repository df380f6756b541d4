"""CSV exports with pandas. Ids and phone-like fields stay strings (no 4.47e+11, no lost 0s).

An anonymous learner appears under their alias in match and feedback rows, so no export
links them to their supporter.
"""

from __future__ import annotations

import io
from typing import Any

from core.model import Feedback, Learner, Match, Profile, QueueEntry


def _csv(rows: list[dict[str, Any]], columns: list[str]) -> bytes:
    import pandas as pd  # imported on use: it is slow to import and only exports need it

    frame = pd.DataFrame(rows, columns=columns, dtype="string")
    buf = io.StringIO()
    frame.to_csv(buf, index=False)
    return buf.getvalue().encode("utf-8")


def learners_csv(learners: list[Learner], profiles: dict[int, Profile],
                 entries: dict[int, QueueEntry]) -> bytes:
    cols = ["user_id", "display_name", "mode", "topic", "languages", "timezone", "availability",
            "cohort", "country", "setup", "support_kind", "capacity", "anonymous", "goal",
            "contact", "queue_state", "joined_at", "banned"]
    rows = []
    for learner in learners:
        p = profiles.get(learner.id or 0)
        e = entries.get(learner.id or 0)
        rows.append({
            "user_id": learner.platform_user_id, "display_name": learner.display_name,
            "mode": p.mode.value if p else "", "topic": p.topic if p else "",
            "languages": ", ".join(p.languages) if p else "", "timezone": p.timezone if p else "",
            "availability": p.availability if p else "", "cohort": p.cohort if p else "",
            "country": p.country if p else "", "setup": p.setup.value if p else "",
            "support_kind": p.support_kind if p else "", "capacity": str(p.capacity) if p else "",
            "anonymous": str(p.anonymous).lower() if p else "", "goal": p.goal if p else "",
            "contact": p.contact if p else "", "queue_state": e.state.value if e else "",
            "joined_at": e.joined_at.isoformat() if e else "", "banned": str(learner.banned).lower(),
        })
    return _csv(rows, cols)


def _member(match: Match, learner_id: int, learners: dict[int, Learner]) -> str:
    for m in match.members:
        if m.learner_id == learner_id and m.alias:
            return m.alias
    learner = learners.get(learner_id)
    return learner.platform_user_id if learner else str(learner_id)


def matches_csv(matches: list[Match], learners: dict[int, Learner]) -> bytes:
    cols = ["match_id", "kind", "created_at", "state", "members", "roles", "reasons", "score",
            "suggested_times", "space_id", "ended_reason", "ended_at"]
    rows = [{
        "match_id": str(m.id), "kind": m.kind.value, "created_at": m.created_at.isoformat(),
        "state": m.state.value, "members": " ".join(_member(m, i, learners) for i in m.member_ids()),
        "roles": " ".join(mm.role for mm in m.members), "reasons": "; ".join(m.reasons),
        "score": f"{m.score:.3f}", "suggested_times": " ".join(a.isoformat() for a, _ in m.suggested_times),
        "space_id": m.space_id, "ended_reason": m.ended_reason,
        "ended_at": m.ended_at.isoformat() if m.ended_at else "",
    } for m in matches]
    return _csv(rows, cols)


def feedback_csv(items: list[Feedback], matches: dict[int, Match], learners: dict[int, Learner]) -> bytes:
    criteria = sorted({c for f in items for c in f.scores})
    cols = ["match_id", "session_id", "from", "to", *criteria, "comment", "created_at"]
    rows = []
    for f in items:
        m = matches.get(f.match_id)
        def who(i: int, m: Match | None = m) -> str:
            return _member(m, i, learners) if m else str(i)
        rows.append({"match_id": str(f.match_id), "session_id": str(f.session_id or ""),
                     "from": who(f.from_learner), "to": who(f.to_learner),
                     **{c: str(f.scores.get(c, "")) for c in criteria},
                     "comment": f.comment, "created_at": f.created_at.isoformat()})
    return _csv(rows, cols)
