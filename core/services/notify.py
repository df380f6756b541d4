"""Telling people about a new match: one DM per member and the match's private space.

A new match is first one row (``announce``); the dispatcher expands it into these (issue
9.5, core/services/announce.py). All are outbox rows written in the caller's transaction
(docs/architecture.md, "The outbox and its exactly-once rules"). An anonymous need-support
learner gets no shared space (it would reveal them); the two talk through ``/peer message``,
which the bot relays.
"""

from __future__ import annotations

import re

from core import keys, meeting_place
from core.events import MatchAnnounced, MatchMade
from core.icebreakers import host_of, starter_for
from core.messages import AnnounceMatch, DirectMessage, OpenSpace
from core.model import Learner, Match, OutboxMessage, Profile
from core.ports import UnitOfWork
from core.replies import Button, ts
from core.services.checkins import write_checkins
from core.services.common import name_for
from core.settings import CommunitySettings

# True in the DM and in the match space alike: a DM whose person has closed DMs is posted
# in the space instead (core/services/delivery.py ``fallback_for``), where "a space is on
# its way" would be nonsense.
SPACE_LINE = ("Say hi in your match's private space and agree on a time: propose it with "
              "`/peer schedule <when>` (a suggested time's number works too); it is booked "
              "once your match accepts.")


def match_buttons(match: Match) -> tuple[Button, ...]:
    args = {"match": str(match.id)}
    return (
        Button("Schedule", "peer schedule", args, style="primary"),
        Button("Did we meet?", "peer met", args),
        Button("Unpair", "peer unpair", args, style="danger"),
    )


def times_text(match: Match) -> str:
    if not match.suggested_times:
        return "No common time found in your availability: agree on one in your chat."
    return " · ".join(f"**{i}.** {ts(start)}"
                      for i, (start, _) in enumerate(match.suggested_times, 1))


def space_name(match: Match, topic: str) -> str:
    """A lowercase slug both platforms accept (Slack: ≤80 chars, no spaces)."""
    slug = re.sub(r"[^a-z0-9]+", "-", topic.casefold()).strip("-")[:40] or "study"
    return f"peer-{match.id}-{slug}"


def kickoff_lines(match: Match, learners: dict[int, Learner], viewer_id: int, topic: str,
                  settings: CommunitySettings) -> list[str]:
    """The conversation starter and the host, who is asked to propose the first time
    (``viewer_id`` -1: the shared space, where the host is named)."""
    lines = [f"💬 **Icebreaker:** {starter_for(match, topic, settings)}"]
    host = host_of(match)
    if host == viewer_id:
        lines.append("🎤 **You host the first session:** please propose a time with "
                     "`/peer schedule <when>` (or **Schedule**); the others accept or decline.")
    elif host in learners:
        lines.append(f"🎤 **Host:** {name_for(match, learners[host], viewer_id)} proposes the "
                     "first time (`/peer schedule <when>`); anyone may propose one.")
    return lines


def match_topic(profiles: dict[int, Profile]) -> str:
    """The topic the match is about (its members share it, or its family)."""
    return next((p.topic for p in profiles.values()), "study")


def match_text(match: Match, viewer: Learner, learners: dict[int, Learner],
               profiles: dict[int, Profile], settings: CommunitySettings) -> str:
    """The DM a member receives, with partners, reasons and times (in their local time),
    the icebreaker and who hosts."""
    assert viewer.id is not None
    others = [learners[i] for i in match.member_ids() if i != viewer.id and i in learners]
    lines = [f"🎉 **You've been matched!** (match #{match.id}, {match.kind.label})"]
    for other in others:
        shown = name_for(match, other, viewer.id)
        prof = profiles.get(other.id or 0)
        detail = ""
        if prof is not None and not (match.members and any(
                m.alias and m.learner_id == other.id for m in match.members)):
            bits = [prof.topic, ", ".join(prof.languages), prof.country, prof.timezone]
            detail = " (" + "; ".join(b for b in bits if b) + ")"
            if prof.contact:
                detail += f", contact: {prof.contact}"
        lines.append(f"- {shown}{detail}")
    if match.reasons:
        lines.append("**Why you were matched:** " + " · ".join(match.reasons))
    lines.append("**Suggested times:** " + times_text(match))
    lines += kickoff_lines(match, learners, viewer.id, match_topic(profiles), settings)
    if where := meeting_place.match_link(settings.video_link_template, match):
        lines.append(meeting_place.line(where).strip())
    if match.is_anonymous:
        lines.append("This match is anonymous: talk through the bot with `/peer message <text>`.")
    else:
        lines.append(SPACE_LINE)
    return "\n".join(lines)


def intro_text(match: Match, learners: dict[int, Learner], topic: str,
               settings: CommunitySettings) -> str:
    """The first message in the match's space: who, why, when, an icebreaker, the host."""
    names = ", ".join(name_for(match, learners[i], -1) for i in match.member_ids() if i in learners)
    lines = [f"👋 Welcome {names}! This is your private space for match #{match.id} "
             f"({match.kind.label})."]
    if match.reasons:
        lines.append("**Why you were matched:** " + " · ".join(match.reasons))
    lines.append("**Suggested times:** " + times_text(match))
    lines += kickoff_lines(match, learners, -1, topic, settings)
    if where := meeting_place.match_link(settings.video_link_template, match):
        lines.append(meeting_place.line(where).strip())
    lines.append("Say hi, agree on a time, then use **Schedule** to propose it.")
    return "\n".join(lines)


async def announce(uow: UnitOfWork, _settings: CommunitySettings, event: MatchMade) -> None:
    """The one row a new match is stored with: the dispatcher expands it into the rows
    below (``MatchAnnounced``, core/services/announce.py), in a transaction of its own."""
    match = event.match
    assert match.id is not None
    await uow.outbox.add(OutboxMessage(AnnounceMatch(match.id), match.community_id, event.at))


async def dm_members(uow: UnitOfWork, settings: CommunitySettings,
                     event: MatchAnnounced) -> None:
    """Each member's "you've been matched" DM, with partners, reasons and times."""
    match, learners, profiles = event.match, event.learners, event.profiles
    assert match.id is not None
    buttons = match_buttons(match)
    for learner_id in match.member_ids():
        learner = learners[learner_id]
        await uow.outbox.add(OutboxMessage(DirectMessage(
            learner.platform_user_id, match_text(match, learner, learners, profiles, settings),
            keys.intro_dm(match.id, learner_id), buttons=buttons,
            match_id=match.fallback_match_id), match.community_id, event.at))


async def open_space(uow: UnitOfWork, settings: CommunitySettings,
                     event: MatchAnnounced) -> None:
    """The match's private space with its intro (none for an anonymous match)."""
    match, learners = event.match, event.learners
    assert match.id is not None
    if match.is_anonymous:
        return
    topic = match_topic(event.profiles)
    await uow.outbox.add(OutboxMessage(OpenSpace(
        match.id, space_name(match, topic),
        tuple(learners[i].platform_user_id for i in match.member_ids()),
        intro_text(match, learners, topic, settings), match_buttons(match),
        space_mode=settings.space_mode, space_parent=settings.space_parent,
        moderator_roles=settings.moderator_roles, voice=settings.voice_channel),
        match.community_id, event.at))


async def schedule_checkins(uow: UnitOfWork, settings: CommunitySettings,
                            event: MatchAnnounced) -> None:
    """"Did you meet?" after ``checkin_after_days``; accountability pairs also weekly."""
    await write_checkins(uow, settings, event.match, event.learners)
