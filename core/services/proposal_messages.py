"""What a proposed session time sends (the effects of SessionProposed and ProposalDeclined,
core/services/effects.py): each member still to answer is asked by DM with Accept/Decline
buttons; a decline tells the members who had accepted. Keys: core/keys.py ``proposal_*``
(under the match's prefix, so an ended match drops what is still pending)."""

from __future__ import annotations

from core import keys
from core.events import MatchEnded, ProposalDeclined, SessionProposed
from core.messages import DirectMessage
from core.model import OutboxMessage, ProposalState
from core.ports import UnitOfWork
from core.replies import Button, ts
from core.services.common import name_for
from core.services.session_rules import availability_notes
from core.settings import CommunitySettings


def hours_warning(notes: list[str]) -> str:
    """The line every message about a time repeats when someone is outside their hours."""
    return "\n⚠️ Outside declared hours: " + "; ".join(notes) + "." if notes else ""


async def ask_members(uow: UnitOfWork, _settings: CommunitySettings,
                      event: SessionProposed) -> None:
    """Each member who has not accepted yet gets the time, who is outside their hours,
    and Accept / Decline."""
    match, proposal, learners = event.match, event.proposal, event.learners
    assert proposal.id is not None
    by = learners.get(proposal.proposed_by)
    args = {"proposal": str(proposal.id)}
    buttons = (Button("Accept", "peer accept", args, style="primary"),
               Button("Decline", "peer decline", args, style="danger"))
    minutes = int((proposal.end - proposal.start).total_seconds() // 60)
    what = (f"to move session #{proposal.session_id} to" if proposal.session_id
            else "a session")
    profiles = await uow.profiles.for_learners(match.member_ids())
    for lid in proposal.waiting_for(match.member_ids()):
        learner = learners.get(lid)
        if learner is None:
            continue
        mine = profiles.get(lid)
        notes = availability_notes(match, learners, profiles, proposal.start, proposal.end,
                                   lid, mine.timezone if mine else "UTC")
        who = name_for(match, by, lid) if by is not None else "Your match"
        # The notes name people as the proposer sees them: say them again for this reader.
        text = (f"📨 {who} proposes {what} {ts(proposal.start)} to {ts(proposal.end, 't')} "
                f"({minutes} min), proposal #{proposal.id}. It is booked once everyone "
                "accepts." + hours_warning(notes))
        await uow.outbox.add(OutboxMessage(DirectMessage(
            learner.platform_user_id, text, keys.proposal_ask(match.id, proposal.id, lid),
            buttons=buttons, match_id=match.fallback_match_id), match.community_id, event.at))


async def tell_declined(uow: UnitOfWork, _settings: CommunitySettings,
                        event: ProposalDeclined) -> None:
    """Everyone else hears that nothing was booked; pending asks of it are dropped."""
    match, proposal, learners = event.match, event.proposal, event.learners
    await uow.outbox.drop_matching(keys.proposal_prefix(match.id, proposal.id),
                                   f"proposal {proposal.state.value}")
    by = learners.get(event.by)
    verb = "withdrew" if proposal.state is ProposalState.WITHDRAWN else "declined"
    for lid in match.member_ids():
        learner = learners.get(lid)
        if lid == event.by or learner is None:
            continue
        who = name_for(match, by, lid) if by is not None else "Your match"
        await uow.outbox.add(OutboxMessage(DirectMessage(
            learner.platform_user_id,
            f"🙅 {who} {verb} the proposed time {ts(proposal.start)} (proposal #{proposal.id}): "
            "nothing was booked. Propose another with `/peer schedule <when>`.",
            keys.proposal_declined(match.id, proposal.id, lid),
            buttons=(Button("Propose a time", "peer schedule", {"match": str(match.id)}),),
            match_id=match.fallback_match_id), match.community_id, event.at))


async def withdraw_open_proposals(uow: UnitOfWork, _settings: CommunitySettings,
                                  event: MatchEnded) -> None:
    """A match that ended has nothing left to agree on: its open proposals are withdrawn
    (their pending asks go with the match's other rows)."""
    assert event.match.id is not None
    for proposal in await uow.proposals.open_for_match(event.match.id):
        proposal.state = ProposalState.WITHDRAWN
        await uow.proposals.update(proposal)
