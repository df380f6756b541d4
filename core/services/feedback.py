"""Two-way feedback (`/peer feedback` and the prompt's buttons), and `/peer met`.

Who is rated decides the form (core/catalogue.py CRITERIA): a supporter is rated on clarity
and responsiveness, a supported learner on preparedness and engagement, peers on
preparedness, engagement and responsiveness. One feedback per person, per session, per
partner (the storage's unique key); the author may change it for 24 hours after first
giving it. Anonymous members are named by their alias to everyone else, here too.

``rating_of`` is the aggregate per learner; rounds read the same feedback as a matching
score input.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from statistics import mean
from typing import Any

from core import catalogue
from core.model import Feedback, Learner, Match, Session, SessionState
from core.ports import UnitOfWork
from core.replies import FormRequest, Reply, ts
from core.services.common import active_match, name_for
from core.services.context import Ctx
from core.services.errors import Refusal
from core.services.reminders import feedback_buttons

EDIT_WINDOW = timedelta(hours=24)


def averages(items: list[Feedback]) -> dict[str, float]:
    """Average score per criterion, plus ``overall`` (the mean of every score given)."""
    by: dict[str, list[int]] = defaultdict(list)
    for f in items:
        for criterion, score in f.scores.items():
            by[criterion].append(score)
    out = {c: round(mean(v), 2) for c, v in sorted(by.items())}
    every = [s for v in by.values() for s in v]
    if every:
        out["overall"] = round(mean(every), 2)
    return out


def ratings_of(items: list[Feedback]) -> dict[int, float]:
    """Each rated learner's rating (``averages(...)["overall"]``) from one list of feedback,
    for a round that loads a community's feedback in one query."""
    about: dict[int, list[Feedback]] = defaultdict(list)
    for f in items:
        about[f.to_learner].append(f)
    out = {lid: averages(given).get("overall") for lid, given in about.items()}
    return {lid: r for lid, r in out.items() if r is not None}


async def rating_of(uow: UnitOfWork, learner_id: int) -> float | None:
    """A learner's average rating over all feedback about them (None: not rated yet)."""
    return averages(await uow.feedback.about(learner_id)).get("overall")


async def _session(ctx: Ctx, match: Match, number: int | None) -> Session | None:
    """The session rated: the numbered one, else the match's latest started one, else none
    (feedback about the match as a whole)."""
    assert match.id is not None
    sessions = [s for s in await ctx.uow.sessions.for_match(match.id)
                if s.state is not SessionState.CANCELLED]
    if number is None:
        started = [s for s in sessions if s.start <= ctx.now]
        return max(started, key=lambda s: s.start) if started else None
    found = next((s for s in sessions if s.id == number), None)
    if found is None:
        raise Refusal(f"Match #{match.id} has no session number {number}.")
    if found.start > ctx.now:
        raise Refusal(f"Session #{number} hasn't happened yet ({ts(found.start)}); "
                      "you can rate it once it has started.")
    return found


def _role(match: Match, learner_id: int) -> str:
    role = next((m.role for m in match.members if m.learner_id == learner_id), "peer")
    return role if f"feedback-{role}" in catalogue.FORMS else "peer"


async def feedback(ctx: Ctx, args: dict[str, Any]) -> Reply:
    """`/peer feedback [match] [session]`: open the right form for a partner; on submit
    (the form's fields come back with the match/session/to context), save it."""
    me = ctx.learner.id
    assert me is not None
    match = await active_match(ctx, args.get("match"), ended_ok=True)
    session = await _session(ctx, match, args.get("session"))
    partners = [i for i in match.member_ids() if i != me]
    learners: dict[int, Learner] = {lid: lr for lid in match.member_ids()
                                    if (lr := await ctx.uow.learners.get(lid)) is not None}
    raw_to = str(args.get("to", "")).strip()
    if raw_to:
        if not raw_to.isdigit() or int(raw_to) not in partners:
            raise Refusal("That person isn't in this match with you.")
        to = int(raw_to)
    elif len(partners) == 1:
        to = partners[0]
    elif partners:
        return Reply(text=f"Who in match #{match.id} would you like to rate?",
                     buttons=feedback_buttons(match, session.id if session else None, learners, me))
    else:
        raise Refusal("There's no one else in this match to rate.")
    if to not in learners:
        raise Refusal("That person has left PeerMatch, so they can't be rated.")
    assert match.id is not None
    sid = session.id if session else None
    form = catalogue.FORMS[f"feedback-{_role(match, to)}"]
    existing = await ctx.uow.feedback.find(match.id, sid, me, to)
    if existing is not None and ctx.now > existing.created_at + EDIT_WINDOW:
        raise Refusal(f"You rated {name_for(match, learners[to], me)} for this "
                      f"{'session' if sid else 'match'} on {ts(existing.created_at)}. Feedback "
                      "can be changed for 24 hours, so that one is final. Thank you for it!")
    criteria = [f.name for f in form.fields if f.name != "comment"]
    context = {"match": str(match.id), "to": str(to), **({"session": str(sid)} if sid else {})}
    if not any(c in args for c in criteria):
        values = ({**{k: str(v) for k, v in existing.scores.items()}, "comment": existing.comment}
                  if existing else {})
        about = f"session #{sid} ({ts(session.start)})" if session else f"match #{match.id}"
        return Reply(text=f"How was {name_for(match, learners[to], me)} in {about}? "
                          "1 = poor, 5 = great.",
                     form=FormRequest(form.name, values, submit_command="peer feedback",
                                      context=context))
    raw = {k: str(v) for k, v in args.items() if v is not None}
    values, errors = catalogue.validate(form.fields, raw, ctx.settings)
    if errors:
        raise Refusal("Please fix: " + " ".join(errors.values()), errors)
    scores = {c: int(values[c]) for c in criteria}
    comment = str(values.get("comment", ""))
    if existing is not None:
        existing.scores, existing.comment = scores, comment
        await ctx.uow.feedback.update(existing)
        first = existing.created_at
    else:
        await ctx.uow.feedback.add(Feedback(match.id, me, to, scores, comment, ctx.now, sid))
        first = ctx.now
    return Reply(text=f"🙏 Thanks! Your feedback about {name_for(match, learners[to], me)} is "
                      f"saved. You can change it until {ts(first + EDIT_WINDOW)}.")
